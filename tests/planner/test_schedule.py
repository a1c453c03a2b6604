"""Next times of cron and calendar schedules: time zones, daylight saving time, exclusions, bounds."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from runyard.errors import InvalidRequestError
from runyard.planner import MAX_DATES, ScheduleSpec, read_schedule
from runyard.planner.schedule import MAX_STEPS

PARIS = ZoneInfo("Europe/Paris")


def at(text: str, zone: ZoneInfo = PARIS) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def local(times: list[float], zone: ZoneInfo = PARIS) -> list[str]:
    return [datetime.fromtimestamp(t, zone).isoformat() for t in times]


def test_cron_times_are_read_in_the_time_zone() -> None:
    schedule = read_schedule(ScheduleSpec(cron="30 9 * * 1-5", timezone="Europe/Paris"))
    # Friday 2026-12-04 10:00 local: next are Monday to Wednesday at 09:30 Paris time (08:30 UTC)
    assert local(schedule.next_times(at("2026-12-04T10:00"), 3)) == [
        "2026-12-07T09:30:00+01:00",
        "2026-12-08T09:30:00+01:00",
        "2026-12-09T09:30:00+01:00",
    ]
    utc = read_schedule(ScheduleSpec(cron="30 9 * * *"))
    assert utc.next_times(at("2026-12-07T00:00", ZoneInfo("UTC")), 1) == [
        at("2026-12-07T09:30", ZoneInfo("UTC"))
    ]


def test_cron_across_the_spring_change_runs_after_the_gap() -> None:
    schedule = read_schedule(ScheduleSpec(cron="30 2 * * *", timezone="Europe/Paris"))
    assert local(schedule.next_times(at("2026-03-28T12:00"), 2)) == [
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist that day
        "2026-03-30T02:30:00+02:00",
    ]


def test_cron_across_the_autumn_change_runs_a_fixed_time_once_and_every_real_hour() -> None:
    daily = read_schedule(ScheduleSpec(cron="30 2 * * *", timezone="Europe/Paris"))
    assert local(daily.next_times(at("2026-10-24T12:00"), 2)) == [
        "2026-10-25T02:30:00+02:00",  # 02:30 happens twice: once
        "2026-10-26T02:30:00+01:00",
    ]
    hourly = read_schedule(ScheduleSpec(cron="0 * * * *", timezone="Europe/Paris"))
    times = hourly.next_times(at("2026-10-25T01:30"), 3)
    assert local(times) == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]
    assert [b - a for a, b in itertools.pairwise(times)] == [3600.0, 3600.0]


def test_calendar_dates_with_zones_offsets_and_the_spring_gap() -> None:
    schedule = read_schedule(
        ScheduleSpec(
            dates=(
                "2026-12-24T18:00",
                "2026-03-29T02:30",
                "2026-05-01T00:00Z",
                "2027-01-01",
                "2026-12-24T18:00",
            ),
            timezone="Europe/Paris",
        )
    )
    assert local(schedule.next_times(at("2026-01-01T00:00"), 10)) == [
        "2026-03-29T03:30:00+02:00",  # read with the offset before the change
        "2026-05-01T02:00:00+02:00",  # its own offset wins
        "2026-12-24T18:00:00+01:00",  # given twice, once
        "2027-01-01T00:00:00+01:00",  # a bare date: its midnight
    ]
    assert schedule.next_times(at("2027-01-01T00:00"), 1) == []


def test_exclusions_days_and_intervals_apply_to_cron_and_calendars() -> None:
    holidays = ("2026-12-25", "2026-12-31T12:00/2027-01-02T00:00")
    cron = read_schedule(ScheduleSpec(cron="0 9 * * *", timezone="Europe/Paris", exclusions=holidays))
    assert local(cron.next_times(at("2026-12-24T00:00"), 4)) == [
        "2026-12-24T09:00:00+01:00",
        "2026-12-26T09:00:00+01:00",
        "2026-12-27T09:00:00+01:00",
        "2026-12-28T09:00:00+01:00",
    ]
    assert local(cron.next_times(at("2026-12-30T12:00"), 2)) == [
        "2026-12-31T09:00:00+01:00",
        "2027-01-02T09:00:00+01:00",  # the interval ends at midnight: Jan 1 is out
    ]
    calendar = read_schedule(
        ScheduleSpec(
            dates=("2026-12-25T10:00", "2026-12-26T10:00"), timezone="Europe/Paris", exclusions=holidays
        )
    )
    assert local(calendar.next_times(0, 5)) == ["2026-12-26T10:00:00+01:00"]


def test_a_year_long_exclusion_of_a_minute_cron_is_jumped_not_walked() -> None:
    schedule = read_schedule(
        ScheduleSpec(cron="* * * * *", exclusions=("2026-01-01T00:00/2027-01-01T00:00",))
    )
    began = time.monotonic()
    assert schedule.next_times(at("2026-01-01T00:00", ZoneInfo("UTC")), 1) == [
        at("2027-01-01T00:00", ZoneInfo("UTC"))
    ]
    assert time.monotonic() - began < 1


def test_start_and_end_bound_the_times() -> None:
    schedule = read_schedule(
        ScheduleSpec(cron="0 12 * * *", timezone="UTC", start="2026-12-10T12:00", end="2026-12-12T12:00")
    )
    assert local(schedule.next_times(0, 10), ZoneInfo("UTC")) == [
        "2026-12-10T12:00:00+00:00",  # the start itself
        "2026-12-11T12:00:00+00:00",
        "2026-12-12T12:00:00+00:00",  # the end itself
    ]


def test_a_cron_that_never_matches_has_no_time() -> None:
    assert read_schedule(ScheduleSpec(cron="0 0 30 2 *")).next_times(0, 1) == []


def test_times_near_the_last_year_end_the_search_instead_of_failing() -> None:
    schedule = read_schedule(ScheduleSpec(cron="0 0 1 1 *", start="9000-06-01"))
    times = schedule.next_times(0, MAX_STEPS)  # years after 9000 until Python's dates end
    assert 0 < len(times) < 1000


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ScheduleSpec(cron="61 * * * *"), "schedule.cron: '61 * * * *' is not a cron expression"),
        (ScheduleSpec(cron="* * * * * *"), "five fields"),
        (ScheduleSpec(cron="; rm -rf /"), "is not a cron expression"),
        (ScheduleSpec(), "exactly one of 'cron' and 'dates'"),
        (ScheduleSpec(cron="* * * * *", dates=("2026-01-01",)), "exactly one of"),
        (ScheduleSpec(cron="* * * * *", timezone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (ScheduleSpec(cron="* * * * *", timezone="../../etc/passwd"), "unknown time zone"),
        (ScheduleSpec(dates=("2026-01-01", "tomorrow")), "schedule.dates[1]: 'tomorrow' is not a date-time"),
        (ScheduleSpec(cron="* * * * *", exclusions=("xmas",)), "schedule.exclusions[0]: 'xmas' is neither"),
        (ScheduleSpec(cron="* * * * *", exclusions=("2026-02-01/2026-01-01",)), "ends before it starts"),
        (ScheduleSpec(cron="* * * * *", start="2026-02-01", end="2026-01-01"), "schedule.end: before"),
        (ScheduleSpec(cron="* * * * *", start="x" * 100_000), "schedule.start: 'xxxx"),
        (
            ScheduleSpec(cron="* * * * *", start="9999-12-31T23:59"),
            "schedule.start: '9999-12-31T23:59' is not between",
        ),
        (ScheduleSpec(dates=("0001-01-01",)), "schedule.dates[0]: '0001-01-01' is not between 1970 and 9000"),
        (
            ScheduleSpec(cron="* * * * *", exclusions=("9999-12-31",)),
            "schedule.exclusions[0]: '9999-12-31' is not",
        ),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(spec: ScheduleSpec, message: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        read_schedule(spec)
    assert message in str(refused.value)
    assert len(str(refused.value)) < 400


def test_a_calendar_of_100000_dates_is_refused_quickly() -> None:
    dates = tuple(f"2027-01-01T00:00:{i % 60:02d}" for i in range(100_000))
    began = time.monotonic()
    with pytest.raises(InvalidRequestError, match=f"at most {MAX_DATES} dates, not 100000"):
        read_schedule(ScheduleSpec(dates=dates))
    assert time.monotonic() - began < 0.5

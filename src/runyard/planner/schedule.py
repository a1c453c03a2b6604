"""When a plan submits its workflow: a cron expression or a calendar of dates, in a time zone, minus
exclusions, between a start and an end. Pure: times are epoch seconds, "now" is always given.

A schedule is written as the user gives it (:class:`ScheduleSpec`, strings) and read into a
:class:`Schedule` by :func:`read_schedule`, which refuses anything wrong with the field it is in.

- ``cron``: five fields (minute hour day month weekday, croniter's syntax), read in ``timezone``.
- ``dates``: local date-times (``2026-12-24T18:00``; a bare date is its midnight; an explicit
  offset such as ``+01:00`` or ``Z`` wins over ``timezone``).
- ``exclusions``: a local day (``2026-12-25``) or an interval ``START/END`` of date-times (END not
  included); no time falling in one runs.
- ``start``/``end``: no time before ``start`` or after ``end``.

Daylight saving time: a local time skipped by the spring change runs at the first time after the
gap (02:30 when 02:00 jumps to 03:00 runs at 03:00 for cron, at 03:30 for a calendar date, read
with the offset before the change); a local time that happens twice at the autumn change runs once,
the first time — except for a cron expression whose hour is ``*``, which runs every real hour.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from runyard.errors import InvalidRequestError

MAX_DATES = 10_000
"""Dates in one calendar."""
MAX_EXCLUSIONS = 1_000
"""Exclusions of one schedule."""
MAX_STEPS = 100_000
"""Cron times looked at per question (a schedule excluding almost every time ends the search there)."""
MAX_TEXT = 255
"""Characters of a cron expression, a date, an exclusion or a time zone name."""
MIN_YEAR, MAX_YEAR = 1970, 9000
"""Years a date may name (far from the ends of what Python's dates hold)."""


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as the user writes it: exactly one of ``cron`` and ``dates``."""

    cron: str | None = None
    dates: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    timezone: str = "UTC"
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class Schedule:
    """A schedule read: every instant in epoch seconds, exclusions sorted and merged."""

    zone: ZoneInfo
    cron: str | None = None
    dates: tuple[float, ...] = ()
    exclusions: tuple[tuple[float, float], ...] = ()
    start: float | None = None
    end: float | None = None
    _exclusion_starts: tuple[float, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_exclusion_starts", tuple(start for start, _ in self.exclusions))

    def times(self, after: float) -> Iterator[float]:
        """The schedule's times strictly after ``after``, in order (finite: a cron search stops after
        :data:`MAX_STEPS` times looked at, a calendar at its last date, both at ``end``)."""
        if self.start is not None and after < self.start:
            after = self.start - 1e-6  # the start itself may be a time
        found = self._cron_times(after) if self.cron is not None else self._date_times(after)
        for time in found:
            if self.end is not None and time > self.end:
                return
            yield time

    def next_times(self, after: float, count: int) -> list[float]:
        """At most ``count`` times after ``after``."""
        found: list[float] = []
        for time in self.times(after):
            if len(found) == count:
                break
            found.append(time)
        return found

    def excluded(self, time: float) -> float | None:
        """The end of the exclusion ``time`` falls in, or ``None`` if it falls in none."""
        index = bisect.bisect_right(self._exclusion_starts, time) - 1
        if index >= 0 and time < self.exclusions[index][1]:
            return self.exclusions[index][1]
        return None

    def _date_times(self, after: float) -> Iterator[float]:
        for time in self.dates[bisect.bisect_right(self.dates, after) :]:
            if self.excluded(time) is None:
                yield time

    def _cron_times(self, after: float) -> Iterator[float]:
        assert self.cron is not None
        every_hour = self.cron.split()[1] == "*"
        begin = datetime.fromtimestamp(after, self.zone)
        found = croniter(self.cron, begin)
        last_local: datetime | None = None
        for _ in range(MAX_STEPS):
            try:
                moment: datetime = found.get_next(datetime)
            except (CroniterError, OverflowError, ValueError):
                return  # no more times (a date that never comes, or past the last year a date holds)
            time = moment.timestamp()
            if time <= after:
                continue
            excluded_until = self.excluded(time)
            if excluded_until is not None:
                found = croniter(self.cron, datetime.fromtimestamp(excluded_until - 1e-3, self.zone))
                continue
            local = moment.replace(tzinfo=None)
            if local == last_local and not every_hour:
                continue  # the autumn change repeats this local time: it ran already
            last_local = local
            yield time


def read_schedule(spec: ScheduleSpec) -> Schedule:
    """``spec`` checked and read (``InvalidRequestError`` naming the field otherwise)."""
    zone = _zone(spec.timezone)
    if (spec.cron is None) == (not spec.dates):
        raise InvalidRequestError("schedule: give exactly one of 'cron' and 'dates'")
    if len(spec.dates) > MAX_DATES:
        raise InvalidRequestError(f"schedule.dates: at most {MAX_DATES} dates, not {len(spec.dates)}")
    if len(spec.exclusions) > MAX_EXCLUSIONS:
        raise InvalidRequestError(
            f"schedule.exclusions: at most {MAX_EXCLUSIONS} exclusions, not {len(spec.exclusions)}"
        )
    cron = None if spec.cron is None else _cron(spec.cron)
    dates = sorted({_instant(text, zone, f"schedule.dates[{i}]") for i, text in enumerate(spec.dates)})
    exclusions = _merged(
        [_exclusion(text, zone, f"schedule.exclusions[{i}]") for i, text in enumerate(spec.exclusions)]
    )
    start = None if spec.start is None else _instant(spec.start, zone, "schedule.start")
    end = None if spec.end is None else _instant(spec.end, zone, "schedule.end")
    if start is not None and end is not None and end < start:
        raise InvalidRequestError("schedule.end: before schedule.start")
    return Schedule(zone, cron, tuple(dates), tuple(exclusions), start, end)


def _zone(name: str) -> ZoneInfo:
    if len(name) > MAX_TEXT or not name:
        raise InvalidRequestError("schedule.timezone: an IANA time zone name such as Europe/Paris")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequestError(
            f"schedule.timezone: unknown time zone {name!r} (an IANA name such as Europe/Paris or UTC)"
        ) from None


def _cron(text: str) -> str:
    expression = " ".join(text.split())
    if len(text) > MAX_TEXT or len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise InvalidRequestError(
            f"schedule.cron: {text[:MAX_TEXT]!r} is not a cron expression of five fields "
            "(minute hour day-of-month month day-of-week, such as '30 2 * * 1-5')"
        )
    return expression


def _instant(text: str, zone: ZoneInfo, where: str) -> float:
    """A date-time (or a date: its midnight) in ``zone`` unless it names its own offset."""
    moment = _local(text, where)
    _check_year(moment.year, text, where)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def _local(text: str, where: str) -> datetime:
    if len(text) <= MAX_TEXT:
        try:
            return datetime.fromisoformat(text.strip())
        except ValueError:
            pass
    raise InvalidRequestError(f"{where}: {text[:MAX_TEXT]!r} is not a date-time such as 2026-12-24T18:00")


def _exclusion(text: str, zone: ZoneInfo, where: str) -> tuple[float, float]:
    """A day (``2026-12-25``, its whole local day) or ``START/END``."""
    if "/" in text:
        first, _, last = text.partition("/")
        start, end = _instant(first, zone, where), _instant(last, zone, where)
        if end <= start:
            raise InvalidRequestError(f"{where}: the interval {text[:MAX_TEXT]!r} ends before it starts")
        return start, end
    try:
        day = date.fromisoformat(text.strip()) if len(text) <= MAX_TEXT else None
    except ValueError:
        day = None
    if day is not None:
        _check_year(day.year, text, where)
    if day is None:
        raise InvalidRequestError(
            f"{where}: {text[:MAX_TEXT]!r} is neither a day (2026-12-25) nor an interval "
            "(2026-12-24T18:00/2026-12-26T08:00)"
        )
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return midnight.timestamp(), following.timestamp()


def _check_year(year: int, text: str, where: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidRequestError(f"{where}: {text[:MAX_TEXT]!r} is not between {MIN_YEAR} and {MAX_YEAR}")


def _merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged

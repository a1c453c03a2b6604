"""The search of Job Analytics (PML §7.1): what a caller asks for, parsed and bounded.

Everything a client sends arrives here as text and leaves as plain values, or raises
:class:`~runyard.errors.InvalidRequestError` saying what is wrong (the API answers 400):

- **patterns** (workflow names, projects, users): ``value`` equals, ``value*`` starts with, ``*value``
  ends with, ``*value*`` contains, ``!value`` does not equal, ``!*value*`` does not contain (``*`` may
  stand anywhere; the wildcard forms ignore case, a plain value is exact). Several values of one
  filter: the positive ones are OR-ed, the ``!`` ones AND-ed;
- **statuses**: ProActive's names in any case (``In_Error``, ``in-error``);
- **submission time**: a preset (:data:`PRESETS`, in the caller's time zone) or a range of ISO 8601
  dates or epoch seconds;
- **columns** of the execution table: ``id``, ``name``... (:data:`JOB_COLUMNS`), ``variables.K`` (the
  job's variable K), ``results.T`` (task T's result), ``result_map.K`` (the result map's entry K);
- **column filters** ``COLUMN~TEXT`` (contains, ignoring case), ``COLUMN>NUMBER``, ``COLUMN<NUMBER``
  (times also take a date): the caller chooses the type, nothing is guessed from the values.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runyard.errors import InvalidRequestError
from runyard.model import JobStatus

MAX_VALUES = 50
"""Values of one filter (workflow names, projects, statuses, users, column filters)."""
MAX_TEXT = 255
"""Characters of one value, pattern or column name."""

#: A number as text, as both the store's SQL and Python read it, when it is at most
#: :data:`NUMBER_LENGTH` characters long: that keeps every match within a double (PostgreSQL refuses
#: to cast what would overflow). The length is checked apart: counted repetitions in the pattern made
#: PostgreSQL's matching three times slower (sorting 50,000 jobs by a variable: 150 -> 65 ms).
NUMBER = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,2})?\s*$"
NUMBER_LENGTH = 80
_NUMBER = re.compile(NUMBER)


def is_number(text: str) -> bool:
    """Whether ``text`` holds a number (:data:`NUMBER`)."""
    return len(text) <= NUMBER_LENGTH and _NUMBER.match(text) is not None


INTEGER_LIMIT = 1e100
"""A JSON integer this large or more is not taken as a number (PostgreSQL could not cast one beyond a
double's range; Python writes integers of any length)."""

JOB_COLUMNS = (
    "id",
    "name",
    "owner",
    "project",
    "status",
    "submitted_at",
    "started_at",
    "finished_at",
    "duration",
)
"""The job's own columns, in the table's order; ``duration`` is ``finished_at - started_at`` (s)."""
TIME_COLUMNS = frozenset({"submitted_at", "started_at", "finished_at"})
NUMBER_COLUMNS = frozenset({"id", "duration"}) | TIME_COLUMNS
TEXT_COLUMNS = frozenset({"name", "owner", "project", "status"})
VALUE_KINDS = ("variables", "results", "result_map")
"""Prefixes of the columns holding a job's values: ``variables.K``, ``results.TASK``, ``result_map.K``."""
_BAD_KEY = re.compile(r'["\\\x00-\x1f]')  # a JSON path in SQLite cannot quote them


class Issue(StrEnum):
    """The two kinds of jobs with issues (PML §7.2, panel 2)."""

    FINISHED_WITH_ISSUES = "finished_with_issues"
    """FINISHED, with at least one task that failed (``TaskStatus.is_failure``)."""
    INTERRUPTED = "interrupted"
    """IN_ERROR, FAILED, CANCELED or KILLED."""


INTERRUPTED = (JobStatus.IN_ERROR, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.KILLED)


@dataclass(frozen=True)
class Pattern:
    text: str
    """What to match, ``*`` standing for any run of characters."""
    negated: bool

    @property
    def wildcard(self) -> bool:
        return "*" in self.text


@dataclass(frozen=True)
class Column:
    kind: Literal["job", "variables", "results", "result_map"]
    key: str

    @property
    def name(self) -> str:
        return self.key if self.kind == "job" else f"{self.kind}.{self.key}"


Operator = Literal["contains", "gt", "lt"]
_OPERATORS: dict[str, Operator] = {"~": "contains", ">": "gt", "<": "lt"}


@dataclass(frozen=True)
class ColumnFilter:
    column: Column
    operator: Operator
    value: str | float
    """The text to find (``contains``), else the number (times: epoch seconds) to compare with."""


@dataclass(frozen=True)
class Search:
    """Which jobs: every condition must hold."""

    workflows: tuple[Pattern, ...] = ()
    projects: tuple[Pattern, ...] = ()
    statuses: tuple[JobStatus, ...] = ()
    users: tuple[Pattern, ...] = ()
    """Empty: everyone's jobs (the API puts the caller here unless told otherwise)."""
    submitted_after: float | None = None
    """Epoch seconds, included."""
    submitted_before: float | None = None
    """Epoch seconds, excluded."""
    issue: Issue | None = None
    where: tuple[ColumnFilter, ...] = ()


def patterns(values: list[str] | None, what: str) -> tuple[Pattern, ...]:
    """Parse a filter's patterns (``what`` names the filter in errors)."""
    found = []
    for value in _bounded(values, what):
        negated = value.startswith("!")
        text = value[1:] if negated else value
        if not text:
            raise InvalidRequestError(f"{what}: {value!r} has nothing to match")
        found.append(Pattern(text, negated))
    return tuple(found)


def statuses(values: list[str] | None) -> tuple[JobStatus, ...]:
    """``["Finished", "in-error"]`` → ``(FINISHED, IN_ERROR)``."""
    found = []
    for value in _bounded(values, "status"):
        name = value.strip().upper().replace("-", "_")
        if name not in JobStatus.__members__:
            known = ", ".join(s.value for s in JobStatus)
            raise InvalidRequestError(f"status: unknown status {value!r} (known: {known})")
        found.append(JobStatus(name))
    return tuple(found)


def issue(value: str | None) -> Issue | None:
    if value is None:
        return None
    try:
        return Issue(value.strip().lower())
    except ValueError:
        known = ", ".join(i.value for i in Issue)
        raise InvalidRequestError(f"issue: unknown issue type {value!r} (known: {known})") from None


def time_zone(name: str | None) -> dt.tzinfo:
    """An IANA zone (``Europe/Paris``), UTC by default."""
    if name is None or name.upper() == "UTC":
        return dt.UTC
    if len(name) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name) or ".." in name:
        raise InvalidRequestError(f"tz: not a time zone name: {name[:64]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequestError(f"tz: unknown time zone {name!r}") from None


def _midnight(day: dt.date, zone: dt.tzinfo) -> float:
    return dt.datetime.combine(day, dt.time(), zone).timestamp()


def _month(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _preset(name: str, now: float, zone: dt.tzinfo) -> tuple[float, float]:
    today = dt.datetime.fromtimestamp(now, zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    day = dt.timedelta(days=1)
    frames: dict[str, tuple[dt.date, dt.date]] = {
        "today": (today, today + day),
        "yesterday": (today - day, today),
        "this_week": (monday, monday + 7 * day),
        "last_week": (monday - 7 * day, monday),
        "this_month": (_month(today, 0), _month(today, 1)),
        "last_month": (_month(today, -1), _month(today, 0)),
        "this_year": (dt.date(today.year, 1, 1), dt.date(today.year + 1, 1, 1)),
        "last_year": (dt.date(today.year - 1, 1, 1), dt.date(today.year, 1, 1)),
    }
    if name in frames:
        start, end = frames[name]
        return _midnight(start, zone), _midnight(end, zone)
    hours = {"last_24_hours": 24, "last_7_days": 7 * 24, "last_30_days": 30 * 24}[name]
    return now - hours * 3600, now + 1


PRESETS = (
    "today",
    "yesterday",
    "last_24_hours",
    "this_week",
    "last_week",
    "last_7_days",
    "this_month",
    "last_month",
    "last_30_days",
    "this_year",
    "last_year",
)
"""Submission-time frames. Weeks start on Monday; ``last_N_…`` end now (+1 s)."""


def submission_range(
    preset: str | None, after: str | None, before: str | None, zone: dt.tzinfo, now: float
) -> tuple[float | None, float | None]:
    """``[after, before)`` in epoch seconds from a preset or explicit bounds (not both)."""
    if preset is not None:
        if after is not None or before is not None:
            raise InvalidRequestError(
                "submitted: give a preset or a range (submitted_after/_before), not both"
            )
        name = preset.strip().lower().replace("-", "_").replace(" ", "_")
        if name not in PRESETS:
            raise InvalidRequestError(f"submitted: unknown preset {preset!r} (known: {', '.join(PRESETS)})")
        return _preset(name, now, zone)
    start = None if after is None else instant(after, zone, "submitted_after")
    end = None if before is None else instant(before, zone, "submitted_before")
    if start is not None and end is not None and start >= end:
        raise InvalidRequestError("submitted_after must be before submitted_before")
    return start, end


def instant(text: str, zone: dt.tzinfo, what: str) -> float:
    """Epoch seconds, or an ISO 8601 date (its midnight) or date-time (``zone`` unless it names one)."""
    value = text.strip()
    if len(value) > 64:
        raise InvalidRequestError(f"{what}: not a date: {value[:64]!r}...")
    if is_number(value):
        return float(value)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequestError(
            f"{what}: not a date: {value!r} (use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][+HH:MM] or epoch seconds)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()


def column(text: str) -> Column:
    """``duration`` → a job column; ``variables.LOSS`` → the variable LOSS..."""
    name = text.strip()
    if name in JOB_COLUMNS:
        return Column("job", name)
    kind, dot, key = name.partition(".")
    if not dot or kind not in VALUE_KINDS:
        known = ", ".join(JOB_COLUMNS)
        raise InvalidRequestError(
            f"unknown column {text[:MAX_TEXT]!r}: use {known}, variables.NAME, results.TASK or result_map.KEY"
        )
    if not key or len(key) > MAX_TEXT or _BAD_KEY.search(key):
        raise InvalidRequestError(
            f"column {text[:MAX_TEXT]!r}: a name of 1 to {MAX_TEXT} characters, no quote"
        )
    return Column(kind, key)  # type: ignore[arg-type]  # kind is one of VALUE_KINDS


def column_filters(values: list[str] | None, zone: dt.tzinfo) -> tuple[ColumnFilter, ...]:
    """``["variables.LOSS<0.5", "name~train"]``: the column, the first of ``~ < >``, the value."""
    found = []
    for value in _bounded(values, "where", limit=2 * MAX_TEXT):
        at = min((i for i in (value.find(o) for o in _OPERATORS) if i >= 0), default=-1)
        if at <= 0:
            raise InvalidRequestError(f"where: {value!r} is not COLUMN~TEXT, COLUMN>NUMBER or COLUMN<NUMBER")
        target, operator, operand = column(value[:at]), _OPERATORS[value[at]], value[at + 1 :]
        found.append(ColumnFilter(target, operator, _operand(target, operator, operand, zone)))
    return tuple(found)


def _operand(target: Column, operator: Operator, text: str, zone: dt.tzinfo) -> str | float:
    where = f"where {target.name}"
    if operator == "contains":
        if target.kind == "job" and target.key not in TEXT_COLUMNS:
            raise InvalidRequestError(
                f"{where}: '~' (contains) is for text columns; compare numbers with > or <"
            )
        if not text:
            raise InvalidRequestError(f"{where}: nothing to look for after '~'")
        return text
    if target.kind == "job" and target.key in TEXT_COLUMNS:
        raise InvalidRequestError(f"{where}: > and < compare numbers; look for text with ~")
    if target.kind == "job" and target.key in TIME_COLUMNS:
        return instant(text, zone, where)
    if not is_number(text):
        raise InvalidRequestError(f"{where}: {text[:MAX_TEXT]!r} is not a number")
    return float(text)


def number(value: object) -> float | None:
    """A JSON value as a number, if it is one or a text holding one (booleans are not)."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int) and abs(value) >= INTEGER_LIMIT:
            return None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and is_number(value):
            return float(value)
    except OverflowError:  # an integer beyond a double's range
        return None
    return None


def _bounded(values: list[str] | None, what: str, limit: int = MAX_TEXT) -> list[str]:
    values = values or []
    if len(values) > MAX_VALUES:
        raise InvalidRequestError(f"{what}: at most {MAX_VALUES} values, got {len(values)}")
    for value in values:
        if len(value) > limit:
            raise InvalidRequestError(f"{what}: a value is longer than {limit} characters")
    return values

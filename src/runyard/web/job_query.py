"""What the jobs table shows, as its URL query says it (bookmarkable): filters, sort and page.

Lenient on the way in: a value the page cannot use (a misspelt status, ``page=abc``) is dropped rather
than turned into an error page, so an old bookmark still opens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from runyard.client.jobs import SORT_COLUMNS
from runyard.web.job_status import JOB_STATUSES

PAGE_SIZES = (10, 25, 50, 100, 200)


@dataclass(frozen=True)
class JobQuery:
    statuses: tuple[str, ...] = ()
    owner: str = ""
    name: str = ""
    """Exact, or with ``*`` matching anything (the API's pattern)."""
    project: str = ""
    after: str = ""
    """Submitted on or after this day (``YYYY-MM-DD``, UTC)."""
    before: str = ""
    """Submitted on or before this day (``YYYY-MM-DD``, UTC)."""
    sort: str = "id"
    descending: bool = True
    page: int = 1
    rows: int = 50

    @classmethod
    def parse(cls, params: dict[str, str]) -> JobQuery:
        """From the page's query parameters."""
        statuses = tuple(s for s in params.get("status", "").upper().split(",") if s in JOB_STATUSES)
        sort = params.get("sort", "-id")
        column = sort.removeprefix("-")
        rows = _number(params.get("rows"), 50)
        return cls(
            statuses=statuses,
            owner=params.get("owner", "").strip(),
            name=params.get("name", "").strip(),
            project=params.get("project", "").strip(),
            after=params.get("after", "") if _day(params.get("after", "")) else "",
            before=params.get("before", "") if _day(params.get("before", "")) else "",
            sort=column if column in SORT_COLUMNS else "id",
            descending=sort.startswith("-") if column in SORT_COLUMNS else True,
            page=max(1, _number(params.get("page"), 1)),
            rows=rows if rows in PAGE_SIZES else 50,
        )

    def replace(self, **changes: Any) -> JobQuery:
        return dataclasses.replace(self, **changes)

    def url(self, path: str = "/jobs") -> str:
        """``path`` with this query, leaving out what is as by default."""
        default = JobQuery()
        params = {
            "status": ",".join(self.statuses),
            "owner": self.owner,
            "name": self.name,
            "project": self.project,
            "after": self.after,
            "before": self.before,
            "sort": ""
            if (self.sort, self.descending) == (default.sort, default.descending)
            else self.sort_param,
            "page": "" if self.page == 1 else str(self.page),
            "rows": "" if self.rows == default.rows else str(self.rows),
        }
        query = urlencode({key: value for key, value in params.items() if value})
        return f"{path}?{query}" if query else path

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort

    def filters(self) -> dict[str, Any]:
        """The SDK's filter arguments (``list_jobs``, ``count_job_statuses``), statuses aside."""
        after, before = _day(self.after), _day(self.before)
        return {
            "owner": self.owner or None,
            "name": self.name or None,
            "project": self.project or None,
            "submitted_after": None if after is None else _epoch(after),
            "submitted_before": None if before is None else _epoch(before + timedelta(days=1)),
        }


def _number(text: str | None, default: int) -> int:
    try:
        return int(text or default)
    except ValueError:
        return default


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()

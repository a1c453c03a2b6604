"""The state of the Job Analytics page, kept in its URL query so that a search can be bookmarked and shared.

The search uses the API's own parameter names (``workflow``, ``status``, ``where``...; see
docs/analytics.md); the page adds the table's column filters (``filter``, in the API's ``where`` form),
whether they also narrow the charts (``charts=filtered``) and whether the variable and result charts are
shown (``values=hidden``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from runyard.client.analytics import AnalyticsSearch

STATUSES = ("Pending", "Running", "Stalled", "Paused", "In_Error", "Finished", "Canceled", "Failed", "Killed")
#: The API's submission presets, as the page names them.
PRESETS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_24_hours": "Last 24 hours",
    "this_week": "This week",
    "last_week": "Last week",
    "last_7_days": "Last 7 days",
    "this_month": "This month",
    "last_month": "Last month",
    "last_30_days": "Last 30 days",
    "this_year": "This year",
    "last_year": "Last year",
}
ISSUES = {"finished_with_issues": "Finished with issues", "interrupted": "Interrupted"}
_LISTS = {"workflow": "workflows", "project": "projects", "status": "statuses", "user": "users"}
_TEXTS = ("submitted", "submitted_after", "submitted_before", "issue")


@dataclass(frozen=True)
class Query:
    workflows: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    """Empty: your own jobs."""
    submitted: str = ""
    submitted_after: str = ""
    submitted_before: str = ""
    issue: str = ""
    where: tuple[str, ...] = ()
    """The search's value filters (``variables.LR<0.01``)."""
    filters: tuple[str, ...] = ()
    """The execution table's column filters, in the same form."""
    charts_filtered: bool = False
    values_shown: bool = True

    @classmethod
    def parse(cls, items: Iterable[tuple[str, str]]) -> Query:
        """From the URL query's ``(key, value)`` pairs; unknown keys and empty values are ignored."""
        lists: dict[str, list[str]] = {}
        for key, value in items:
            if value.strip():
                lists.setdefault(key, []).append(value.strip())

        def text(key: str) -> str:
            return lists.get(key, [""])[0]

        def listed(key: str) -> tuple[str, ...]:
            return tuple(lists.get(key, ()))

        return cls(
            workflows=listed("workflow"),
            projects=listed("project"),
            statuses=listed("status"),
            users=listed("user"),
            submitted=text("submitted"),
            submitted_after=text("submitted_after"),
            submitted_before=text("submitted_before"),
            issue=text("issue"),
            where=listed("where"),
            filters=listed("filter"),
            charts_filtered=lists.get("charts") == ["filtered"],
            values_shown=lists.get("values") != ["hidden"],
        )

    def url(self, path: str = "/analytics") -> str:
        pairs: list[tuple[str, str]] = []
        for key, name in _LISTS.items():
            pairs += [(key, value) for value in getattr(self, name)]
        pairs += [(key, getattr(self, key)) for key in _TEXTS if getattr(self, key)]
        pairs += [("where", value) for value in self.where] + [("filter", value) for value in self.filters]
        pairs += [("charts", "filtered")] if self.charts_filtered else []
        pairs += [] if self.values_shown else [("values", "hidden")]
        return f"{path}?{urlencode(pairs)}" if pairs else path

    def search(self, tz: str, *, filtered: bool) -> AnalyticsSearch:
        """The API's search; ``filtered``: with the table's column filters."""
        found: dict[str, Any] = {key: list(getattr(self, name)) for key, name in _LISTS.items()}
        found.update({key: getattr(self, key) for key in _TEXTS})
        found["where"] = [*self.where, *(self.filters if filtered else ())]
        search: AnalyticsSearch = {key: value for key, value in found.items() if value}  # type: ignore[assignment]
        if tz:
            search["tz"] = tz
        return search

    def summary(self) -> list[str]:
        """The active search, one short text per filter (the bar above the dashboard)."""
        parts = [
            f"{key}: {', '.join(getattr(self, name))}" for key, name in _LISTS.items() if getattr(self, name)
        ]
        if not self.users:
            parts.append("user: you")
        if self.submitted:
            parts.append(f"submitted: {PRESETS.get(self.submitted, self.submitted)}")
        if self.submitted_after or self.submitted_before:
            parts.append(f"submitted: {self.submitted_after or '…'} to {self.submitted_before or '…'}")
        if self.issue:
            parts.append(f"issue: {ISSUES.get(self.issue, self.issue)}")
        return parts + [f"where {value}" for value in self.where]

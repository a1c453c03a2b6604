"""Job Analytics: the dashboard of a search (panels, chart series) and its execution table, as JSON or CSV.

Every method takes the same search as keyword arguments (:class:`AnalyticsSearch`); a filter given
several values keeps jobs matching any of them (and none of the ``!`` ones). See docs/analytics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypedDict, Unpack

from runyard.client.documents import Dashboard, ExecutionPage
from runyard.client.transport import Call, json_body, operation, text_body

Texts = str | Sequence[str]


class AnalyticsSearch(TypedDict, total=False):
    workflow: Texts
    """Workflow (job) names: ``value``, ``value*``, ``*value``, ``*value*``, ``!value``, ``!*value*``."""
    project: Texts
    status: Texts
    """ProActive's job statuses, in any case: ``Finished``, ``In_Error``..."""
    user: Texts
    """Default: your own jobs; an admin may name others, or ``*`` for everyone's."""
    submitted: str
    """A preset: ``today``, ``yesterday``, ``last_7_days``, ``this_month``, ``last_month``..."""
    submitted_after: str | float
    """ISO 8601 date or date-time, or epoch seconds (included)."""
    submitted_before: str | float
    """Excluded."""
    tz: str
    """IANA time zone of presets and dates (default UTC)."""
    issue: Literal["finished_with_issues", "interrupted"]
    where: Texts
    """Column filters: ``variables.LOSS<0.5``, ``results.Train>0.9``, ``name~bert``, ``duration>30``."""


def _params(search: AnalyticsSearch, **more: Any) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = []
    for key, value in {**search, **more}.items():
        if value is None:
            continue
        values = [value] if isinstance(value, str | int | float) else list(value)
        params += [(key, v) for v in values]
    return params


class AnalyticsApi:
    @operation
    def analytics(self, *, sample: int = 1000, **search: Unpack[AnalyticsSearch]) -> Call[Dashboard]:
        """The dashboard: ``search`` (as understood), ``metrics`` (panels), ``charts`` (series over the
        newest ``sample`` jobs) and ``columns`` (of the execution table)."""
        return Call("GET", "/analytics", json_body, params=_params(search, sample=sample))

    @operation
    def analytics_executions(
        self,
        *,
        sort: str = "-id",
        sort_as: Literal["text", "number"] = "text",
        limit: int = 50,
        offset: int = 0,
        **search: Unpack[AnalyticsSearch],
    ) -> Call[ExecutionPage]:
        """A page of the execution table: ``columns``, ``rows`` (one per job), ``total``.

        ``sort``: a column, ``-`` first for descending (``-variables.LOSS``); ``sort_as`` compares the
        values of ``variables.``, ``results.`` and ``result_map.`` columns as text or as numbers."""
        params = _params(search, sort=sort, sort_as=sort_as, limit=limit, offset=offset)
        return Call("GET", "/analytics/executions", json_body, params=params)

    @operation
    def analytics_csv(
        self,
        *,
        sort: str = "-id",
        sort_as: Literal["text", "number"] = "text",
        limit: int = 100_000,
        **search: Unpack[AnalyticsSearch],
    ) -> Call[str]:
        """The whole execution table (at most ``limit`` rows) as CSV text."""
        params = _params(search, sort=sort, sort_as=sort_as, limit=limit)
        return Call("GET", "/analytics/executions.csv", text_body, params=params)

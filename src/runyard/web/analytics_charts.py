"""The ECharts options of Job Analytics' charts: series over job ids, drawn as lines or bars.

Series names are variable and task names, other people's text: the legend and the tooltip are drawn on
the canvas (``renderMode: richText``), never as HTML, and the chart's accessible description (``aria``)
is an attribute, so a name cannot become markup.
"""

from __future__ import annotations

from typing import Any, Literal

from runyard.client.documents import AnalyticsCharts

Kind = Literal["line", "bar"]


def duration_series(charts: AnalyticsCharts) -> dict[str, list[float | None]]:
    return {"duration (s)": charts["duration"]}


def variable_series(charts: AnalyticsCharts) -> dict[str, list[float | None]]:
    return dict(charts["variables"])


def result_series(charts: AnalyticsCharts) -> dict[str, list[float | None]]:
    """Task results by task name, result map entries as ``result_map.KEY`` (a task may share a key's name)."""
    return {
        **charts["results"],
        **{f"result_map.{key}": values for key, values in charts["result_map"].items()},
    }


def options(
    title: str, job_ids: list[int], series: dict[str, list[float | None]], kind: Kind
) -> dict[str, Any]:
    """A chart of ``series`` (name → one value per job of ``job_ids``) as ``kind``."""
    return {
        "aria": {"enabled": True, "label": {"description": _description(title, len(job_ids), series, kind)}},
        "animation": False,
        "tooltip": {"trigger": "axis", "renderMode": "richText", "confine": True},
        "legend": {"type": "scroll", "top": 0, "show": len(series) > 1},
        "grid": {"left": 50, "right": 16, "top": 36 if len(series) > 1 else 12, "bottom": 36},
        "xAxis": {
            "type": "category",
            "name": "job",
            "nameLocation": "middle",
            "nameGap": 24,
            "data": job_ids,
        },
        "yAxis": {"type": "value", "scale": True},
        "series": [
            {"name": name, "type": kind, "data": values, "connectNulls": True, "showSymbol": True}
            for name, values in series.items()
        ],
    }


def _description(title: str, jobs: int, series: dict[str, list[float | None]], kind: Kind) -> str:
    if not series:
        return f"{title} of {jobs} jobs: no numeric values."
    drawn = "lines" if kind == "line" else "bars"
    return f"{title} of {jobs} jobs, {len(series)} series drawn as {drawn}: {'; '.join(series)}."

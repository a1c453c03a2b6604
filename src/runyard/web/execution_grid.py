"""Job Analytics' execution table: an AG Grid of one row per job, its columns as the API names them.

Cells are text (AG Grid's default; a job id is a link built with the DOM, never from HTML), value columns
sort as numbers where both values are numbers, and each column has the filter the API can apply
(:mod:`runyard.web.grid_filters`).
"""

from __future__ import annotations

from typing import Any

from runyard.web.grid_filters import NUMBER_COLUMNS, TEXT_COLUMNS, TIME_COLUMNS, column_filter

ROW_LIMIT = 1000
"""Rows read into the grid (the API's largest page); the CSV export has them all."""

_HEADERS = {"id": "Job", "duration": "Duration (s)", "submitted_at": "Submitted", "started_at": "Started",
            "finished_at": "Finished"}  # fmt: skip
_JOB_LINK = """p => { const a = document.createElement('a'); a.href = '/jobs/' + encodeURIComponent(p.value);
  a.textContent = String(p.value); a.className = 'text-primary'; return a; }"""
_TIME = "p => p.value == null ? '' : new Date(p.value * 1000).toLocaleString()"
_DURATION = "p => p.value == null ? '' : p.value.toFixed(1)"
_VALUE = "p => p.value == null ? '' : typeof p.value === 'object' ? JSON.stringify(p.value) : String(p.value)"
_BY_NUMBER_FIRST = """(a, b) => {
  const number = v => v === null || v === undefined || v === '' || typeof v === 'object' ? NaN : Number(v);
  const x = number(a), y = number(b), xs = isFinite(x), ys = isFinite(y);
  if (xs && ys) return x - y;
  if (xs !== ys) return xs ? -1 : 1;
  return String(a ?? '').localeCompare(String(b ?? ''));
}"""


def column_def(column: str) -> dict[str, Any]:
    """The AG Grid column definition of one of the API's execution table columns."""
    definition: dict[str, Any] = {"field": column, "headerName": _HEADERS.get(column, column)}
    definition.update(column_filter(column))
    if column == "id":
        definition.update({":cellRenderer": _JOB_LINK, "pinned": "left", "width": 100})
    elif column in TIME_COLUMNS:
        definition[":valueFormatter"] = _TIME
    elif column == "duration":
        definition[":valueFormatter"] = _DURATION
    elif column not in TEXT_COLUMNS and column not in NUMBER_COLUMNS and column != "issue":
        definition.update({":valueFormatter": _VALUE, ":comparator": _BY_NUMBER_FIRST})
    return definition


def options(columns: list[str], rows: list[dict[str, Any]], filter_model: dict[str, Any]) -> dict[str, Any]:
    """The grid's options: ``rows`` under ``columns``, opening with ``filter_model``."""
    return {
        "columnDefs": [column_def(column) for column in columns],
        "rowData": rows,
        "defaultColDef": {"sortable": True, "resizable": True, "floatingFilter": True, "minWidth": 110},
        "autoSizeStrategy": {"type": "fitCellContents"},
        "initialState": {"filter": {"filterModel": filter_model}},
        ":getRowId": "p => String(p.data.id)",
        "suppressDragLeaveHidesColumns": True,
        "suppressFieldDotNotation": True,  # "variables.LR" is a key, not a path
        "suppressColumnVirtualisation": True,  # every column's filter reachable
        "overlayNoRowsTemplate": "No job matches this search.",
    }


def sort_of(column_state: list[dict[str, Any]], numeric: set[str]) -> dict[str, str]:
    """The API's ``sort`` and ``sort_as`` of the grid's sorted column (``getColumnState``); newest first."""
    ordered = sorted((c for c in column_state if c.get("sort")), key=lambda c: c.get("sortIndex") or 0)
    if not ordered:
        return {"sort": "-id", "sort_as": "text"}
    column = ordered[0]["colId"]
    return {
        "sort": ("-" if ordered[0]["sort"] == "desc" else "") + column,
        "sort_as": "number" if column in numeric else "text",
    }

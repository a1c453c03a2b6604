"""Two texts side by side, from the API's diff blocks (``GET …/diff``): removed lines on the left, added
ones on the right, long unchanged stretches folded.

Lines are text elements (never HTML), so content is shown as it is whatever it holds.
"""

from __future__ import annotations

from collections.abc import Iterator

from nicegui import ui

from runyard.client.documents import DiffBlock, RevisionDiff

#: Unchanged lines kept around each change; longer unchanged stretches fold into one row.
CONTEXT = 3
#: Rows drawn at most (a diff of thousands of lines stays a page, not a hang).
MAX_ROWS = 2000

_LEFT = {"replace": "bg-red-100", "delete": "bg-red-100"}
_RIGHT = {"replace": "bg-green-100", "insert": "bg-green-100"}

Row = tuple[str, int | None, str | None, int | None, str | None]
"""(block kind, left line number, left text, right line number, right text); ``None``: no line."""


def diff_view(diff: RevisionDiff, *, left_title: str, right_title: str) -> None:
    """The table of ``diff`` (labelled "Differences"), or a line saying the revisions are identical."""
    if diff["identical"]:
        ui.label("The two revisions are identical.").classes("text-gray-600")
        return
    rows = list(_rows(diff["blocks"]))
    with (
        ui.element("div").classes("w-full overflow-x-auto border rounded"),
        ui.element("table")
        .classes("w-full font-mono text-xs border-collapse")
        .props('aria-label="Differences"'),
    ):
        with ui.element("thead"), ui.element("tr").classes("bg-slate-100"):
            for title in (left_title, right_title):
                with ui.element("th").props("colspan=2").classes("text-left p-1 w-1/2"):
                    ui.label(title)
        with ui.element("tbody"):
            for row in rows[:MAX_ROWS]:
                _draw(row)
    if len(rows) > MAX_ROWS:
        ui.label(f"{len(rows) - MAX_ROWS} more rows are not shown.").classes("text-gray-600")


def _rows(blocks: list[DiffBlock]) -> Iterator[Row]:
    last = len(blocks) - 1
    for index, block in enumerate(blocks):
        kind, left, right = block["kind"], block["left"], block["right"]
        numbered = [
            (
                kind,
                block["left_start"] + i if i < len(left) else None,
                left[i] if i < len(left) else None,
                block["right_start"] + i if i < len(right) else None,
                right[i] if i < len(right) else None,
            )
            for i in range(max(len(left), len(right)))
        ]
        if kind != "equal":
            yield from numbered
            continue
        head = CONTEXT if index > 0 else 0
        tail = CONTEXT if index < last else 0
        if len(numbered) <= head + tail + 1:
            yield from numbered
            continue
        yield from numbered[:head]
        yield ("fold", None, f"⋯ {len(numbered) - head - tail} unchanged lines", None, None)
        yield from numbered[len(numbered) - tail :]


def _draw(row: Row) -> None:
    kind, left_number, left, right_number, right = row
    with ui.element("tr"):
        if kind == "fold":
            with ui.element("td").props("colspan=4").classes("text-center text-gray-500 bg-slate-50"):
                ui.label(left or "")
            return
        _cell(left_number, left, _LEFT.get(kind, ""))
        _cell(right_number, right, _RIGHT.get(kind, ""))


def _cell(number: int | None, text: str | None, colour: str) -> None:
    with ui.element("td").classes(f"text-right text-gray-400 px-1 align-top select-none {colour}"):
        ui.label("" if number is None else str(number))
    with ui.element("td").classes(f"px-1 align-top whitespace-pre-wrap break-all w-1/2 {colour}"):
        ui.label(text if text is not None else "")

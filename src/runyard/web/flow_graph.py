"""A task graph drawn with ECharts: tasks in layers (a task below the tasks it follows), dependencies as
arrows, control flow as dashed labelled arrows; a text list of the links beside it for screen readers.

Names are drawn on the canvas (never parsed as markup) and the tooltip is off, so hostile names stay
text. Any page drawing tasks can use it: :class:`FlowGraph` makes the chart, :meth:`FlowGraph.draw`
shows tasks and links, with a colour per task if wanted (a job's statuses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nicegui import events, ui

from runyard.web.labels import labelled

#: Line style and colour per link kind (``dependency`` plain; control flow dashed).
_EDGE_STYLES = {
    "dependency": {"type": "solid", "color": "#64748b"},
    "replicate": {"type": "dashed", "color": "#0891b2"},
    "if": {"type": "dashed", "color": "#16a34a"},
    "else": {"type": "dashed", "color": "#dc2626"},
    "continuation": {"type": "dashed", "color": "#7c3aed"},
    "loop": {"type": "dashed", "color": "#ea580c"},
}
_SPACING = (160, 80)
_TASK_COLOUR = "#1976d2"
_SELECTED_COLOUR = "#f59e0b"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str = "dependency"
    """``dependency``, ``replicate``, ``if``, ``else``, ``continuation`` or ``loop``."""


class FlowGraph:
    """The chart and its text twin; ``on_select`` gets the name of a task clicked."""

    def __init__(self, on_select: Callable[[str], Any] | None = None, *, label: str = "Task graph") -> None:
        self.chart = ui.echart({"tooltip": {"show": False}, "animation": False, "series": []})
        labelled(self.chart, label).classes("w-full h-72 border rounded").props('role="img"')
        if on_select is not None:
            select = on_select

            def clicked(event: events.EChartPointClickEventArguments) -> Any:
                return select(event.name) if event.data_type == "node" else None

            self.chart.on_point_click(clicked)
        self.links = ui.column().classes("sr-only").props('role="list" aria-label="Task links"')

    def draw(
        self,
        tasks: Sequence[str],
        edges: Sequence[Edge],
        *,
        selected: str | None = None,
        colours: Mapping[str, str] | None = None,
    ) -> None:
        """Show ``tasks`` (names unique, in their order) and the ``edges`` between them; ``selected`` is
        highlighted, ``colours`` gives a task its CSS colour."""
        places = layers(tasks, edges)
        widths: dict[int, int] = {}
        for layer, column in places.values():
            widths[layer] = max(widths.get(layer, 0), column)
        widest = max(widths.values(), default=0)
        nodes = [
            {
                "name": name,
                "x": (column + (widest - widths[layer]) / 2) * _SPACING[0],
                "y": layer * _SPACING[1],
                "itemStyle": {"color": _colour(name, selected, colours or {})},
                **({"symbolSize": 28} if name == selected else {}),
            }
            for name, (layer, column) in places.items()
        ]
        shown = [e for e in edges if e.source in places and e.target in places]
        links = [
            {
                "source": e.source,
                "target": e.target,
                "lineStyle": {**_EDGE_STYLES.get(e.kind, _EDGE_STYLES["dependency"]), "curveness": _curve(e)},
                "label": {"show": e.kind != "dependency", "formatter": e.kind},
            }
            for e in shown
        ]
        self.chart.options["series"] = [
            {
                "type": "graph",
                "layout": "none",
                "roam": True,
                "symbolSize": 22,
                "edgeSymbol": ["none", "arrow"],
                "edgeSymbolSize": 9,
                "label": {"show": True, "position": "bottom", "width": 140, "overflow": "truncate"},
                "data": nodes,
                "links": links,
            }
        ]
        self.chart.update()
        self.links.clear()
        with self.links:
            for e in shown:
                ui.label(f"{e.source} → {e.target} ({e.kind})").props('role="listitem"')


def layers(tasks: Sequence[str], edges: Sequence[Edge]) -> dict[str, tuple[int, int]]:
    """(layer, column) of each task: one layer below the deepest task it follows by any link but a loop
    (which goes back up). In a cycle, the first task waiting is placed as if its unplaced parents were not
    there (the cycle is a problem the check reports; the graph still shows it)."""
    parents: dict[str, set[str]] = {name: set() for name in tasks}
    for edge in edges:
        if edge.kind != "loop" and edge.target in parents and edge.source in parents:
            parents[edge.target].add(edge.source)
    rows: dict[str, int] = {}
    waiting = list(dict.fromkeys(tasks))
    while waiting:
        ready = [name for name in waiting if parents[name] <= rows.keys()] or waiting[:1]
        for name in ready:
            rows[name] = 1 + max((rows[p] for p in parents[name] if p in rows), default=-1)
        waiting = [name for name in waiting if name not in rows]
    used: dict[int, int] = {}
    places: dict[str, tuple[int, int]] = {}
    for name in dict.fromkeys(tasks):
        row = rows[name]
        places[name] = (row, used.get(row, 0))
        used[row] = used.get(row, 0) + 1
    return places


def _colour(name: str, selected: str | None, colours: Mapping[str, str]) -> str:
    return _SELECTED_COLOUR if name == selected else colours.get(name, _TASK_COLOUR)


def _curve(edge: Edge) -> float:
    """Loops go back up: curved, so they do not lie over the dependencies."""
    return 0.3 if edge.kind == "loop" else 0.0

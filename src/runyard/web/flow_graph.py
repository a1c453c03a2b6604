"""A workflow's task graph drawn with ECharts: tasks in layers (a task below the tasks it depends on),
dependencies as arrows, control flow as dashed labelled arrows.

Names are drawn on the canvas (never HTML) and there is no tooltip, so hostile names stay text. Any page
drawing tasks can use it: :func:`flow_graph` makes the chart, :func:`draw` shows a graph in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nicegui import events, ui

#: Line style and colour per edge kind (``dependency`` plain; control flow dashed).
_EDGE_STYLES = {
    "dependency": {"type": "solid", "color": "#64748b"},
    "if": {"type": "dashed", "color": "#16a34a"},
    "else": {"type": "dashed", "color": "#dc2626"},
    "continuation": {"type": "dashed", "color": "#7c3aed"},
    "loop": {"type": "dashed", "color": "#ea580c"},
    "replicate": {"type": "dashed", "color": "#0891b2"},
}
_SPACING = (170, 90)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str = "dependency"


def flow_graph(on_select: Callable[[str], Any] | None = None, *, label: str = "Task graph") -> ui.echart:
    """An empty graph chart; ``on_select`` gets the name of a task clicked."""
    chart = ui.echart(
        {
            "tooltip": {"show": False},
            "animation": False,
            "series": [{"type": "graph", "data": [], "links": []}],
        }
    )
    chart.props(f'aria-label="{label}" role="img"')
    if on_select is not None:
        callback = on_select

        def clicked(event: events.EChartPointClickEventArguments) -> Any:
            return callback(event.name) if event.data_type == "node" else None

        chart.on_point_click(clicked)
    return chart


def draw(chart: ui.echart, tasks: Sequence[str], edges: Sequence[Edge], selected: str | None = None) -> None:
    """Show ``tasks`` (in order, names unique) joined by ``edges``; ``selected`` is highlighted."""
    places = _layers(tasks, [e for e in edges if e.kind == "dependency"])
    nodes = [
        {
            "name": name,
            "x": column * _SPACING[0],
            "y": layer * _SPACING[1],
            "itemStyle": {"color": "#f59e0b" if name == selected else "#3b82f6"},
        }
        for name, (layer, column) in places.items()
    ]
    links = [
        {
            "source": e.source,
            "target": e.target,
            "lineStyle": {**_EDGE_STYLES.get(e.kind, _EDGE_STYLES["dependency"]), "curveness": 0.2},
            "label": {"show": e.kind != "dependency", "formatter": e.kind},
        }
        for e in edges
        if e.source in places and e.target in places
    ]
    chart.options["series"] = [
        {
            "type": "graph",
            "layout": "none",
            "roam": True,
            "symbolSize": 22,
            "edgeSymbol": ["none", "arrow"],
            "edgeSymbolSize": 9,
            "label": {"show": True, "position": "bottom", "width": 150, "overflow": "truncate"},
            "data": nodes,
            "links": links,
        }
    ]
    chart.update()


def _layers(tasks: Sequence[str], dependencies: Sequence[Edge]) -> dict[str, tuple[int, int]]:
    """(layer, column) of each task: one layer below its deepest dependency (a cycle is cut)."""
    parents: dict[str, list[str]] = {name: [] for name in tasks}
    for edge in dependencies:
        if edge.target in parents and edge.source in parents:
            parents[edge.target].append(edge.source)
    layer: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name not in layer:
            above = [depth(p, seen | {name}) for p in parents[name] if p not in seen]
            layer[name] = 1 + max(above, default=-1)
        return layer[name]

    columns: dict[int, int] = {}
    places = {}
    for name in tasks:
        row = depth(name, frozenset())
        places[name] = (row, columns.get(row, 0))
        columns[row] = columns.get(row, 0) + 1
    return places

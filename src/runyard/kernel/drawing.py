"""An SVG picture of a workflow's task graph, for ``#%draw_job`` (no Graphviz or matplotlib needed).

Tasks are placed in the portal's layers (:func:`runyard.web.flow_graph.layers`: a task below the tasks it
follows); dependencies are grey arrows, control flow dashed coloured arrows with their kind as label.
Every name is escaped: a task called ``</svg><script>`` is text in the picture.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from runyard.model import IfAction, LoopAction, ReplicateAction, Workflow

_COLOURS = {
    "dependency": "#64748b",
    "replicate": "#0891b2",
    "if": "#16a34a",
    "else": "#dc2626",
    "continuation": "#7c3aed",
    "loop": "#ea580c",
}
_BOX = (140, 34)
_GAP = (30, 56)
_MARGIN = 24
_LABEL_ROOM = 48
"""Room on the right for the label of a loop arrow (drawn on the right of its tasks)."""


def workflow_svg(workflow: Workflow) -> str:
    from runyard.web.flow_graph import Edge, layers  # the portal's layout (imported on first drawing)

    edges = [Edge(*edge) for edge in workflow_edges(workflow)]
    names = [task.name for task in workflow.tasks]
    places = layers(names, edges)
    width = max((column for _, column in places.values()), default=0) + 1
    height = max((layer for layer, _ in places.values()), default=0) + 1
    size = (
        2 * _MARGIN + width * _BOX[0] + (width - 1) * _GAP[0] + _LABEL_ROOM,
        2 * _MARGIN + 20 + height * _BOX[1] + (height - 1) * _GAP[1],
    )

    def corner(name: str) -> tuple[int, int]:
        layer, column = places[name]
        return _MARGIN + column * (_BOX[0] + _GAP[0]), _MARGIN + 20 + layer * (_BOX[1] + _GAP[1])

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size[0]}" height="{size[1]}" '
        f'viewBox="0 0 {size[0]} {size[1]}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(workflow.name)}</title>",
        "<defs>"
        + "".join(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for kind, colour in _COLOURS.items()
        )
        + "</defs>",
        f'<text x="{_MARGIN}" y="{_MARGIN}" font-weight="bold">{escape(workflow.name)}</text>',
    ]
    for edge in edges:
        (x1, y1), (x2, y2) = corner(edge.source), corner(edge.target)
        start = (x1 + _BOX[0] // 2, y1 + (_BOX[1] if y2 > y1 else 0))
        end = (x2 + _BOX[0] // 2, y2 + (0 if y2 > y1 else _BOX[1]))
        bend = 0 if edge.kind != "loop" else _BOX[0]
        middle = ((start[0] + end[0]) // 2 + bend, (start[1] + end[1]) // 2)
        label = (middle[0] - bend // 2 + 4, middle[1])  # on the curve: half way to its control point
        dash = ' stroke-dasharray="5,4"' if edge.kind != "dependency" else ""
        parts.append(
            f'<path d="M{start[0]},{start[1]} Q{middle[0]},{middle[1]} {end[0]},{end[1]}" fill="none" '
            f'stroke="{_COLOURS[edge.kind]}" stroke-width="1.5"{dash} marker-end="url(#arrow-{edge.kind})"/>'
        )
        if edge.kind != "dependency":
            parts.append(
                f'<text x="{label[0]}" y="{label[1]}" fill="{_COLOURS[edge.kind]}">{edge.kind}</text>'
            )
    for name in names:
        x, y = corner(name)
        shown = name if len(name) <= 20 else name[:19] + "…"
        parts.append(
            f"<g><title>{escape(name)}</title>"
            f'<rect x="{x}" y="{y}" width="{_BOX[0]}" height="{_BOX[1]}" rx="6" '
            f'fill="#e0ecfb" stroke="#1976d2"/><text x="{x + _BOX[0] // 2}" y="{y + _BOX[1] // 2 + 4}" '
            f'text-anchor="middle">{escape(shown)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def workflow_edges(workflow: Workflow) -> list[tuple[str, str, str]]:
    """(source, target, kind) of each link between the workflow's tasks: ``dependency``, ``replicate`` (a
    dependency on a task replicating its children), ``if``, ``else``, ``continuation``, ``loop``."""
    known = {task.name for task in workflow.tasks}
    replicators = {
        task.name
        for task in workflow.tasks
        if task.control_flow is not None and isinstance(task.control_flow.action, ReplicateAction)
    }
    edges = [
        (parent, task.name, "replicate" if parent in replicators else "dependency")
        for task in workflow.tasks
        for parent in task.depends
    ]
    for task in workflow.tasks:
        action = task.control_flow.action if task.control_flow is not None else None
        if isinstance(action, IfAction):
            links = [
                ("if", action.target),
                ("else", action.else_target),
                ("continuation", action.continuation),
            ]
            edges += [(task.name, target, kind) for kind, target in links if target]
        elif isinstance(action, LoopAction):
            edges.append((task.name, action.target, "loop"))
    return [edge for edge in edges if edge[0] in known and edge[1] in known]

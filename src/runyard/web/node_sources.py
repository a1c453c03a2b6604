"""The node sources table of the Resources page: name, type, origin, nodes, state; admins add and remove
sources of a built-in type (those of the server's config file are removed there)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from runyard.client.documents import NodeSource
from runyard.web.calls import Refused, call
from runyard.web.confirm import confirm
from runyard.web.labels import labelled
from runyard.web.sessions import Session

TYPES = ("local", "dask", "slurm")
STATE_COLOURS = {
    "DEPLOYING": "primary",
    "DEPLOYED": "positive",
    "UNDEPLOYED": "negative",
    "SHUTTING_DOWN": "warning",
}
COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Node source", "field": "name", "sortable": True, "align": "left"},
    {"name": "type", "label": "Type", "field": "type", "align": "left"},
    {"name": "origin", "label": "Origin", "field": "origin", "align": "left"},
    {"name": "nodes", "label": "Nodes", "field": "summary", "align": "left"},
    {"name": "state", "label": "State", "field": "state", "align": "left"},
]
_STATE_CELL = """
<q-td :props="props">
  <q-badge :label="props.value" :color="props.row.colour" />
  <div v-if="props.row.error" class="text-negative">{{ props.row.error }}</div>
</q-td>"""
_REMOVE_CELL = """
<q-td :props="props">
  <q-btn v-if="props.row.origin === 'runtime'" dense flat icon="delete" color="negative"
    :aria-label="'Remove node source ' + props.row.name" @click="$parent.$emit('remove', props.row.name)">
    <q-tooltip>Remove: its nodes leave, their tasks run again elsewhere</q-tooltip></q-btn>
</q-td>"""


class NodeSourcesTable:
    """The table, filled by ``show``; ``changed`` is awaited after an admin added or removed a source."""

    def __init__(self, session: Session, changed: Callable[[], Awaitable[None]]) -> None:
        self.session = session
        self.changed = changed
        columns = COLUMNS + ([{"name": "actions", "label": "", "field": "name"}] if session.admin else [])
        with ui.row().classes("w-full items-center"):
            ui.label("Node sources").classes("text-lg")
            if session.admin:
                ui.button("Add a node source", icon="add", on_click=self.ask).props("flat")
        self.table = ui.table(columns=columns, rows=[], row_key="name").classes("w-full")
        self.table.props('aria-label="Node sources"')
        self.table.add_slot("body-cell-state", _STATE_CELL)
        if session.admin:
            self.table.add_slot("body-cell-actions", _REMOVE_CELL)
            self.table.on("remove", lambda e: self.remove(e.args))

    async def show(self) -> None:
        listed = await call(self.session.client.list_node_sources())
        self.table.rows = [_row(source) for source in listed]
        self.table.update()

    async def remove(self, name: str) -> None:
        if not await confirm(
            f"Remove node source {name}?", "Remove", why="Its nodes leave; their tasks run again."
        ):
            return
        try:
            await call(self.session.client.remove_node_source(name))
        except Refused:
            return
        ui.notify(f"Node source {name} removed")
        await self.changed()

    def ask(self) -> None:
        with ui.dialog() as dialog, labelled(ui.card(), "Add a node source"):
            ui.label("Add a node source").classes("text-lg")
            name = ui.input("Name").props('autofocus aria-label="Name"')
            kind = ui.select(list(TYPES), value="local", label="Type").props('aria-label="Type"')
            nodes = ui.number("Nodes", value=1, min=1, precision=0).props('aria-label="Nodes"')
            nodes.bind_visibility_from(kind, "value", value="local")
            scheduler = ui.input("Scheduler (tcp://HOST:PORT)").props('aria-label="Scheduler"')
            scheduler.bind_visibility_from(kind, "value", value="dask")
            more = ui.input("More options (a JSON object)").props('aria-label="More options"')
            problem = ui.label().classes("text-negative")  # why the server refused, the dialog staying open

            async def add() -> None:
                try:
                    options: dict[str, Any] = json.loads(more.value) if more.value.strip() else {}
                except ValueError as error:
                    problem.set_text(f"More options: not JSON: {error}")
                    return
                if not isinstance(options, dict):
                    problem.set_text("More options: expected a JSON object")
                    return
                if kind.value == "local":
                    options["nodes"] = int(nodes.value or 0)
                elif kind.value == "dask" and scheduler.value.strip():
                    options["scheduler"] = scheduler.value.strip()
                request = self.session.client.add_node_source(name.value.strip(), kind.value, options)
                try:
                    await call(request, quiet=True)
                except Refused as refused:
                    problem.set_text(refused.text)
                    return
                dialog.close()
                ui.notify(f"Node source {name.value.strip()} added")
                await self.changed()

            with ui.row():
                ui.button("Add", on_click=add)
                ui.button("Cancel", on_click=dialog.close).props("flat")
        dialog.open()


def _row(source: NodeSource) -> dict[str, Any]:
    states = ", ".join(f"{count} {state}" for state, count in sorted(source["states"].items()))
    summary = f"{source['nodes']}" + (f" ({states})" if states else "")
    return {**source, "summary": summary, "colour": STATE_COLOURS.get(source["state"], "grey")}

"""``/resources``: the node sources and their nodes, live from node events; admins lock nodes, edit tokens,
add and remove node sources."""

from __future__ import annotations

from collections.abc import Awaitable
from contextlib import suppress
from typing import Any

from nicegui import ui

from runyard.client.documents import Node, StreamEvent
from runyard.web.calls import Refused, call
from runyard.web.layout import page
from runyard.web.live import RESET, SUBSCRIBED, follow
from runyard.web.node_sources import NodeSourcesTable
from runyard.web.sessions import Session

COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Node", "field": "name", "sortable": True, "align": "left"},
    {"name": "source", "label": "Source", "field": "source", "sortable": True, "align": "left"},
    {"name": "host", "label": "Host", "field": "host", "align": "left"},
    {"name": "state", "label": "State", "field": "state", "sortable": True, "align": "left"},
    {"name": "node_state", "label": "ProActive state", "field": "node_state", "align": "left"},
    {"name": "task", "label": "Running", "field": "task", "align": "left"},
    {"name": "tokens", "label": "Tokens", "field": "tokens", "align": "left"},
    {"name": "locked_by", "label": "Locked by", "field": "locked_by", "align": "left"},
]
_STATE_CELL = """
<q-td :props="props">
  <q-badge :color="{free:'positive',busy:'primary',locked:'warning',down:'negative'}[props.value]"
    :label="props.value" />
</q-td>"""
_TASK_CELL = """
<q-td :props="props"><a v-if="props.row.job_id" :href="'/jobs/' + props.row.job_id" class="text-primary">
  job {{ props.row.job_id }} · {{ props.row.task }}</a></q-td>"""
_TOKENS_CELL = """
<q-td :props="props"><q-chip v-for="token in props.value" :key="token" dense :label="token"
  :removable="props.row.editable" @remove="$parent.$emit('remove_token', {node: props.row.name, token})"
  :aria-label="'token ' + token + ' of ' + props.row.name" /></q-td>"""
_ACTIONS_CELL = """
<q-td :props="props">
  <q-btn v-if="!props.row.locked" dense flat icon="lock" :aria-label="'Lock ' + props.row.name"
    @click="$parent.$emit('lock', props.row.name)">
    <q-tooltip>Lock: no new task starts on it</q-tooltip>
  </q-btn>
  <q-btn v-else dense flat icon="lock_open" :aria-label="'Unlock ' + props.row.name"
    @click="$parent.$emit('unlock', props.row.name)"><q-tooltip>Unlock</q-tooltip></q-btn>
  <q-btn dense flat icon="sell" :aria-label="'Add a token to ' + props.row.name"
    @click="$parent.$emit('add_token', props.row.name)"><q-tooltip>Add a token</q-tooltip></q-btn>
</q-td>"""


@page("/resources", "Resources")
async def resources(session: Session) -> None:
    ui.label(
        "Each node runs one task at a time. A locked node finishes its task and takes no other; a node with "
        "tokens takes only tasks asking for one of them (generic information NODE_ACCESS_TOKEN)."
    ).classes("text-gray-600")
    sources = NodeSourcesTable(session, changed=lambda: reload())
    columns = COLUMNS + ([{"name": "actions", "label": "", "field": "name"}] if session.admin else [])
    table = ui.table(columns=columns, rows=[], row_key="name").classes("w-full").props('aria-label="Nodes"')
    table.add_slot("body-cell-state", _STATE_CELL)
    table.add_slot("body-cell-task", _TASK_CELL)
    table.add_slot("body-cell-tokens", _TOKENS_CELL)
    if session.admin:
        table.add_slot("body-cell-actions", _ACTIONS_CELL)

    def row(node: Node) -> dict[str, Any]:
        return {**node, "editable": session.admin}

    async def reload() -> None:
        nodes = await call(session.client.list_nodes())
        table.rows = [row(node) for node in nodes]
        table.update()
        await sources.show()

    def changed(node: Node) -> None:
        if any(r["name"] == node["name"] for r in table.rows):
            table.rows = [row(node) if r["name"] == node["name"] else r for r in table.rows]
        else:  # a node of a source added since
            table.rows = [*table.rows, row(node)]
        table.update()

    async def on_event(event: StreamEvent) -> None:
        if event["kind"] in (SUBSCRIBED, RESET):
            await reload()
        elif event["kind"] == "node":
            changed(event["info"])
            await sources.show()

    async def act(request: Awaitable[Node]) -> None:
        with suppress(Refused):  # the person has been told
            changed(await call(request))

    table.on("lock", lambda e: act(session.client.lock_node(e.args)))
    table.on("unlock", lambda e: act(session.client.unlock_node(e.args)))
    table.on("remove_token", lambda e: remove_token(e.args["node"], e.args["token"]))
    table.on("add_token", lambda e: ask_token(e.args))

    async def remove_token(node: str, token: str) -> None:
        try:
            await call(session.client.remove_node_token(node, token))
        except Refused:
            return
        ui.notify(f"Token {token} removed from {node}")

    def ask_token(node: str) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(f"Add a token to {node}").classes("text-lg")
            token = ui.input("Token").props('autofocus aria-label="Token"')

            async def add() -> None:
                try:
                    changed(await call(session.client.add_node_token(node, token.value.strip()), quiet=True))
                except Refused as refused:
                    token.error = refused.text  # beside the field; the dialog stays open
                    return
                dialog.close()

            token.on("keydown.enter", add)
            with ui.row():
                ui.button("Add", on_click=add)
                ui.button("Cancel", on_click=dialog.close).props("flat")
        dialog.open()

    follow(session, on_event)

"""``/credentials``: the person's third-party credentials, by name (values go in, never come back out):
add, replace, delete."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from runyard.web.calls import Refused, call
from runyard.web.confirm import confirm
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.sessions import Session

COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Name", "field": "name", "sortable": True, "align": "left"},
    {"name": "actions", "label": "", "field": "name"},
]
_ACTIONS_CELL = """
<q-td :props="props">
  <q-btn dense flat no-caps icon="edit" label="Replace" :aria-label="'Replace ' + props.value"
    @click="$parent.$emit('replace', props.value)" />
  <q-btn dense flat no-caps icon="delete" label="Delete" color="negative"
    :aria-label="'Delete ' + props.value" @click="$parent.$emit('delete', props.value)" />
</q-td>"""


@page("/credentials", "Credentials")
async def credentials(session: Session) -> None:
    ui.label(
        "Secrets your tasks use without writing them in a workflow: a task reads credentials['NAME'] "
        "(bash: $credentials_NAME). Values are stored encrypted and never shown again, here or by the API."
    ).classes("text-gray-600")
    with ui.card().classes("w-full max-w-3xl"), ui.row().classes("items-start gap-2 w-full flex-wrap"):
        name = ui.input("Name", placeholder="e.g. AWS_KEY").props('aria-label="Name"').classes("w-64")
        value = _secret_input("Value")

        async def add() -> None:
            wanted = name.value.strip()
            if wanted in {row["name"] for row in table.rows} and not await confirm(
                f"Replace the value of {wanted}?", "Replace", why="The old value is lost."
            ):
                return
            if await _put(session, wanted, value, name):
                name.set_value("")
                await reload()

        value.on("keydown.enter", add)
        ui.button("Add", icon="add", on_click=add).classes("mt-2")
    table = ui.table(columns=COLUMNS, rows=[], row_key="name").classes("w-full max-w-3xl")
    table.props('aria-label="Credentials" no-data-label="No credential yet."')
    table.add_slot("body-cell-actions", _ACTIONS_CELL)

    async def reload() -> None:
        try:
            names = await call(session.client.list_credentials())
        except Refused:
            return
        table.rows = [{"name": n} for n in sorted(names)]
        table.update()

    async def delete(credential: str) -> None:
        if not await confirm(f"Delete credential {credential}?", "Delete", why="Tasks using it will fail."):
            return
        try:
            await call(session.client.delete_credential(credential))
        except Refused:
            return
        ui.notify(f"Credential {credential} deleted")
        await reload()

    table.on("replace", lambda e: _replace(session, e.args))
    table.on("delete", lambda e: delete(e.args))
    await reload()


def _secret_input(label: str) -> ui.input:
    return labelled(ui.input(label, password=True), label).props("autocomplete=new-password").classes("w-64")


async def _put(session: Session, name: str, value: ui.input, field: ui.input) -> bool:
    """Send the value and forget it (the field is emptied either way); a refusal beside ``field``."""
    secret = value.value
    value.set_value("")
    field.error = None
    try:
        created = await call(session.client.put_credential(name, secret), quiet=True)
    except Refused as refused:
        field.error = refused.text
        return False
    ui.notify(f"Credential {name} {'added' if created else 'replaced'}")
    return True


def _replace(session: Session, name: str) -> None:
    with ui.dialog() as dialog, ui.card().classes("w-96"):
        ui.label(f"Replace the value of {name}").classes("text-lg break-all")
        value = _secret_input("New value")

        async def replace() -> None:
            if await _put(session, name, value, value):
                dialog.close()

        value.on("keydown.enter", replace)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Replace", on_click=replace)
    dialog.open()

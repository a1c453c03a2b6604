"""``/catalog?name=&kind=``: the buckets the person may read, searched; a new bucket."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from runyard.client.documents import Bucket
from runyard.web.calls import Refused, call
from runyard.web.layout import page
from runyard.web.pages.catalog.rights import BUILTIN_OWNER
from runyard.web.sessions import Session
from runyard.web.times import moment

COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Bucket", "field": "name", "sortable": True, "align": "left"},
    {"name": "owner", "label": "Owner", "field": "owner", "sortable": True, "align": "left"},
    {"name": "visibility", "label": "Visibility", "field": "visibility", "sortable": True, "align": "left"},
    {"name": "object_count", "label": "Objects", "field": "object_count", "sortable": True},
    {"name": "created", "label": "Created", "field": "created", "sortable": True, "align": "left"},
]
_NAME_CELL = """
<q-td :props="props"><a :href="'/catalog/' + props.value" class="text-primary">{{ props.value }}</a></q-td>"""


@page("/catalog", "Catalog")
async def buckets(session: Session, name: str = "", kind: str = "") -> None:
    ui.label(
        "Buckets hold workflows, scripts and other objects; each change of an object is a new revision. "
        "Public buckets are readable by everyone, changed by their owner and admins only."
    ).classes("text-gray-600")
    with ui.row().classes("items-end gap-2 w-full flex-wrap"):
        search = ui.input("Search buckets", value=name, placeholder="name, * for any").props(
            'clearable aria-label="Search buckets"'
        )
        holding = ui.input("Holding kind", value=kind, placeholder="Workflow, Script/task…").props(
            'clearable aria-label="Holding kind"'
        )

        def apply() -> None:
            query = {k: v for k, v in {"name": search.value or "", "kind": holding.value or ""}.items() if v}
            ui.navigate.to("/catalog" + (f"?{urlencode(query)}" if query else ""))

        for field in (search, holding):
            field.on("keydown.enter", apply)
        ui.button("Search", icon="search", on_click=apply)
        ui.space()
        ui.button("New bucket", icon="add", on_click=lambda: _new_bucket(session))
    try:
        found = await call(session.client.list_buckets(name=_pattern(name), kind=kind or None))
    except Refused as refused:
        ui.label(f"The buckets could not be listed: {refused.text}").classes("text-negative")
        return
    table = ui.table(columns=COLUMNS, rows=[_row(b) for b in found], row_key="name", pagination=50)
    table.classes("w-full").props('aria-label="Buckets" no-data-label="No bucket matches."')
    table.add_slot("body-cell-name", _NAME_CELL)


def _pattern(name: str) -> str | None:
    """A search matches anywhere in the name unless it says where with ``*``."""
    if not name:
        return None
    return name if "*" in name else f"*{name}*"


def _row(bucket: Bucket) -> dict[str, Any]:
    visibility = (
        "built-in" if bucket["owner"] == BUILTIN_OWNER else "public" if bucket["public"] else "private"
    )
    return {**bucket, "visibility": visibility, "created": moment(bucket["created_at"])}


def _new_bucket(session: Session) -> None:
    with ui.dialog() as dialog, ui.card().classes("w-96"):
        ui.label("New bucket").classes("text-lg")
        name = ui.input("Bucket name", placeholder="letters, digits, . _ -").props(
            'autofocus aria-label="Bucket name"'
        )
        public = ui.switch("Public (readable by every user)").props('aria-label="Public"')

        async def create() -> None:
            try:
                made = await call(
                    session.client.create_bucket(name.value.strip(), public=public.value), quiet=True
                )
            except Refused as refused:
                name.error = refused.text  # beside the field; the dialog stays open
                return
            dialog.close()
            ui.navigate.to(f"/catalog/{made['name']}")

        name.on("keydown.enter", create)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Create", on_click=create)
    dialog.open()

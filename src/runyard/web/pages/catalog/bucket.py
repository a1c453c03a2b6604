"""``/catalog/{bucket}?name=&kind=&tag=&project=&offset=``: a bucket's objects (their latest revisions),
searched and paged; upload an object; delete the bucket."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from runyard.client.documents import Bucket, Revision
from runyard.web.calls import Refused, call
from runyard.web.confirm import confirm
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.pages.catalog.rights import read_only_notice, writable
from runyard.web.pages.catalog.upload import upload_dialog
from runyard.web.sessions import Session
from runyard.web.times import moment

PAGE = 100
COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Object", "field": "name", "sortable": True, "align": "left"},
    {"name": "kind", "label": "Kind", "field": "kind", "sortable": True, "align": "left"},
    {"name": "project_name", "label": "Project", "field": "project_name", "sortable": True, "align": "left"},
    {"name": "tags", "label": "Tags", "field": "tags", "align": "left"},
    {"name": "revision", "label": "Revision", "field": "revision", "sortable": True},
    {"name": "commit_message", "label": "Last commit", "field": "commit_message", "align": "left"},
    {"name": "author", "label": "Author", "field": "author", "sortable": True, "align": "left"},
    {"name": "committed", "label": "Committed", "field": "committed", "sortable": True, "align": "left"},
]
_NAME_CELL = """
<q-td :props="props"><a :href="'/catalog/' + props.row.bucket + '/' + props.value" class="text-primary">
  {{ props.value }}</a></q-td>"""
_TAGS_CELL = """
<q-td :props="props"><q-chip v-for="tag in props.value" :key="tag" dense :label="tag" /></q-td>"""
#: The filters of the objects' listing, as query parameters of the page and of the API.
FILTERS = (("name", "Search objects"), ("kind", "Kind"), ("tag", "Tag"), ("project", "Project"))


@page("/catalog/{bucket}", "Catalog")
async def bucket_page(
    session: Session,
    bucket: str,
    name: str = "",
    kind: str = "",
    tag: str = "",
    project: str = "",
    offset: int = 0,
) -> None:
    breadcrumbs(bucket)
    try:
        found = await call(session.client.get_bucket(bucket), quiet=True)
    except Refused as refused:
        ui.label(f"Bucket {bucket}: {refused.text}").classes("text-negative").props('role="alert"')
        ui.link("All buckets", "/catalog")
        return
    given = {"name": name, "kind": kind, "tag": tag, "project": project}
    _about(session, found)
    with ui.row().classes("items-end gap-2 w-full flex-wrap"):
        fields = {
            key: labelled(ui.input(label, value=given[key]), label).props("clearable")
            for key, label in FILTERS
        }

        def apply() -> None:
            ui.navigate.to(_url(bucket, {key: field.value or "" for key, field in fields.items()}))

        for field in fields.values():
            field.on("keydown.enter", apply)
        ui.button("Search", icon="search", on_click=apply)
        ui.space()
        if writable(session, found):
            ui.button("Upload object", icon="upload", on_click=lambda: _upload(session, bucket))
            ui.button(
                "Delete bucket", icon="delete", color="negative", on_click=lambda: _delete(session, found)
            )
    try:
        listed = await call(
            session.client.list_objects(
                bucket,
                name=(name if "*" in name else f"*{name}*") if name else None,
                kind=kind or None,
                tag=tag or None,
                project=project or None,
                limit=PAGE,
                offset=offset,
            )
        )
    except Refused as refused:
        ui.label(f"The objects could not be listed: {refused.text}").classes("text-negative")
        return
    table = ui.table(columns=COLUMNS, rows=[_row(r) for r in listed["objects"]], row_key="name", pagination=0)
    table.classes("w-full").props('aria-label="Objects" no-data-label="No object matches." hide-bottom')
    table.add_slot("body-cell-name", _NAME_CELL)
    table.add_slot("body-cell-tags", _TAGS_CELL)
    _pager(bucket, given, offset, listed["total"])


def breadcrumbs(bucket: str, name: str | None = None) -> None:
    """Catalog / bucket [/ name], each but the last a link."""
    with ui.row().classes("items-center gap-1 text-gray-600"):
        ui.link("Catalog", "/catalog")
        ui.label("/")
        if name is None:
            ui.label(bucket).classes("font-medium")
            return
        ui.link(bucket, f"/catalog/{bucket}")
        ui.label("/")
        ui.label(name).classes("font-medium")


def _about(session: Session, bucket: Bucket) -> None:
    visibility = "public" if bucket["public"] else "private"
    ui.label(f"Owner {bucket['owner']} · {visibility} · {bucket['object_count']} objects").classes(
        "text-gray-600"
    )
    read_only_notice(session, bucket)


def _row(revision: Revision) -> dict[str, Any]:
    return {**revision, "metadata": None, "committed": moment(revision["commit_time"])}


def _url(bucket: str, query: dict[str, Any]) -> str:
    given = {key: value for key, value in query.items() if value}
    return f"/catalog/{bucket}" + (f"?{urlencode(given)}" if given else "")


def _pager(bucket: str, given: dict[str, str], offset: int, total: int) -> None:
    if total <= PAGE and offset == 0:
        return
    with ui.row().classes("items-center gap-2"):
        ui.label(f"{offset + 1} to {min(offset + PAGE, total)} of {total}")
        previous = ui.button(
            "Previous",
            on_click=lambda: ui.navigate.to(_url(bucket, {**given, "offset": max(offset - PAGE, 0)})),
        )
        previous.set_enabled(offset > 0)
        following = ui.button(
            "Next", on_click=lambda: ui.navigate.to(_url(bucket, {**given, "offset": offset + PAGE}))
        )
        following.set_enabled(offset + PAGE < total)


async def _upload(session: Session, bucket: str) -> None:
    pushed = await upload_dialog(session, bucket)
    if pushed is not None:
        ui.navigate.to(f"/catalog/{bucket}/{pushed['name']}")


async def _delete(session: Session, bucket: Bucket) -> None:
    count = bucket["object_count"]
    detail = (
        f"It holds {count} object(s): they are deleted with it, with all their revisions." if count else ""
    )
    if not await confirm(f"Delete bucket {bucket['name']}?", "Delete", why=detail):
        return
    try:
        await call(session.client.delete_bucket(bucket["name"], force=count > 0))
    except Refused:
        return
    ui.notify(f"Bucket {bucket['name']} deleted")
    ui.navigate.to("/catalog")

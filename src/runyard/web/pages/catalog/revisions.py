"""``/catalog/{bucket}/{name}?revision=N&compare=M``: an object's revisions with their commit messages and
authors; revision N raw and highlighted, or compared side by side with revision M; restore an old
revision (a new one, history is never rewritten); upload the next revision."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from runyard.client.documents import Bucket, Revision
from runyard.web.calls import Refused, call
from runyard.web.code import code_view
from runyard.web.diff import diff_view
from runyard.web.layout import page
from runyard.web.pages.catalog.bucket import breadcrumbs
from runyard.web.pages.catalog.rights import read_only_notice, writable
from runyard.web.pages.catalog.upload import upload_dialog
from runyard.web.sessions import Session
from runyard.web.times import moment

#: The largest content shown in the raw view (bigger ones are cut, and the page says so).
MAX_SHOWN = 1024 * 1024
COLUMNS: list[dict[str, Any]] = [
    {"name": "revision", "label": "Revision", "field": "revision", "align": "left"},
    {"name": "committed", "label": "Committed", "field": "committed", "align": "left"},
    {"name": "author", "label": "Author", "field": "author", "align": "left"},
    {"name": "commit_message", "label": "Commit message", "field": "commit_message", "align": "left"},
    {"name": "actions", "label": "", "field": "revision"},
]
_ACTIONS_CELL = """
<q-td :props="props">
  <q-btn dense flat no-caps icon="visibility" :label="props.row.shown ? 'Shown' : 'View'"
    :disable="props.row.shown" :href="props.row.view" :aria-label="'View revision ' + props.value" />
  <q-btn v-if="!props.row.shown" dense flat no-caps icon="compare" label="Compare"
    :href="props.row.compare" :aria-label="'Compare with revision ' + props.value" />
  <q-btn v-if="props.row.restorable" dense flat no-caps icon="restore" label="Restore"
    @click="$parent.$emit('restore', props.value)" :aria-label="'Restore revision ' + props.value" />
</q-td>"""


@page("/catalog/{bucket}/{name}", "Catalog")
async def object_page(
    session: Session, bucket: str, name: str, revision: int | None = None, compare: int | None = None
) -> None:
    breadcrumbs(bucket, name)
    try:
        found = await call(session.client.get_bucket(bucket), quiet=True)
        revisions = await call(session.client.list_revisions(bucket, name), quiet=True)
    except Refused as refused:
        ui.label(f"{bucket}/{name}: {refused.text}").classes("text-negative").props('role="alert"')
        ui.link("All buckets", "/catalog")
        return
    latest = revisions[0]
    shown = next((r for r in revisions if r["revision"] == revision), latest)
    if revision is not None and shown["revision"] != revision:
        ui.notify(f"There is no revision {revision}: the latest is shown.", type="warning")
    comparing = compare is not None and compare != shown["revision"]
    _about(latest)
    read_only_notice(session, found)
    can_write = writable(session, found)
    _controls(session, found, shown, revisions, compare, can_write)
    # a diff takes the whole width, the revisions below it; raw content leaves room beside it for them
    layout = "flex-col" if comparing else "flex-wrap lg:flex-nowrap"
    with ui.row().classes(f"w-full gap-4 items-start {layout}"):
        with ui.column().classes("flex-1 w-full min-w-0 gap-2"):
            if comparing and compare is not None:
                await _compare(session, bucket, name, compare, shown["revision"])
            else:
                await _raw(session, shown)
        with ui.column().classes("w-full gap-2" + ("" if comparing else " lg:w-[34rem]")):
            ui.label("Revisions").classes("text-lg font-medium")
            _revisions(session, found, revisions, shown, can_write)


def _about(latest: Revision) -> None:
    facts = [latest["kind"], latest["content_type"], f"project {latest['project_name'] or '—'}"]
    ui.label(" · ".join(facts)).classes("text-gray-600")
    if latest["tags"]:
        with ui.row().classes("gap-1"):
            for tag in latest["tags"]:
                ui.chip(tag).props("dense")


def _url(revision: Revision, compare: int | None = None) -> str:
    query: dict[str, int] = {"revision": revision["revision"]}
    if compare is not None:
        query["compare"] = compare
    return f"/catalog/{revision['bucket']}/{revision['name']}?{urlencode(query)}"


def _controls(
    session: Session,
    bucket: Bucket,
    shown: Revision,
    revisions: list[Revision],
    compare: int | None,
    can_write: bool,
) -> None:
    numbers = {
        r["revision"]: f"{r['revision']} · {r['commit_message'] or 'no message'}"[:80] for r in revisions
    }
    with ui.row().classes("items-end gap-2 w-full flex-wrap"):
        ui.select(
            numbers,
            label="Revision",
            value=shown["revision"],
            on_change=lambda e: ui.navigate.to(_url({**shown, "revision": e.value}, compare)),
        ).props('aria-label="Revision"').classes("w-64")
        ui.select(
            {0: "—", **numbers},
            label="Compare with",
            value=compare or 0,
            on_change=lambda e: ui.navigate.to(_url(shown, e.value or None)),
        ).props('aria-label="Compare with"').classes("w-64")
        ui.space()
        if can_write:
            if shown["revision"] != revisions[0]["revision"]:
                ui.button(
                    f"Restore revision {shown['revision']}",
                    icon="restore",
                    on_click=lambda: _restore(session, shown["bucket"], shown["name"], shown["revision"]),
                )
            ui.button(
                "Upload revision",
                icon="upload",
                on_click=lambda: _upload(session, bucket["name"], shown["name"]),
            )


async def _raw(session: Session, shown: Revision) -> None:
    ui.label(f"Revision {shown['revision']} — {shown['content_type']}").classes("font-medium")
    spinner = ui.spinner()
    try:
        content = await call(session.client.pull_object(shown["bucket"], shown["name"], shown["revision"]))
    except Refused as refused:
        ui.label(f"The content could not be read: {refused.text}").classes("text-negative")
        return
    finally:
        spinner.delete()
    try:
        text = content[:MAX_SHOWN].decode("utf-8")
    except UnicodeDecodeError:
        ui.label(f"Binary content ({len(content)} bytes): not shown.").classes("text-gray-600")
        return
    if len(content) > MAX_SHOWN:
        ui.label(f"The first {MAX_SHOWN} of {len(content)} bytes are shown.").classes("text-gray-600")
    code_view(text, content_type=shown["content_type"], name=shown["name"])


async def _compare(session: Session, bucket: str, name: str, left: int, right: int) -> None:
    spinner = ui.spinner()
    try:
        diff = await call(session.client.diff_revisions(bucket, name, left, right))
    except Refused as refused:
        ui.label(f"The revisions could not be compared: {refused.text}").classes("text-negative")
        return
    finally:
        spinner.delete()
    diff_view(diff, left_title=f"Revision {left}", right_title=f"Revision {right}")


def _revisions(
    session: Session, bucket: Bucket, revisions: list[Revision], shown: Revision, can_write: bool
) -> None:
    latest = revisions[0]["revision"]
    rows = [
        {
            "revision": r["revision"],
            "committed": moment(r["commit_time"]),
            "author": r["author"],
            "commit_message": r["commit_message"],
            "shown": r["revision"] == shown["revision"],
            "restorable": can_write and r["revision"] != latest,
            "view": _url(r),
            "compare": _url(shown, r["revision"]),
        }
        for r in revisions
    ]
    table = ui.table(columns=COLUMNS, rows=rows, row_key="revision", pagination=20).classes("w-full")
    table.props('aria-label="Revisions" wrap-cells')
    table.add_slot("body-cell-actions", _ACTIONS_CELL)
    table.on("restore", lambda e: _restore(session, bucket["name"], shown["name"], e.args))


async def _restore(session: Session, bucket: str, name: str, revision: int) -> None:
    try:
        restored = await call(session.client.restore_revision(bucket, name, revision))
    except Refused:
        return
    ui.notify(f"Revision {revision} restored as revision {restored['revision']}")
    ui.navigate.to(_url(restored))


async def _upload(session: Session, bucket: str, name: str) -> None:
    pushed = await upload_dialog(session, bucket, name)
    if pushed is not None:
        ui.notify(f"Revision {pushed['revision']} committed")
        ui.navigate.to(_url(pushed))

"""``/workflows``: Workflow Execution: pick a workflow from the catalog or a file, fill in its variables,
submit it, then follow the job on its page.

The URL holds the choice (``?open=BUCKET/NAME`` opens that workflow's form) and the filters (``q``: in
the name, ``bucket``, ``service=true``: workflows of services only, as seed 001 §1.3: those with the
generic information ``pca.service.id``). An uploaded file lives as long as the page (nothing stored).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any
from urllib.parse import urlencode

from nicegui import events, ui

from runyard.client.documents import CheckedSubmission, Problem, Revision, WorkflowMetadata
from runyard.web.calls import Refused, call
from runyard.web.layout import page
from runyard.web.sessions import Session
from runyard.web.variables_form import VariablesForm

#: The generic information making a workflow a service's (seed 001 §1.3: "Service Workflows Only").
SERVICE_GI = "pca.service.id"
#: The largest workflow file the page takes.
MAX_UPLOAD = 5_000_000
#: How many workflows one bucket lists at most (the catalog's page).
PER_BUCKET = 1000
COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Workflow", "field": "name", "sortable": True, "align": "left"},
    {"name": "bucket", "label": "Bucket", "field": "bucket", "sortable": True, "align": "left"},
    {"name": "project", "label": "Project", "field": "project", "sortable": True, "align": "left"},
    {"name": "variables", "label": "Variables", "field": "variables", "align": "right"},
    {"name": "service", "label": "Service", "field": "service", "align": "left"},
]


@page("/workflows", "Workflow Execution")
async def workflows(
    session: Session, q: str = "", bucket: str = "", service: bool = False, open: str = ""
) -> None:
    ui.label(
        "Choose a workflow from the catalog (or upload a ProActive XML or runyard YAML file), fill in its "
        "variables and submit it: the job's page then shows it running."
    ).classes("text-gray-600")
    filters: dict[str, Any] = {"q": q, "bucket": bucket, "service": service}
    with ui.row().classes("w-full items-start gap-4 flex-wrap lg:flex-nowrap"):
        with ui.column().classes("w-full lg:w-1/2 gap-2"):
            with ui.row().classes("w-full items-center gap-2 flex-wrap"):
                search = ui.input("Search workflows", value=q).props(
                    'clearable debounce=300 aria-label="Search workflows"'
                )
                buckets = ui.select({"": "All buckets"}, label="Bucket", value="").classes("min-w-40")
                buckets.props["aria-label"] = "Bucket"
                services = ui.switch("Service Workflows Only", value=service)
            ui.upload(
                label="Upload a workflow file",
                auto_upload=True,
                max_file_size=MAX_UPLOAD,
                on_upload=lambda e: open_file(e),
                on_rejected=lambda: ui.notify(
                    f"A workflow file is at most {MAX_UPLOAD // 1_000_000} MB", type="negative"
                ),
            ).props('accept=".xml,.yaml,.yml" flat bordered aria-label="Upload a workflow file"').classes(
                "w-full"
            )
            table = ui.table(columns=COLUMNS, rows=[], row_key="key", pagination=15).classes("w-full")
            table.props('aria-label="Workflows" flat bordered dense')
            table.add_slot("body-cell-name", _NAME_CELL)
        panel = ui.column().classes("w-full lg:w-1/2 gap-2")

    with suppress(Refused):
        known = {b["name"] for b in await call(session.client.list_buckets(kind="workflow"))}
        buckets.set_options(
            {"": "All buckets", **{n: n for n in sorted(known | {bucket} - {""})}}, value=bucket
        )

    async def load_catalog() -> None:
        table.props("loading")
        try:
            chosen = [filters["bucket"]] if filters["bucket"] else [n for n in buckets.options if n]
            listed = await _workflows(session, chosen, filters["q"])
        except Refused:
            return
        finally:
            table.props(remove="loading")
        table.rows = [_row(r) for r in listed if not filters["service"] or _is_service(r["metadata"])]
        table.update()

    def remember() -> None:
        """Keep the filters and the open workflow in the URL (bookmarkable, back button)."""
        query = {k: v for k, v in {**filters, "service": "true" if filters["service"] else ""}.items() if v}
        if opened:
            query["open"] = opened
        ui.navigate.history.replace(f"/workflows?{urlencode(query)}" if query else "/workflows")

    async def refilter(key: str, value: Any) -> None:
        if filters[key] == value:
            return
        filters[key] = value
        remember()
        await load_catalog()

    search.on_value_change(lambda e: refilter("q", e.value or ""))
    buckets.on_value_change(lambda e: refilter("bucket", e.value or ""))
    services.on_value_change(lambda e: refilter("service", bool(e.value)))
    opened = ""

    async def open_catalog(source: str) -> None:
        nonlocal opened
        opened = source
        remember()
        bucket, _, name = source.partition("/")
        await _open(
            session,
            panel,
            source,
            lambda values: session.client.validate_catalog_submission(bucket, name, values),
            lambda values: session.client.submit_from_catalog(bucket, name, values),
        )

    async def open_file(upload: events.UploadEventArguments) -> None:
        nonlocal opened
        opened = ""
        remember()
        if upload.file.size() > MAX_UPLOAD:  # the browser checks it; a hostile one may not
            ui.notify(f"A workflow file is at most {MAX_UPLOAD // 1_000_000} MB", type="negative")
            return
        try:
            text = await upload.file.text()
        except UnicodeDecodeError:
            ui.notify(f"{upload.file.name} is not a text file", type="negative")
            return
        # The SDK reads a one-line string without '<' as a path: never let an upload name a server file.
        text = text if text.endswith("\n") else text + "\n"
        await _open(
            session,
            panel,
            upload.file.name,
            lambda values: session.client.validate_submission(text, values),
            lambda values: session.client.submit(text, values),
        )

    table.on("open", lambda e: open_catalog(str(e.args)))
    await load_catalog()
    if "/" in open:
        await open_catalog(open)
    else:
        with panel:
            ui.label("Choose a workflow to see its variables.").classes("text-gray-600")


_NAME_CELL = """
<q-td :props="props">
  <q-btn flat dense no-caps color="primary" :label="props.value" :aria-label="'Open ' + props.row.key"
    @click="$parent.$emit('open', props.row.key)" />
</q-td>"""


async def _workflows(session: Session, names: list[str], search: str) -> list[Revision]:
    """The workflows of the buckets ``names`` whose name holds ``search``."""
    pattern = f"*{search.strip()}*" if search.strip() else None
    pages = await asyncio.gather(
        *(
            call(session.client.list_objects(n, kind="workflow", name=pattern, limit=PER_BUCKET))
            for n in names
        )
    )
    return [revision for listed in pages for revision in listed["objects"]]


def _is_service(metadata: WorkflowMetadata | None) -> bool:
    return metadata is not None and SERVICE_GI in metadata["generic_information"]


def _row(revision: Revision) -> dict[str, Any]:
    metadata = revision["metadata"]
    return {
        "key": f"{revision['bucket']}/{revision['name']}",
        "bucket": revision["bucket"],
        "name": revision["name"],
        "project": revision["project_name"] or "",
        "variables": len([v for v in metadata["variables"] if not v["hidden"]]) if metadata else 0,
        "service": metadata["generic_information"].get(SERVICE_GI, "") if metadata else "",
    }


Values = dict[str, str]


async def _open(
    session: Session,
    panel: ui.column,
    source: str,
    validate: Callable[[Values], Awaitable[CheckedSubmission]],
    submit: Callable[[Values], Awaitable[int]],
) -> None:
    """Show the form of the workflow ``validate`` reads (its metadata comes with the check), then submit
    what the person entered: a refusal's problems go beside their fields, the job's page follows."""
    panel.clear()
    with panel:
        ui.spinner()
    try:
        checked = await call(validate({}), quiet=True)
    except Refused as refused:
        panel.clear()
        with panel:
            ui.label(f"{source}: {refused.text}").classes("text-negative").props('role="alert"')
        return
    panel.clear()
    with panel, ui.card().classes("w-full"):
        workflow = checked["workflow"]
        ui.label(workflow["name"] if workflow else source).classes("text-xl font-medium")
        ui.label(source).classes("text-xs text-gray-600")
        elsewhere = ui.column().classes("gap-0 text-negative").props('role="alert" aria-label="Problems"')
        if workflow is None:
            _list_problems(elsewhere, [_described(p) for p in checked["problems"]])
            return
        if workflow["description"]:
            ui.label(workflow["description"]).classes("text-gray-700 whitespace-pre-line")
        form = VariablesForm(session, workflow["variables"])

        async def check() -> None:
            with suppress(Refused):
                answer = await call(validate(form.values()))
                _list_problems(elsewhere, [_described(p) for p in form.place(answer["problems"])])
                if answer["valid"]:
                    ui.notify("The values are valid.", type="positive")

        async def send() -> None:
            button.props("loading")
            elsewhere.clear()
            try:
                job_id = await call(submit(form.values()), quiet=True)
            except Refused as refused:
                if not form.show_problems(refused):
                    _list_problems(elsewhere, [refused.text])
                return
            finally:
                button.props(remove="loading")
            ui.navigate.to(f"/jobs/{job_id}")

        with ui.row().classes("gap-2"):
            button = ui.button("Submit", icon="play_arrow", on_click=send)
            ui.button("Check values", icon="rule", on_click=check).props("flat")


def _list_problems(area: ui.column, problems: list[str]) -> None:
    area.clear()
    with area:
        for problem in problems:
            ui.label(problem)


def _described(problem: Problem) -> str:
    """A problem no field shows, with where it is."""
    where = [f"task {problem['task']}" if problem["task"] else "", problem["field"] or ""]
    where.append(f"line {problem['line']}" if problem["line"] else "")
    located = ", ".join(w for w in where if w)
    return f"{problem['message']} ({located})" if located else problem["message"]

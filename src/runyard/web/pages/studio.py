"""``/studio``: open a workflow (a file, a catalog revision, a job's), see its graph, edit it in forms or as
YAML/XML side by side, checked live by the API (``POST /workflows/validate``); save it to the catalog
or submit it.

The text is the truth: a form's edit changes the draft (the mapping form), which the API writes back as
text; an edit of the text is read by the API into the draft, which redraws the graph and the forms.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any, Literal
from urllib.parse import urlencode

from nicegui import events, ui
from nicegui.elements.codemirror.constants import SUPPORTED_LANGUAGES

from runyard.client import ApiError
from runyard.client.documents import CheckedWorkflow, Problem
from runyard.web import drafts
from runyard.web.calls import Refused, call
from runyard.web.debounce import Debounced
from runyard.web.drafts import Draft
from runyard.web.flow_graph import Edge, FlowGraph
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.pairs_form import pairs_form
from runyard.web.sessions import Session
from runyard.web.task_form import TaskForm

#: What a new workflow starts as.
STARTER = """name: My_Workflow
variables:
  GREETING: hello
tasks:
  Start:
    script:
      cpython: |
        print(variables.get("GREETING"))
"""
TASK_TEMPLATES = "Workflow/task"
Format = Literal["yaml", "xml"]
#: The largest file opened (a workflow of a few thousand tasks).
MAX_FILE = 5_000_000
_PROBLEM_LINE = "studio-problem-line"
_TEXT_LANGUAGES: dict[Format, SUPPORTED_LANGUAGES] = {"yaml": "YAML", "xml": "XML"}


@page("/studio", "Studio")
async def studio(
    session: Session,
    bucket: str | None = None,
    name: str | None = None,
    revision: int | None = None,
    job: int | None = None,
) -> None:
    ui.add_css(f".{_PROBLEM_LINE} {{ background: #fee2e2; }}")
    text, origin = await _open(session, bucket, name, revision, job)
    Studio(session, text, origin, bucket, name)


async def _open(
    session: Session, bucket: str | None, name: str | None, revision: int | None, job: int | None
) -> tuple[str, str]:
    """The text the URL asks for and where it is from; a new workflow when the URL asks for none or for
    one not to be had (the refusal is told)."""
    with suppress(Refused):
        if job is not None:
            return await call(session.client.get_job_workflow(job)), f"the workflow of job {job}"
        if bucket and name:
            content = await call(session.client.pull_object(bucket, name, revision))
            which = f"revision {revision}" if revision else "latest revision"
            return content.decode("utf-8", "replace"), f"catalog: {bucket}/{name}, {which}"
    return STARTER, "a new workflow"


class Studio:
    """The page's parts and the draft they show."""

    def __init__(
        self, session: Session, text: str, origin: str, bucket: str | None, name: str | None
    ) -> None:
        self.session = session
        self.bucket, self.name = bucket, name
        self.text = text
        self.format: Format = _format_of(text)
        self.draft: Draft | None = None
        self.checked: CheckedWorkflow | None = None
        self.selected: str | None = None
        self.opened: set[str] = set()
        self._checks = 0
        self._check_typed = Debounced(lambda: self._check(self.text))
        self._toolbar()
        self.origin = ui.label(f"Editing {origin}").classes("text-gray-600 text-sm")
        self.status = ui.column().classes("w-full gap-1")
        with ui.row().classes("w-full gap-3 items-start flex-wrap lg:flex-nowrap"):
            with ui.column().classes("flex-1 min-w-[320px] gap-2"):
                self.graph = FlowGraph(self._select)
                with ui.tabs().classes("w-full") as tabs:
                    task_tab = ui.tab("Task")
                    workflow_tab = ui.tab("Workflow")
                    palette_tab = ui.tab("Task templates")
                with ui.tab_panels(tabs, value=task_tab).classes("w-full"):
                    with ui.tab_panel(task_tab):
                        self.task_form = ui.column().classes("w-full gap-2")
                    with ui.tab_panel(workflow_tab):
                        self.workflow_form = ui.column().classes("w-full gap-2")
                    with ui.tab_panel(palette_tab):
                        self.palette = ui.column().classes("w-full gap-1")
            with ui.column().classes("flex-1 min-w-[320px] gap-1"):
                self.format_toggle = ui.toggle(
                    {"yaml": "YAML", "xml": "XML"}, value=self.format, on_change=self._convert
                ).props('dense aria-label="Format"')
                self.editor = ui.codemirror(
                    text,
                    language=_TEXT_LANGUAGES[_format_of(text)],
                    on_change=self._typed,
                    line_wrapping=True,
                )
                self.editor.classes("w-full border rounded h-[560px]").props('aria-label="Workflow text"')
        ui.timer(0, self._first_check, once=True)

    async def _first_check(self) -> None:
        await self._check(self.text)
        await self._fill_palette()

    # -- the toolbar: open, save, submit -------------------------------------------------------------

    def _toolbar(self) -> None:
        with ui.row().classes("w-full items-center gap-2 flex-wrap"):
            ui.button("New", icon="note_add", on_click=lambda: ui.navigate.to("/studio")).props("outline")
            ui.button("Open a file", icon="upload_file", on_click=self._ask_file).props("outline")
            ui.button("From the catalog", icon="inventory_2", on_click=self._ask_catalog).props("outline")
            ui.button("From a job", icon="work_history", on_click=self._ask_job).props("outline")
            ui.space()
            self.verdict = ui.label("Checking…").classes("font-medium").props('role="status"')
            self.save_button = ui.button("Save to the catalog", icon="save", on_click=self._ask_save)
            self.submit_button = ui.button("Submit", icon="play_arrow", on_click=self._submit)
            self.submit_button.props("color=positive")

    def _ask_file(self) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label("Open a workflow file (ProActive XML or runyard YAML)").classes("text-lg")

            async def uploaded(event: events.UploadEventArguments) -> None:
                if event.file.size() > MAX_FILE:  # the browser checks it; a hostile one may not
                    ui.notify(f"Files up to {MAX_FILE // 1_000_000} MB", type="negative")
                    return
                try:
                    text = await event.file.text(encoding="utf-8")
                except UnicodeDecodeError:
                    ui.notify(f"{event.file.name} is not UTF-8 text", type="negative")
                    return
                dialog.close()
                self.bucket = self.name = None
                self.origin.text = f"Editing the file {event.file.name}"
                self._show_text(text)
                await self._check(text)

            upload = ui.upload(
                label="Workflow file", auto_upload=True, max_file_size=MAX_FILE, on_upload=uploaded
            ).on("rejected", lambda: ui.notify(f"Files up to {MAX_FILE // 1_000_000} MB", type="negative"))
            upload.props('accept=".xml,.yaml,.yml" aria-label="Workflow file"')
            ui.button("Cancel", on_click=dialog.close).props("flat")
        dialog.open()

    def _ask_catalog(self) -> None:
        client = self.session.client
        with ui.dialog() as dialog, ui.card().classes("min-w-[360px]"):
            ui.label("Open a workflow of the catalog").classes("text-lg")
            bucket = ui.select([], label="Bucket", with_input=True).props('aria-label="Bucket"')
            name = ui.select([], label="Workflow", with_input=True).props('aria-label="Workflow"')
            revision = ui.select({}, label="Revision").props('aria-label="Revision"')
            for select in (bucket, name, revision):
                select.classes("w-full")

            async def buckets() -> None:
                with suppress(Refused):
                    bucket.set_options([b["name"] for b in await call(client.list_buckets(kind="Workflow"))])

            async def objects() -> None:
                name.set_options([])
                with suppress(Refused):
                    listed = await call(client.list_objects(bucket.value, kind="Workflow"))
                    name.set_options([o["name"] for o in listed["objects"]])

            async def revisions() -> None:
                with suppress(Refused):
                    found = await call(client.list_revisions(bucket.value, name.value))
                    revision.set_options(
                        {r["revision"]: f"{r['revision']} · {r['commit_message']}" for r in found}
                    )
                    revision.value = found[0]["revision"] if found else None

            bucket.on_value_change(objects)
            name.on_value_change(revisions)

            def go() -> None:
                if bucket.value and name.value:
                    query = {"bucket": bucket.value, "name": name.value, "revision": revision.value or ""}
                    ui.navigate.to(f"/studio?{urlencode({k: v for k, v in query.items() if v != ''})}")

            with ui.row():
                ui.button("Open", on_click=go)
                ui.button("Cancel", on_click=dialog.close).props("flat")
        dialog.open()
        ui.timer(0, buckets, once=True)

    def _ask_job(self) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label("Open the workflow of a job").classes("text-lg")
            job = ui.number("Job id", min=1, precision=0).props('autofocus aria-label="Job id"')

            def go() -> None:
                if job.value:
                    ui.navigate.to(f"/studio?job={int(job.value)}")

            with ui.row():
                ui.button("Open", on_click=go)
                ui.button("Cancel", on_click=dialog.close).props("flat")
        dialog.open()

    async def _ask_save(self) -> None:
        if not self._ready("saved"):
            return
        with ui.dialog() as dialog, ui.card().classes("min-w-[360px]"):
            ui.label("Save to the catalog as a new revision").classes("text-lg")
            known = [self.bucket] if self.bucket else []
            bucket = ui.select(known, value=self.bucket, label="Bucket", with_input=True)
            bucket.props('aria-label="Bucket"').classes("w-full")
            default = self.name or str((self.draft or {}).get("name", ""))
            name = ui.input("Name", value=default).props('aria-label="Name"').classes("w-full")
            message = ui.input("Commit message").props('aria-label="Commit message"').classes("w-full")

            async def save() -> None:
                try:
                    saved = await self._push(bucket.value, name.value.strip(), message.value)
                except Refused as refused:
                    message.error = refused.text  # beside the form; the dialog stays open
                    return
                dialog.close()
                where = f"{saved['bucket']}/{saved['name']}"
                ui.notify(f"Saved {where} revision {saved['revision']}", type="positive")
                query = {"bucket": saved["bucket"], "name": saved["name"], "revision": saved["revision"]}
                ui.navigate.to(f"/studio?{urlencode(query)}")

            with ui.row():
                ui.button("Save", on_click=save)
                ui.button("Cancel", on_click=dialog.close).props("flat")
        dialog.open()
        with suppress(Refused):
            listed = await call(self.session.client.list_buckets())
            mine = [b["name"] for b in listed if self.session.admin or b["owner"] == self.session.user]
            bucket.set_options(mine, value=self.bucket if self.bucket in mine else None)

    async def _push(self, bucket: str | None, name: str, message: str) -> Any:
        """The text as the next revision of ``bucket/name`` (a new object is a ``Workflow/standard``)."""
        client = self.session.client
        if not bucket:
            raise Refused(ApiError(400, "invalid_request", "choose a bucket"))
        try:
            await call(client.get_object(bucket, name), quiet=True)
            kind = None
        except Refused as refused:
            if not (isinstance(refused.error, ApiError) and refused.error.status == 404):
                raise
            kind = "Workflow/standard"
        content_type = f"application/{self.format}"
        request = client.push_object(
            bucket, name, self.text, kind=kind, commit_message=message, content_type=content_type
        )
        return await call(request, quiet=True)

    async def _submit(self) -> None:
        if not self._ready("submitted"):
            return
        text = self.text if "\n" in self.text else self.text + "\n"  # one line would be taken for a path
        self.submit_button.props("loading")
        try:
            job_id = await call(self.session.client.submit(text))
        except Refused:
            return
        finally:
            self.submit_button.props(remove="loading")
        ui.navigate.to(f"/jobs/{job_id}")

    def _ready(self, verb: str) -> bool:
        if self.checked is not None and self.checked["valid"] and self.checked["text"] == self.text:
            return True
        ui.notify(f"Fix the problems first: nothing was {verb}.", type="warning")
        return False

    # -- checking: the text and the draft kept in step ------------------------------------------------

    def _typed(self, event: events.ValueChangeEventArguments[str]) -> None:
        if event.value != self.text:  # else written by the page itself
            self.text = event.value
            self._checks += 1  # an answer on its way is about an older text: it must not come back
            self.verdict.text = "Checking…"
            self._check_typed()

    async def _check(
        self, workflow: str | Draft, format: Format | None = None, *, forms: bool = True
    ) -> None:
        """Have the API check ``workflow`` (text or draft) and show the answer, unless a later one was asked.

        A text read gives the draft; a draft sent stays (the forms hold it), its forms redrawn if ``forms``.
        """
        self._checks += 1
        number = self._checks
        self.verdict.text = "Checking…"
        try:
            answer = await call(self.session.client.validate_workflow(workflow, format=format))
        except Refused:
            self.verdict.text = "Not checked"
            return
        if number != self._checks:
            return
        self.checked = answer
        if answer["text"] and answer["text"] != self.text:  # no text: a draft the API could not read
            self._show_text(answer["text"])
        self.format = _format_of(self.text)
        self.format_toggle.set_value(self.format)
        self._show_problems(answer["problems"])
        if answer["workflow"] is not None and isinstance(workflow, str):
            self.draft = answer["workflow"]
        self._redraw(forms=forms or isinstance(workflow, str))

    def _show_text(self, text: str) -> None:
        self.text = text
        self.editor.set_language(_TEXT_LANGUAGES[_format_of(text)])
        self.editor.value = text

    async def _convert(self, event: events.ValueChangeEventArguments[Format]) -> None:
        if event.value != self.format:
            await self._check(self.draft if self.draft is not None else self.text, event.value, forms=False)

    async def _changed(self, *, forms: bool = True) -> None:
        """A form changed the draft: the API writes it as text (in the current format) and checks it;
        ``forms`` redraws the forms too (when what they offer changed: tasks, control-flow fields)."""
        if self.draft is not None:
            await self._check(self.draft, self.format, forms=forms)

    def _show_problems(self, problems: list[Problem]) -> None:
        count = len(problems)
        self.verdict.text = "Valid" if not count else f"{count} problem{'' if count == 1 else 's'}"
        self.verdict.classes(replace="font-medium " + ("text-negative" if count else "text-positive"))
        for button in (self.save_button, self.submit_button):
            button.set_enabled(not count)
        self.status.clear()
        with self.status:
            for problem in problems:
                ui.label(_problem_text(problem)).classes("text-negative text-sm").props('role="alert"')
        lines = {p["line"]: p["message"] for p in problems if p["line"] is not None}
        self.editor.line_tooltips = lines
        self.editor.decorations = [{"kind": "line", "line": line, "class": _PROBLEM_LINE} for line in lines]

    # -- the graph and the forms --------------------------------------------------------------------

    def _redraw(self, *, forms: bool = True) -> None:
        draft = self.draft or {}
        names = list(drafts.tasks(draft)) if isinstance(draft.get("tasks"), dict) else []
        if self.selected not in names:
            self.selected = names[0] if names else None
        self.graph.draw(names, _edges(draft), selected=self.selected)
        if forms:
            self._task_form()
            self._workflow_form()

    def _select(self, name: str) -> None:
        self.selected = name
        self._redraw()

    def _task_form(self) -> None:
        self.task_form.clear()
        draft = self.draft or {}
        with self.task_form:
            blocked = drafts.blocker(draft)
            if blocked:
                ui.label(blocked).classes("text-warning")
                return
            names = list(drafts.tasks(draft))
            with ui.row().classes("w-full items-center gap-2"):
                chosen = ui.select(
                    names, value=self.selected, label="Task", on_change=lambda e: self._select(e.value)
                )
                chosen.props('aria-label="Task"').classes("w-48")
                ui.button("Add a task", icon="add", on_click=self._add_blank).props("outline dense")
                if self.selected is not None:
                    ui.button("Delete task", icon="delete", on_click=self._delete).props(
                        "flat dense color=negative"
                    )
            if self.selected is not None:
                TaskForm(self, self.selected, names)

    def _workflow_form(self) -> None:
        self.workflow_form.clear()
        draft = self.draft
        if draft is None:
            return
        with self.workflow_form:
            blocked = drafts.blocker(draft)
            if blocked:
                ui.label(blocked).classes("text-warning")
                return
            title = ui.input("Workflow name", value=str(draft.get("name", "")))
            title.props('aria-label="Workflow name"').classes("w-full")
            renamed = Debounced(lambda: self.edit(lambda: draft.update(name=title.value)))
            title.on_value_change(lambda _: renamed())
            ui.label("Job variables").classes("font-medium")
            pairs_form(
                drafts.variables(draft),
                "variable",
                lambda p: self.edit(lambda: drafts.set_variables(draft, p)),
            )

    async def edit(self, change: Callable[[], Any], *, forms: bool = False) -> None:
        change()
        await self._changed(forms=forms)

    async def _add_blank(self) -> None:
        if self.draft is not None:
            body: Draft = {"script": {"cpython": "print('hello')"}}
            if self.selected is not None:
                body["depends"] = [self.selected]
            self.selected = drafts.add_task(self.draft, "Task", body)
            await self._changed()

    async def _delete(self) -> None:
        if self.draft is not None and self.selected is not None:
            drafts.remove_task(self.draft, self.selected)
            self.selected = None
            await self._changed()

    async def _fill_palette(self) -> None:
        """The catalog's task templates (one-task workflows of kind ``Workflow/task``), each added as a
        reference to it (``from:``), depending on the selected task."""
        with self.palette:
            ui.label(
                "Tasks of the catalog's libraries (machine-learning, data-visualization…): “add” puts one "
                "after the selected task, as a reference (from: bucket/name) whose fields you may override."
            ).classes("text-gray-600 text-sm")
            search = ui.input("Search task templates").props(
                'clearable dense aria-label="Search task templates"'
            )
            listing = ui.column().classes("w-full gap-0 max-h-96 overflow-auto")
        client = self.session.client
        try:
            found = []
            for bucket in await call(client.list_buckets(kind=TASK_TEMPLATES)):
                listed = await call(client.list_objects(bucket["name"], kind=TASK_TEMPLATES))
                found += [(bucket["name"], o["name"]) for o in listed["objects"]]
        except Refused:
            return

        def show() -> None:
            listing.clear()
            words = (search.value or "").lower()
            with listing:
                for bucket, name in found:
                    if words in f"{bucket}/{name}".lower():
                        with ui.row().classes("w-full items-center gap-2 no-wrap"):
                            add = ui.button(
                                icon="add", on_click=lambda b=bucket, n=name: self._add_template(b, n)
                            )
                            labelled(add, f"Add {bucket}/{name}").props("flat dense round")
                            ui.label(f"{bucket}/{name}").classes("text-sm")

        search.on_value_change(show)
        show()

    async def _add_template(self, bucket: str, name: str) -> None:
        if self.draft is None or drafts.blocker(self.draft):
            ui.notify("The workflow must be readable to add a task: fix the text first.", type="warning")
            return
        body: Draft = {"from": f"{bucket}/{name}"}
        if self.selected is not None:
            body["depends"] = [self.selected]
        self.selected = drafts.add_task(self.draft, name, body)
        ui.notify(f"Added {self.selected} from {bucket}/{name}")
        await self._changed()


def _edges(draft: Draft) -> list[Edge]:
    """Dependencies (``replicate`` after a task replicating what follows it), then the control flow's
    links (``if``/``else``/``continuation``, ``loop``)."""
    tasks = draft.get("tasks", {})
    if not isinstance(tasks, dict):
        return []
    replicating = {name for name, body in tasks.items() if "replicate" in body.get("flow", {})}
    edges = [
        Edge(str(d), name, "replicate" if d in replicating else "dependency")
        for name, body in tasks.items()
        for d in body.get("depends", [])
    ]
    for name, body in tasks.items():
        for kind, action in body.get("flow", {}).items():
            if isinstance(action, dict):
                links = [(key, action.get(key)) for key in ("target", "else", "continuation")]
                edges += [Edge(name, str(to), kind if key == "target" else key) for key, to in links if to]
    return edges


def _format_of(text: str) -> Format:
    return "xml" if text.lstrip().startswith("<") else "yaml"


def _problem_text(problem: Problem) -> str:
    where = [f"line {problem['line']}"] if problem["line"] is not None else []
    where += [f"task '{problem['task']}'"] if problem["task"] else []
    where += [problem["field"]] if problem["field"] else []
    return f"{', '.join(where)}: {problem['message']}" if where else problem["message"]

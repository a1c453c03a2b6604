"""The "New run" form of an App Engine task, built from its inputs' types: number fields for integer and
number (their bounds as a hint), a select for enumeration, a switch for boolean, text for string,
datetime and geometry, a file for file and image, JSON text for arrays.

Starting a run creates it, provisions each input given and asks it to run. What the API refuses is
shown beside its field with the App Engine's own message (Cytomine's); the run made meanwhile is kept
and provisioned again at the next try, so a correction costs no new run.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nicegui import events, ui

from runyard.client import ApiError
from runyard.client.app_engine import input_value
from runyard.web.calls import Refused, call
from runyard.web.labels import labelled
from runyard.web.sessions import Session

#: The largest file an input takes from the portal (the API applies its own bound too).
MAX_INPUT_BYTES = 256 * 1024 * 1024
#: Shown as the hint of a type's constraints, in this order.
_CONSTRAINTS = (
    ("gt", ">"),
    ("geq", "≥"),
    ("lt", "<"),
    ("leq", "≤"),
    ("minLength", "length ≥"),
    ("maxLength", "length ≤"),
    ("after", "after"),
    ("before", "before"),
    ("minSize", "items ≥"),
    ("maxSize", "items ≤"),
)
_NOT_GIVEN = object()
#: The browser's sending failed: the server's body limit (``app_engine_max_upload_bytes``) is likely why.
UPLOAD_FAILED = (
    "The upload failed: the server refused the file (larger than its app_engine_max_upload_bytes "
    "setting allows) or the connection dropped."
)

Started = Callable[[dict[str, Any]], Awaitable[None]]


def type_text(kind: dict[str, Any]) -> str:
    """``integer``, ``array of integer``, ``image (png, jpeg)``: a type as a person reads it."""
    if kind["id"] == "array":
        return f"array of {type_text(kind['subType'])}" if kind.get("subType") else "array"
    if kind.get("formats"):
        return f"{kind['id']} ({', '.join(map(str, kind['formats']))})"
    return str(kind["id"])


def constraints_text(kind: dict[str, Any]) -> str:
    """``≥ 0, ≤ 300``; enumeration values; an array's item constraints after its own."""
    parts = [f"{sign} {kind[key]}" for key, sign in _CONSTRAINTS if kind.get(key) is not None]
    if kind["id"] == "enumeration":
        parts.append("one of " + ", ".join(map(str, kind.get("values", []))))
    if kind["id"] == "array" and kind.get("subType"):
        inner = constraints_text(kind["subType"])
        if inner:
            parts.append(f"each item {inner}")
    return ", ".join(parts)


@dataclass
class _Field:
    name: str
    kind: str
    optional: bool
    widget: Any
    error: ui.label
    file: Path | None = field(default=None)

    def value(self) -> Any:
        """The JSON value (or file) to provision; ``_NOT_GIVEN`` when left empty; ValueError if unreadable."""
        if self.kind in ("file", "image"):
            return self.file if self.file is not None else _NOT_GIVEN
        raw = self.widget.value
        if self.kind == "boolean":
            return bool(raw)
        if raw is None or (isinstance(raw, str) and not raw.strip() and self.kind != "string"):
            return _NOT_GIVEN
        if self.kind == "string" and raw == "" and self.optional:
            return _NOT_GIVEN
        if self.kind == "integer" and isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if self.kind == "array":
            return input_value("array", raw)
        return raw


class RunForm:
    """The form of ``inputs`` (the task's TaskInputs) in the current container."""

    def __init__(
        self, session: Session, namespace: str, version: str, inputs: list[dict[str, Any]], started: Started
    ) -> None:
        self.session = session
        self.namespace = namespace
        self.version = version
        self.started = started
        self.draft: str | None = None
        """A run made by an earlier try that was refused (CREATED or PROVISIONED): provisioned again."""
        self.files = tempfile.TemporaryDirectory(prefix="runyard-portal-")
        """The files chosen for file and image inputs; removed by :meth:`close` (the owner calls it)."""
        self.fields: list[_Field] = []
        with labelled(ui.card(), "New run").classes("w-full gap-2"):
            ui.label("New run").classes("font-medium")
            if not inputs:
                ui.label("This task takes no input.").classes("text-gray-600 text-sm")
            for spec in inputs:
                self.fields.append(self._field(spec))
            with ui.row().classes("items-center gap-3"):
                self.button = ui.button("Start run", icon="play_arrow", on_click=self.start)
                self.note = ui.label().classes("text-gray-600 text-sm")

    def close(self) -> None:
        self.files.cleanup()

    def _field(self, spec: dict[str, Any]) -> _Field:
        name, kind = spec["name"], spec["type"]
        type_id = kind["id"]
        label = f"{spec.get('display_name') or name} ({name})" + ("" if spec["optional"] else " *")
        hint = " · ".join(
            part for part in (type_text(kind), constraints_text(kind), spec.get("description") or "") if part
        )
        default = _default(type_id, spec.get("default"))
        with ui.column().classes("w-full gap-0"):
            widget: Any
            made: _Field | None = None  # the upload's handlers read it when called: set below by then
            if type_id in ("integer", "number"):
                widget = ui.number(label, value=default if isinstance(default, int | float) else None)
                widget.props("step=1" if type_id == "integer" else "step=any")
            elif type_id == "enumeration":
                options = [str(v) for v in kind.get("values", [])]
                widget = ui.select(options, label=label, value=default if default in options else None)
                widget.props("clearable" if spec["optional"] else "")
            elif type_id == "boolean":
                widget = ui.switch(label, value=default is True)
            elif type_id in ("file", "image"):
                ui.label(label).classes("text-sm")
                widget = ui.upload(
                    auto_upload=True,
                    max_file_size=MAX_INPUT_BYTES,
                    on_upload=lambda e: self._received(made, e),
                    on_rejected=lambda: _too_large(made),
                ).props("flat bordered")
                widget.on("failed", lambda: _failed(made))
            elif type_id in ("geometry", "array"):
                placeholder = (
                    "[1, 2, 3]" if type_id == "array" else '{"type": "Point", "coordinates": [0, 0]}'
                )
                widget = ui.textarea(label, value=default or "", placeholder=placeholder).props("autogrow")
            else:
                placeholder = "2026-01-31T12:00:00Z" if type_id == "datetime" else ""
                widget = ui.input(label, value=default or "", placeholder=placeholder)
            widget.classes("w-full")
            labelled(widget, f"Value of {name}")
            ui.label(hint).classes("text-gray-600 text-xs")
            error = labelled(ui.label().classes("text-negative text-sm"), f"Error of {name}")
            error.props('role="alert"')
        made = _Field(name, type_id, bool(spec["optional"]), widget, error)
        return made

    async def _received(self, target: _Field | None, event: events.UploadEventArguments) -> None:
        if target is None:
            return
        if event.file.size() > MAX_INPUT_BYTES:  # the browser checks it; a hostile one may not
            _too_large(target)
            return
        path = Path(self.files.name) / f"input-{self.fields.index(target)}"  # no name from the browser
        path.unlink(missing_ok=True)
        await event.file.save(path)
        target.file = path
        target.error.set_text("")

    async def start(self) -> None:
        given: list[tuple[_Field, Any]] = []
        for entry in self.fields:
            entry.error.set_text("")
            try:
                value = entry.value()
            except ValueError as error:
                entry.error.set_text(str(error))
                continue
            if value is _NOT_GIVEN:
                if not entry.optional:
                    entry.error.set_text("A value is needed.")
                continue
            given.append((entry, value))
        if any(entry.error.text for entry in self.fields):
            return
        self.button.props("loading")
        try:
            await self._run(given)
        finally:
            self.button.props(remove="loading")

    async def _run(self, given: list[tuple[_Field, Any]]) -> None:
        client = self.session.client
        if self.draft is None:
            try:
                self.draft = (await call(client.create_app_run(self.namespace, self.version)))["id"]
            except Refused:
                return
        run_id = self.draft
        refused = False
        for entry, value in given:
            try:
                await call(client.provision_app_run(run_id, entry.name, value), quiet=True)
            except Refused as error:
                refused = True
                entry.error.set_text(error.text)
                if _run_gone(error):  # deleted meanwhile: the next try makes a new run
                    self.draft = None
        if refused:
            self.note.set_text("Not started: correct the fields said, then start again.")
            return
        try:
            run = await call(client.start_app_run(run_id))
        except Refused as error:
            self.note.set_text(f"Not started: {error.text}")
            return
        self.draft = None
        self.note.set_text("")
        await self.started(run)


def _run_gone(error: Refused) -> bool:
    return isinstance(error.error, ApiError) and error.error.error == "APPE-internal-run-not-found-error"


def _failed(target: _Field | None) -> None:
    if target is not None:
        target.error.set_text(UPLOAD_FAILED)
        target.file = None
        target.widget.reset()  # another file may be chosen


def _too_large(target: _Field | None) -> None:
    if target is not None:
        target.file = None
        target.error.set_text(f"The file is too large: at most {MAX_INPUT_BYTES // (1024 * 1024)} MB.")


def _default(type_id: str, text: Any) -> Any:
    """An input's default as its field takes it (TaskInput gives a string, ``"null"`` for none)."""
    if text is None or text == "null":
        return None
    if type_id in ("integer", "number", "boolean"):
        try:
            return json.loads(str(text))
        except ValueError:
            return None
    return str(text)

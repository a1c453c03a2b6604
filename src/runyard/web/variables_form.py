"""The variables form of a workflow: one field per variable, its widget chosen by the variable's model.

``PA:Boolean`` is a switch, ``PA:List(a,b)`` a select, the numbers a number input within the model's
range, ``PA:Hidden`` a password input, ``PA:Credential`` a picker of the person's third-party
credentials, ``PA:DateTime(format)`` a text input with a date picker, ``PA:Catalog_Object`` a picker of
catalog objects, any other model a text input. Groups are sections, advanced variables wait behind the
"Advanced" switch, hidden ones are not shown. Models are read with the platform's own parser
(:func:`runyard.model.variable_models.parse_model`, a pure function of the text).

The form judges nothing itself: the API does (a submission refused, or ``POST /jobs/validate``), and
:meth:`VariablesForm.place` puts each problem naming a variable beside its field. Names, values and
descriptions are the workflow author's text: they go into props and labels as text, never as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from itertools import groupby
from typing import cast

from nicegui import background_tasks, ui
from nicegui.elements.mixins.validation_element import ValidationElement
from nicegui.elements.mixins.value_element import ValueElement

from runyard.client.documents import Problem, VariableMetadata
from runyard.errors import VariableValueError
from runyard.model.variable_models import (
    INTEGRAL_RANGES,
    ModelKind,
    VariableModel,
    field_variable,
    parse_model,
)
from runyard.web.calls import Refused, call
from runyard.web.sessions import Session

#: How many catalog objects a catalog picker offers at most.
CATALOG_CHOICES = 500
_TRUE = frozenset({"true", "1"})


@dataclass
class _Field:
    """One variable's field: how to read it as the API's string and where its problem goes."""

    element: ui.element
    read: Callable[[], str]
    row: ui.element
    error_label: ui.label | None
    advanced: bool

    def show_error(self, message: str | None) -> None:
        if isinstance(self.element, ValidationElement):
            self.element.error = message
        elif self.error_label is not None:
            self.error_label.set_text(message or "")
            self.error_label.set_visibility(message is not None)


class VariablesForm:
    """The form of ``variables`` (the workflow's job variables), filled with ``values`` where given,
    rendered into the current NiceGUI context."""

    def __init__(
        self, session: Session, variables: Sequence[VariableMetadata], values: Mapping[str, str] | None = None
    ) -> None:
        self._session = session
        self._fields: dict[str, _Field] = {}
        shown = [v for v in variables if not v["hidden"]]
        with ui.column().classes("w-full gap-1"):
            if not shown:
                ui.label("This workflow has no variable to fill in.").classes("text-gray-600")
            self._advanced = ui.switch("Advanced", on_change=lambda _: self._show_advanced())
            self._advanced.props["aria-label"] = "Show advanced variables"
            self._advanced.set_visibility(any(v["advanced"] for v in shown))
            ordered = sorted(shown, key=lambda v: v["group"] or "")  # ungrouped first, each group together
            for group, members in groupby(ordered, key=lambda v: v["group"] or ""):
                with ui.column().classes("w-full gap-1"):
                    if group:
                        ui.label(group).classes("text-lg font-medium mt-2").props(
                            'role="heading" aria-level="2"'
                        )
                    for variable in members:
                        value = (values or {}).get(variable["name"], variable["value"])
                        self._fields[variable["name"]] = self._field(variable, value)
        self._show_advanced()

    def values(self) -> dict[str, str]:
        """What the person entered, variable name → value as the API takes it."""
        return {name: field.read() for name, field in self._fields.items()}

    def show_problems(self, refused: Refused) -> bool:
        """Put the problems of a refused submission beside their fields; ``True`` if any was placed."""
        details = refused.details if isinstance(refused.details, list) else []
        problems = [cast(Problem, d) for d in details if isinstance(d, dict) and "message" in d]
        return len(self.place(problems)) < len(problems)

    def place(self, problems: Iterable[Problem]) -> list[Problem]:
        """Put each problem naming a variable of the form beside its field (the previous ones go); returns
        the others, for the caller to show."""
        self.clear_problems()
        placed: dict[str, list[str]] = {}
        left = []
        for problem in problems:
            name = field_variable(problem.get("field"))
            if name in self._fields:
                where = f" (task {problem['task']})" if problem.get("task") else ""
                placed.setdefault(name, []).append(problem["message"] + where)
            else:
                left.append(problem)
        for name, messages in placed.items():
            self._fields[name].show_error("; ".join(messages))
        if any(self._fields[name].advanced for name in placed):
            self._advanced.set_value(True)
        return left

    def clear_problems(self) -> None:
        for field in self._fields.values():
            field.show_error(None)

    def _show_advanced(self) -> None:
        for field in self._fields.values():
            if field.advanced:
                field.row.set_visibility(bool(self._advanced.value))

    def _field(self, variable: VariableMetadata, value: str) -> _Field:
        try:
            model = parse_model(variable["model"] or "")
        except VariableValueError:
            model = VariableModel(ModelKind.UNCHECKED)  # the API reports the malformed model
        with ui.column().classes("w-full gap-0") as row:
            build = _WIDGETS.get(model.kind, _text)
            element, read = build(self._session, variable, model, value)
            element.classes("w-full max-w-xl")
            element.props["aria-label"] = variable["name"]
            error_label = None
            if isinstance(element, ValidationElement):  # a field with its own help and error lines
                if variable["description"]:
                    element.props["hint"] = variable["description"]
            else:
                if variable["description"]:
                    ui.label(variable["description"]).classes("text-xs text-gray-600")
                error_label = ui.label().classes("text-xs text-negative").props('role="alert"')
                error_label.set_visibility(False)
        field = _Field(element, read, row, error_label, variable["advanced"])
        if isinstance(element, ValueElement):
            element.on_value_change(lambda _: field.show_error(None))  # the problem was about the old value
        return field


Widget = tuple[ui.element, Callable[[], str]]


def _text(session: Session, variable: VariableMetadata, model: VariableModel, value: str) -> Widget:
    field = ui.input(variable["name"], value=value)
    return field, lambda: str(field.value)


def _hidden(session: Session, variable: VariableMetadata, model: VariableModel, value: str) -> Widget:
    field = ui.input(variable["name"], value=value, password=True, password_toggle_button=True)
    field.props["autocomplete"] = "off"
    return field, lambda: str(field.value)


def _boolean(session: Session, variable: VariableMetadata, model: VariableModel, value: str) -> Widget:
    switch = ui.switch(variable["name"], value=value.strip().lower() in _TRUE)
    return switch, lambda: "true" if switch.value else "false"


def _list(session: Session, variable: VariableMetadata, model: VariableModel, value: str) -> Widget:
    choices = list(model.choices)
    if model.optional and "" not in choices:
        choices.insert(0, "")
    if value not in choices:
        choices.append(value)  # a default outside the list: shown, and the API will say so
    select = ui.select(choices, label=variable["name"], value=value)
    return select, lambda: str(select.value or "")


def _number(session: Session, variable: VariableMetadata, model: VariableModel, value: str) -> Widget:
    integral = model.kind in INTEGRAL_RANGES
    try:
        start = float(value) if value.strip() else None
    except ValueError:
        return _text(session, variable, model, value)  # such as ${OTHER}: kept as written
    if start is not None and not math.isfinite(start):
        return _text(session, variable, model, value)
    number = ui.number(variable["name"], value=start, step=1 if integral else None)
    if isinstance(model.minimum, int | float):
        number.min = float(model.minimum)
    if isinstance(model.maximum, int | float):
        number.max = float(model.maximum)

    def read() -> str:
        entered = number.value
        if entered is None:
            return ""
        return str(int(entered)) if integral else str(entered)

    return number, read


def _datetime(session: Session, variable: VariableMetadata, model: VariableModel, value: str) -> Widget:
    field = ui.input(variable["name"], value=value)
    mask = date_mask(model.arguments[0]) if model.arguments else None
    if mask is not None:
        with field.add_slot("append"):
            picker = ui.button(icon="edit_calendar").props("flat dense round")
            picker.props["aria-label"] = f"Pick a date for {variable['name']}"
            with picker, ui.menu():
                ui.date(mask=mask).bind_value(field)
    return field, lambda: str(field.value)


def _credential(session: Session, variable: VariableMetadata, model: VariableModel, value: str) -> Widget:
    select = _picker(variable, value)

    async def names() -> list[str]:
        return await call(session.client.list_credentials())

    _fill_later(select, names)
    return select, lambda: str(select.value or "")


def _catalog_object(session: Session, variable: VariableMetadata, model: VariableModel, value: str) -> Widget:
    select = _picker(variable, value)
    kind, content_type, bucket, name = [*model.arguments, "", "", "", ""][:4]

    async def objects() -> list[str]:
        buckets = (
            [bucket]
            if bucket
            else [b["name"] for b in await call(session.client.list_buckets(kind=kind or None))]
        )
        found: list[str] = []
        for each in buckets:
            listed = await call(
                session.client.list_objects(
                    each, kind=kind or None, content_type=content_type or None, name=name or None
                )
            )
            found += [f"{o['bucket']}/{o['name']}" for o in listed["objects"]]
            if len(found) >= CATALOG_CHOICES:
                break
        return found[:CATALOG_CHOICES]

    _fill_later(select, objects)
    return select, lambda: str(select.value or "")


def _picker(variable: VariableMetadata, value: str) -> ui.select:
    """A select offering choices loaded later, also taking a value typed in."""
    return ui.select([value] if value else [], label=variable["name"], value=value or None, with_input=True,
                     new_value_mode="add-unique")  # fmt: skip


def _fill_later(select: ui.select, choices: Callable[[], Awaitable[list[str]]]) -> None:
    async def fill() -> None:
        with suppress(Refused):  # the person has been told; the field still takes a typed value
            found = await choices()
            current = [select.value] if select.value and select.value not in found else []
            select.set_options(current + found, value=select.value)

    background_tasks.create(fill(), name="fill a variable's picker")


_WIDGETS: dict[ModelKind, Callable[[Session, VariableMetadata, VariableModel, str], Widget]] = {
    ModelKind.BOOLEAN: _boolean,
    ModelKind.LIST: _list,
    ModelKind.SHORT: _number,
    ModelKind.INTEGER: _number,
    ModelKind.LONG: _number,
    ModelKind.FLOAT: _number,
    ModelKind.DOUBLE: _number,
    ModelKind.HIDDEN: _hidden,
    ModelKind.CREDENTIAL: _credential,
    ModelKind.DATETIME: _datetime,
    ModelKind.CATALOG_OBJECT: _catalog_object,
}

#: Java SimpleDateFormat letters → Quasar date mask tokens (by count when they differ).
_MASK_LETTERS = {"y": "Y", "M": "M", "d": "D", "H": "H", "h": "h", "m": "m", "s": "s", "S": "S", "a": "A"}


def date_mask(java_format: str) -> str | None:
    """The Quasar date mask writing dates as ``java_format`` does, or ``None`` if it has letters
    a date picker cannot write (then the field is text only)."""
    out: list[str] = []
    pos = 0
    while pos < len(java_format):
        char = java_format[pos]
        if char == "'":
            end = java_format.find("'", pos + 1)
            if end < 0:
                return None
            out.append(f"[{java_format[pos + 1 : end]}]" if end > pos + 1 else "'")
            pos = end + 1
            continue
        count = 1
        while pos + count < len(java_format) and java_format[pos + count] == char:
            count += 1
        pos += count
        if char in _MASK_LETTERS:
            out.append(_MASK_LETTERS[char] * (1 if char == "a" else count))
        elif char.isascii() and char.isalpha():
            return None
        else:
            out.append(char * count)
    return "".join(out)

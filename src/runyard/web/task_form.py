"""The form of one task of a workflow being edited (the studio's): name, dependencies, language and
script, variables, generic information, control flow. Each change goes to the draft through its editor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from nicegui import ui
from nicegui.elements.codemirror.constants import SUPPORTED_LANGUAGES

from runyard.web import drafts
from runyard.web.debounce import Debounced
from runyard.web.drafts import Draft
from runyard.web.labels import labelled
from runyard.web.pairs_form import pairs_form

#: CodeMirror's name for the script languages offered.
EDITOR_LANGUAGES: dict[str, SUPPORTED_LANGUAGES] = {
    "cpython": "Python",
    "python": "Python",
    "bash": "Shell",
    "shell": "Shell",
    "groovy": "Groovy",
    "javascript": "JavaScript",
    "R": "R",
}


class DraftEditor(Protocol):
    """What holds the draft: a form changes it only through :meth:`edit`."""

    draft: Draft | None
    selected: str | None
    opened: set[str]
    """The sections of the form open (kept open when the form is drawn again)."""

    async def edit(self, change: Callable[[], Any], *, forms: bool = False) -> None:
        """Apply ``change`` to the draft and have it checked; ``forms``: what the forms offer changed."""


class TaskForm:
    """The selected task's fields; each change goes to the draft, then to the API."""

    def __init__(self, editor: DraftEditor, name: str, names: list[str]) -> None:
        self.editor, self.name = editor, name
        task = self.task
        title = ui.input("Task name", value=name).props('aria-label="Task name"').classes("w-full")
        title.on("blur", lambda: self._rename(title.value))
        title.on("keydown.enter", lambda: self._rename(title.value))
        if "from" in task:
            ui.label(
                f"From the catalog: {task['from']} (the fields set here override the template's)"
            ).classes("text-sm text-gray-600")
        others = [n for n in names if n != name]
        depends = ui.select(others, value=[d for d in task.get("depends", []) if d in others], multiple=True)
        depends.props('use-chips label="Depends on" aria-label="Depends on"').classes("w-full")
        depends.on_value_change(lambda e: editor.edit(lambda: drafts.set_depends(self.task, e.value)))
        self._script()
        with self._section("Variables"):
            pairs_form(drafts.variables(task), "variable", lambda p: self._edit(drafts.set_variables, p))
        with self._section("Generic information"):
            pairs_form(
                drafts.generic_information(task),
                "generic information",
                lambda p: self._edit(drafts.set_generic_information, p),
            )
        with self._section("Control flow"):
            self._flow(others)

    def _section(self, title: str) -> ui.expansion:
        opened = self.editor.opened
        section = ui.expansion(title, value=title in opened).classes("w-full")
        section.on_value_change(lambda e: opened.add(title) if e.value else opened.discard(title))
        return section

    @property
    def task(self) -> Draft:
        return drafts.tasks(self.editor.draft or {})[self.name]

    def _script(self) -> None:
        if drafts.script(self.task) is not None:
            self._code(lambda: self.task, "Script")
        elif "from" not in self.task:
            ui.label("This task's executable is not an inline script: edit it in the text.").classes(
                "text-sm"
            )

    def _code(self, holder: Callable[[], Draft], label: str) -> None:
        """A language and a code editor for the inline script of ``holder()`` (found anew at each change:
        the draft may have been read again from the text)."""
        found = drafts.script(holder())
        if found is None:
            return
        language, code = found
        options = list(dict.fromkeys([*drafts.LANGUAGES, language]))
        chosen = ui.select(options, value=language, label=f"{label} language")
        labelled(chosen, f"{label} language").classes("w-48")
        code_editor = ui.codemirror(code, language=EDITOR_LANGUAGES.get(language), line_wrapping=True)
        labelled(code_editor, label).classes("w-full h-48 border rounded")

        async def save() -> None:
            code_editor.set_language(EDITOR_LANGUAGES.get(chosen.value))
            await self.editor.edit(lambda: drafts.set_script(holder(), chosen.value, code_editor.value))

        chosen.on_value_change(save)
        typed = Debounced(save)
        code_editor.on_value_change(lambda _: typed())

    def _flow(self, others: list[str]) -> None:
        block, action, body = drafts.flow(self.task)
        blocks = {"none": "none", "start": "block start", "end": "block end"}
        with ui.row().classes("w-full gap-2"):
            block_select = ui.select(blocks, value=block, label="Block").props('aria-label="Block"')
            action_select = ui.select(list(drafts.FLOW_ACTIONS), value=action, label="Flow action")
            action_select.props('aria-label="Flow action"')
            for select in (block_select, action_select):
                select.classes("w-40")
        fields: dict[str, ui.select] = {}
        for key in {"if": ("target", "else", "continuation"), "loop": ("target",)}.get(action, ()):
            fields[key] = ui.select(["", *others, self.name], value=body.get(key, ""), label=f"Flow {key}")
            labelled(fields[key], f"Flow {key}").classes("w-48")

        async def save() -> None:
            same = action_select.value == action
            kept = {**(body if same else {}), **{key: select.value for key, select in fields.items()}}
            await self.editor.edit(
                lambda: drafts.set_flow(self.task, block_select.value, action_select.value, kept),
                forms=not same,  # another action: other target fields
            )

        for element in (block_select, action_select, *fields.values()):
            element.on_value_change(save)
        if action != "none":
            self._code(lambda: self.task["flow"][action], "Flow script")

    async def _rename(self, new: str) -> None:
        new, old = new.strip(), self.name
        if new and new != old and self.editor.draft is not None:
            draft = self.editor.draft
            self.name = self.editor.selected = new
            await self.editor.edit(lambda: drafts.rename_task(draft, old, new), forms=True)

    async def _edit(
        self, change: Callable[[Draft, list[tuple[str, str]]], None], pairs: list[tuple[str, str]]
    ) -> None:
        await self.editor.edit(lambda: change(self.task, pairs))

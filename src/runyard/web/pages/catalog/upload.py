"""Committing a file to the catalog: a new object, or the next revision of one, with a commit message."""

from __future__ import annotations

from nicegui import events, ui

from runyard.client.documents import Revision
from runyard.web.calls import Refused, call
from runyard.web.sessions import Session

#: Kinds offered for a new object (any other ``Segment/segment`` kind may be typed).
KINDS = ["Workflow/standard", "Workflow/psa", "Script/task", "Script/pre", "Script/post", "Script/selection"]
#: The largest file taken (the API's own bound is checked there too).
MAX_BYTES = 10 * 1024 * 1024


async def upload_dialog(session: Session, bucket: str, name: str | None = None) -> Revision | None:
    """Ask for a file and commit it to ``bucket``: as the next revision of ``name``, or as a new object
    (then its name and kind are asked too). The revision committed, ``None`` if the person gave up."""
    chosen: dict[str, bytes] = {}
    title = f"New revision of {name}" if name else f"Upload an object to {bucket}"
    with ui.dialog() as dialog, ui.card().classes("w-[32rem] max-w-full"):
        ui.label(title).classes("text-lg break-all")

        async def received(event: events.UploadEventArguments) -> None:
            chosen.clear()
            error.set_text("")
            if event.file.size() > MAX_BYTES:  # the browser checks it; a hostile one may not
                rejected()
                return
            chosen[event.file.name] = await event.file.read()
            file_label.set_text(f"{event.file.name} ({len(chosen[event.file.name])} bytes)")
            if name is None and not object_name.value:
                object_name.set_value(event.file.name)

        def rejected() -> None:
            error.set_text(f"The file is too large: at most {MAX_BYTES // (1024 * 1024)} MB.")

        ui.upload(
            label="File", auto_upload=True, max_file_size=MAX_BYTES, on_upload=received, on_rejected=rejected
        ).props('accept="*" flat bordered aria-label="File"').classes("w-full")
        file_label = (
            ui.label("No file chosen yet.").classes("text-gray-600").props('aria-label="Chosen file"')
        )
        object_name = ui.input("Object name").props('aria-label="Object name"').classes("w-full")
        kind = (
            ui.input("Kind", value=KINDS[0], autocomplete=KINDS).props('aria-label="Kind"').classes("w-full")
        )
        if name is not None:
            object_name.set_value(name)
            object_name.set_visibility(False)
            kind.set_visibility(False)
        message = ui.input("Commit message").props('aria-label="Commit message"').classes("w-full")
        with ui.row().classes("w-full gap-2"):
            project = ui.input("Project", placeholder="kept if empty").props('aria-label="Project"')
            tags = ui.input("Tags", placeholder="comma-separated, kept if empty").props('aria-label="Tags"')
        error = ui.label("").classes("text-negative").props('role="alert"')

        async def commit() -> None:
            if not chosen:
                error.set_text("Choose a file first.")
                return
            content = next(iter(chosen.values()))
            button.props("loading")
            try:
                pushed = await call(
                    session.client.push_object(
                        bucket,
                        object_name.value.strip(),
                        content,
                        kind=None if name else kind.value.strip() or None,
                        commit_message=message.value,
                        project_name=project.value.strip() or None,
                        tags=[t.strip() for t in tags.value.split(",") if t.strip()] or None,
                    ),
                    quiet=True,
                )
            except Refused as refused:
                error.set_text(refused.text)  # the dialog stays open with what was typed
                return
            finally:
                button.props(remove="loading")
            dialog.submit(pushed)

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
            button = ui.button("Commit", icon="check", on_click=commit)
    pushed: Revision | None = await dialog
    dialog.delete()
    return pushed

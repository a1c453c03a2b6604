"""Asking a person to confirm what cannot be undone (kill, clean, delete) before doing it."""

from __future__ import annotations

from nicegui import ui

from runyard.web.labels import labelled


async def confirm(question: str, verb: str, *, why: str = "") -> bool:
    """Show ``question`` (plain text) in a dialog with ``verb`` and Cancel; True when ``verb`` was chosen."""
    with ui.dialog() as dialog, labelled(ui.card(), f"{verb}?"):
        ui.label(question).classes("text-lg")
        if why:
            ui.label(why).classes("text-gray-600")
        with ui.row():
            ui.button(verb, color="negative", on_click=lambda: dialog.submit(True))
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
    chosen = await dialog
    dialog.clear()
    return chosen is True

"""Rows of (name, value) inputs, with add and remove: variables, generic information..."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from runyard.web.debounce import Debounced
from runyard.web.labels import labelled


def pairs_form(
    pairs: list[tuple[str, str]], what: str, save: Callable[[list[tuple[str, str]]], Awaitable[None]]
) -> None:
    """Rows of (name, value) inputs with add and remove; ``save`` gets every pair after each change."""
    rows: list[tuple[ui.input, ui.input]] = []
    box = ui.column().classes("w-full gap-1")
    changed = Debounced(lambda: save([(n.value.strip(), v.value) for n, v in rows if n.value.strip()]))

    def row(name: str, value: str) -> None:
        with box, ui.row().classes("w-full items-center gap-1 no-wrap") as line:
            key = (
                labelled(ui.input(f"{what} name", value=name), f"{what} name").props("dense").classes("w-40")
            )
            val = labelled(ui.input(f"{what} value", value=value), f"{what} value").props("dense")
            val.classes("flex-1")
            rows.append((key, val))
            key.on_value_change(lambda _: changed())
            val.on_value_change(lambda _: changed())

            def remove() -> None:
                rows.remove((key, val))
                line.delete()
                changed()

            labelled(ui.button(icon="close", on_click=remove), f"Remove {what} {name}").props(
                "flat dense round"
            )

    for name, value in pairs:
        row(name, value)
    ui.button(f"Add {what}", icon="add", on_click=lambda: row("", "")).props("flat dense")

"""``/login``: the platform's users log in with their password; the session expires as the API's does."""

from __future__ import annotations

from fastapi.responses import RedirectResponse, Response
from nicegui import ui

from runyard.client import ClientError
from runyard.web import sessions
from runyard.web.calls import message


@ui.page("/login", title="Log in · runyard")
async def login(next: str = "/") -> Response | None:
    target = next if next.startswith("/") and not next.startswith("//") else "/"  # never off-site
    if sessions.current() is not None:
        return RedirectResponse(target)

    async def submit() -> None:
        error.set_text("")
        button.props("loading")
        try:
            await sessions.log_in(user.value.strip(), password.value)
        except ClientError as refused:
            error.set_text(message(refused))
            password.set_value("")
            return
        finally:
            button.props(remove="loading")
        ui.navigate.to(target)

    with ui.card().classes("absolute-center w-80"):
        ui.label("runyard").classes("text-2xl font-bold")
        ui.label("Log in with your runyard account.").classes("text-gray-600")
        user = (
            ui.input("User name")
            .props('autofocus autocomplete=username aria-label="User name"')
            .classes("w-full")
        )
        password = (
            ui.input("Password", password=True, password_toggle_button=True)
            .props('autocomplete=current-password aria-label="Password"')
            .classes("w-full")
        )
        password.on("keydown.enter", submit)
        error = ui.label("").classes("text-negative").props('role="alert"')
        button = ui.button("Log in", on_click=submit).props('aria-label="Log in"').classes("w-full")
    return None

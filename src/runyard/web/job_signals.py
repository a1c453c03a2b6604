"""The signals panel of a job's page: the signals its tasks are ready for, each with the form of the
variables it takes (the workflow variables' widgets) and a Send button, and the signals received, with
their values. Kept current by the job's ``signal`` events; the API judges the values (a refused one is
shown beside its field)."""

from __future__ import annotations

from nicegui import ui

from runyard.client.documents import VariableMetadata
from runyard.client.signals import Signal
from runyard.web.calls import Refused, call
from runyard.web.sessions import Session
from runyard.web.times import moment
from runyard.web.variables_form import VariablesForm


class SignalsPanel:
    def __init__(self, session: Session, job_id: int) -> None:
        self.session = session
        self.job_id = job_id
        self.shown: tuple[bool, list[tuple[str, str, float | None]]] | None = None
        self.box = ui.column().classes("w-full gap-2")

    async def load(self, *, alive: bool = True) -> None:
        """Read the job's signals; draw them again if they changed (a form being filled stays otherwise).
        Once the job has ended (not ``alive``) nothing waits any more: no Send button."""
        try:
            found = await call(self.session.client.list_signals(self.job_id), quiet=True)
        except Refused:
            return  # the page shows the job's own refusal
        signals = found["signals"]
        shown = (alive, [(s["name"], s["status"], s["sent_at"] or s["ready_at"]) for s in signals])
        if shown == self.shown:
            return
        self.shown = shown
        self.box.clear()
        with self.box:
            ready = [s for s in signals if s["status"] == "ready"]
            received = [s for s in signals if s["status"] == "received"]
            if not signals:
                ui.label("No task of this job waits for a signal.").classes("text-gray-600")
            if ready and not alive:
                ui.label("The job has ended: no task waits for these any more.").classes("text-gray-600")
            for signal in ready:
                self._ready(signal, alive)
            if received:
                ui.label("Received").classes("font-medium")
                for signal in received:
                    self._received(signal)

    def _ready(self, signal: Signal, alive: bool) -> None:
        name = signal["name"]
        with ui.card().classes("w-full p-3").props("flat bordered") as card:
            card.props["aria-label"] = f"Signal {name}"
            with ui.row().classes("items-center gap-2"):
                ui.label(name).classes("font-medium")
                waiting = f"waited for by {signal['task']} " if signal["task"] else ""
                ui.label(f"{waiting}since {moment(signal['ready_at'])}").classes("text-gray-600 text-sm")
            form = (
                VariablesForm(self.session, [_metadata(v) for v in signal["variables"]])
                if signal["variables"]
                else None
            )
            if alive:
                button = ui.button("Send", on_click=lambda: self._send(name, form)).props("unelevated")
                button.props["aria-label"] = f"Send {name}"

    async def _send(self, name: str, form: VariablesForm | None) -> None:
        values = form.values() if form is not None else {}
        try:
            await call(self.session.client.send_signal(self.job_id, name, values), quiet=True)
        except Refused as refused:
            if form is None or not form.show_problems(refused):
                ui.notify(refused.text, type="negative", multi_line=True)
            return
        ui.notify(f"Sent {name}", type="positive")
        await self.load()

    @staticmethod
    def _received(signal: Signal) -> None:
        values = ", ".join(f"{key}={value}" for key, value in signal["values"].items())
        sender = f" by {signal['sent_by']}" if signal["sent_by"] else ""
        text = f"{signal['name']}: sent{sender} {moment(signal['sent_at'])}" + (
            f" ({values})" if values else ""
        )
        ui.label(text).classes("text-sm")


def _metadata(variable: dict[str, object]) -> VariableMetadata:
    return {
        "name": str(variable["name"]),
        "value": str(variable.get("value") or ""),
        "model": None if variable.get("model") is None else str(variable["model"]),
        "description": None if variable.get("description") is None else str(variable["description"]),
        "group": None if variable.get("group") is None else str(variable["group"]),
        "advanced": bool(variable.get("advanced")),
        "hidden": bool(variable.get("hidden")),
    }

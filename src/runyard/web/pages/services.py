"""``/services``: Service Automation as seed 001 §2 — its tabs are ``?tab=`` values, live from
``service_instance`` events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from nicegui import ui

from runyard.client.documents import Service, ServiceAction, ServiceInstance, StreamEvent
from runyard.web import service_controls as controls
from runyard.web.calls import Refused, call
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.live import RESET, SUBSCRIBED, follow
from runyard.web.sessions import Session
from runyard.web.times import moment

#: Tab name (in the URL) → label.
TABS = {
    "activation": "Service Activation",
    "services": "Full Services View",
    "jobs": "Service Jobs",
    "active": "Activated Services",
    "finished": "Finished Services",
}
_LEFT = {"align": "left"}
INSTANCE_COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "label": "Instance", "field": "id", "sortable": True, **_LEFT},
    {"name": "service_id", "label": "Service", "field": "service_id", "sortable": True, **_LEFT},
    {"name": "name", "label": "Name", "field": "name", **_LEFT},
    {"name": "owner", "label": "Owner", "field": "owner", "sortable": True, **_LEFT},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, **_LEFT},
]
ACTIVE_COLUMNS = [
    *INSTANCE_COLUMNS,
    {"name": "links", "label": "Endpoints", "field": "links", **_LEFT},
    {"name": "actions", "label": "Actions", "field": "actions", **_LEFT},
]
FINISHED_COLUMNS = [
    *INSTANCE_COLUMNS,
    {"name": "finished", "label": "Ended", "field": "finished", "sortable": True, **_LEFT},
    {"name": "clean", "label": "", "field": "id"},
]
_INSTANCE_CELL = """
<q-td :props="props"><a :href="'/services/instances/' + props.row.id" class="text-primary"
  :aria-label="'Instance ' + props.row.id">{{ props.row.id }}</a></q-td>"""
_ACTIONS_CELL = """
<q-td :props="props">
  <q-btn v-for="action in props.row.actions" :key="action" dense no-caps outline color="primary"
    class="mr-1" :label="action" :aria-label="action + ' instance ' + props.row.id"
    @click="$parent.$emit('act', {id: props.row.id, action})" />
  <q-btn dense flat color="negative" icon="dangerous" :aria-label="'Kill instance ' + props.row.id"
    @click="$parent.$emit('kill', props.row.id)"><q-tooltip>Kill</q-tooltip></q-btn>
</q-td>"""
_CLEAN_CELL = """
<q-td :props="props"><q-btn dense no-caps flat color="negative" icon="delete_sweep" label="Clean"
  :aria-label="'Clean instance ' + props.row.id" @click="$parent.$emit('clean', props.row.id)" /></q-td>"""


@page("/services", "Service Automation")
async def services(session: Session, tab: str = "activation") -> None:
    known: list[Service] = []
    instances: dict[int, ServiceInstance] = {}

    selected = tab if tab in TABS else "activation"
    with ui.tabs().props("inline-label outside-arrows mobile-arrows").classes("w-full max-w-full") as tabs:
        for name, label in TABS.items():
            ui.tab(name, label)
    tabs.set_value(selected)
    tabs.on_value_change(lambda e: ui.navigate.history.replace(f"/services?tab={e.value}"))
    with ui.tab_panels(tabs, value=selected).classes("w-full"):
        with ui.tab_panel("activation"):
            with ui.row().classes("items-center w-full"):
                ui.label(
                    "The workflows that start a service (from no instance, state VOID). Start one, fill in "
                    "its variables: a new instance appears under Activated Services."
                ).classes("text-gray-600")
                ui.space()
                ui.button("Refresh", icon="refresh", on_click=lambda: load_services()).props("flat")
            activation = ui.column().classes("w-full")
        with ui.tab_panel("services"):
            ui.label(
                "Every Service Automation workflow, by service: activations start an instance, the other "
                "actions run on an instance in one of their source states."
            ).classes("text-gray-600")
            catalogue = ui.column().classes("w-full gap-2")
        with ui.tab_panel("jobs"):
            ui.label("The jobs each instance submitted, its activation first.").classes("text-gray-600")
            jobs = ui.column().classes("w-full gap-2")
        with ui.tab_panel("active"):
            ui.label(
                "Instances neither FINISHED nor KILLED. Only the actions the instance's state allows are "
                "offered; while a transition runs, only Kill."
            ).classes("text-gray-600")
            active = _instance_table(ACTIVE_COLUMNS, "Activated services")
            active.add_slot("body-cell-links", controls.ENDPOINTS_CELL)
            active.add_slot("body-cell-actions", _ACTIONS_CELL)
        with ui.tab_panel("finished"):
            ui.label("FINISHED and KILLED instances. Clean removes an instance's record.").classes(
                "text-gray-600"
            )
            finished = _instance_table(FINISHED_COLUMNS, "Finished services")
            finished.add_slot("body-cell-clean", _CLEAN_CELL)

    def start_button(service: Service, workflow: ServiceAction) -> None:
        button = ui.button("Start", icon="play_arrow", on_click=lambda: start(service, workflow))
        button.props("dense no-caps")
        button.props["aria-label"] = (
            f"Start {workflow['name']}"  # a value, never parsed: the catalog names it
        )

    async def start(service: Service, workflow: ServiceAction) -> None:
        started = await controls.start_service(session, service["id"], service["bucket"], workflow)
        if started is not None:
            instances[started["id"]] = started
            show_instances()
            ui.notify(f"Instance {started['id']} of {service['id']} is starting")
            tabs.set_value("active")

    def show_services() -> None:
        activation.clear()
        catalogue.clear()
        with activation:
            if not any(w["activation"] for s in known for w in s["actions"]):
                ui.label("No service can be started from the buckets you may read.")
            for service in known:
                for workflow in (w for w in service["actions"] if w["activation"]):
                    with ui.card().classes("w-full p-3"), ui.row().classes("items-center w-full no-wrap"):
                        with ui.column().classes("gap-0 grow"):
                            ui.label(f"{service['id']} · {workflow['name']}").classes("font-medium")
                            ui.label(workflow["description"] or "").classes(
                                "text-gray-600 whitespace-pre-line"
                            )
                            ui.label(f"bucket {service['bucket']}, revision {workflow['revision']}").classes(
                                "text-xs text-gray-500"
                            )
                        start_button(service, workflow)
        with catalogue:
            for service in known:
                with ui.expansion(f"{service['id']} ({service['bucket']})", value=len(known) == 1).classes(
                    "w-full border rounded"
                ):
                    for workflow in service["actions"]:
                        with ui.row().classes("items-center w-full no-wrap gap-3"):
                            ui.label(workflow["name"]).classes("font-medium min-w-[12rem]")
                            ui.label(
                                ", ".join(f"{t['source']} → {t['target']}" for t in workflow["transitions"])
                            ).classes("text-gray-600 grow")
                            if workflow["activation"]:
                                start_button(service, workflow)

    def show_instances() -> None:
        ordered = sorted(instances.values(), key=lambda i: i["id"], reverse=True)
        active.rows = [controls.row(i) for i in ordered if i["status"] not in controls.ENDED]
        finished.rows = [
            {**controls.row(i), "finished": moment(i["finished_at"])}
            for i in ordered
            if i["status"] in controls.ENDED
        ]
        active.update()
        finished.update()
        jobs.clear()
        with jobs:
            if not ordered:
                ui.label("No service instance yet.")
            for instance in ordered:
                with ui.card().classes("w-full p-3"):
                    with ui.row().classes("items-center gap-2"):
                        ui.link(f"Instance {instance['id']}", f"/services/instances/{instance['id']}")
                        ui.label(f"{instance['service_id']} {controls.instance_name(instance)}")
                        controls.status_badge(instance)
                    controls.submissions_table(instance, f"Jobs of instance {instance['id']}")

    async def load_services() -> None:
        with suppress(Refused):
            known[:] = await call(session.client.list_services())
            show_services()

    async def load_instances() -> None:
        with suppress(Refused):
            listed = await call(session.client.list_service_instances())
            instances.clear()
            instances.update((i["id"], i) for i in listed)
            show_instances()

    async def changed(instance_id: int, removed: bool) -> None:
        instances.pop(instance_id, None)
        if not removed:
            with suppress(Refused):  # gone or no longer ours: not shown
                instances[instance_id] = await call(
                    session.client.get_service_instance(instance_id), quiet=True
                )
        show_instances()

    async def on_event(event: StreamEvent) -> None:
        if event["kind"] in (SUBSCRIBED, RESET):
            await load_instances()
        elif event["kind"] == "service_instance":
            await changed(event["instance"]["id"], event["instance"]["removed"])

    async def on_instance(instance_id: int, handle: Callable[[ServiceInstance], Awaitable[Any]]) -> None:
        if instance_id in instances:
            await handle(instances[instance_id])

    async def kill(instance: ServiceInstance) -> None:
        killed = await controls.kill(session, instance)
        if killed is not None:
            instances[killed["id"]] = killed
            show_instances()

    async def clean(instance: ServiceInstance) -> None:
        if await controls.clean(session, instance):
            await changed(instance["id"], True)

    async def run_action(instance: ServiceInstance, name: str) -> None:
        done = await controls.run_action(session, instance, name)
        if done is not None:
            instances[done["id"]] = done
            show_instances()

    active.on("act", lambda e: on_instance(e.args["id"], lambda i: run_action(i, e.args["action"])))
    active.on("kill", lambda e: on_instance(e.args, kill))
    finished.on("clean", lambda e: on_instance(e.args, clean))
    await load_services()
    follow(session, on_event)


def _instance_table(columns: list[dict[str, Any]], label: str) -> ui.table:
    table = labelled(ui.table(columns=columns, rows=[], row_key="id"), label).classes("w-full")
    table.props('no-data-label="No service instance here."')
    table.add_slot("body-cell-id", _INSTANCE_CELL)
    table.add_slot("body-cell-status", controls.STATUS_CELL)
    return table

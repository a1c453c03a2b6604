"""What the Service Automation pages share: an instance's status and endpoints, and the dialogs that start a
service, run an action with its variables, kill and clean an instance."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from nicegui import ui

from runyard.client.documents import ServiceAction, ServiceInstance, VariableMetadata
from runyard.web.calls import Refused, call
from runyard.web.confirm import confirm
from runyard.web.labels import labelled
from runyard.web.sessions import Session
from runyard.web.times import moment
from runyard.web.variables_form import VariablesForm

T = TypeVar("T")

ENDED = ("FINISHED", "KILLED")
#: Services whose endpoint is their Audit & Traceability page.
MAAS = ("MaaS_ML", "MaaS_DL")
STATUS_COLOURS = {"RUNNING": "positive", "ERROR": "negative", "PAUSED": "warning", "FINISHED": "grey-7"}
#: A table cell showing ``props.row.status`` as a badge, with a spinner while a transition runs.
STATUS_CELL = (
    '<q-td :props="props"><q-badge :color="'
    + json.dumps(STATUS_COLOURS).replace('"', "'")
    + """[props.row.status] || 'primary'" :label="props.row.status" />
  <span v-if="props.row.transition" class="ml-1 text-gray-600">
    <q-spinner size="xs" /> {{ props.row.transition }}</span></q-td>"""
)
#: A table cell with ``props.row.links`` (see :func:`endpoint_links`) as links, or text when not reachable.
ENDPOINTS_CELL = """
<q-td :props="props"><div v-for="link in props.row.links" :key="link.name">
  <a v-if="link.href" :href="link.href" target="_blank" rel="noopener noreferrer" class="text-primary"
    :aria-label="'Endpoint ' + link.name + ' of instance ' + props.row.id">{{ link.label }}</a>
  <span v-else>{{ link.label }}</span></div></q-td>"""
_LEFT = {"align": "left"}
SUBMISSION_COLUMNS: list[dict[str, Any]] = [
    {"name": "job_id", "label": "Job", "field": "job_id", **_LEFT},
    {"name": "action", "label": "Action", "field": "action", **_LEFT},
    {"name": "transition_state", "label": "Transition", "field": "transition_state", **_LEFT},
    {"name": "submitted", "label": "Submitted", "field": "submitted", **_LEFT},
]
_JOB_CELL = """
<q-td :props="props"><a :href="'/jobs/' + props.row.job_id" class="text-primary"
  :aria-label="'Job ' + props.row.job_id">{{ props.row.job_id }}</a></q-td>"""


def endpoint_links(instance: ServiceInstance) -> list[dict[str, str]]:
    """The instance's endpoints for a page: ``name`` (the endpoint's id), ``label`` and ``href``.

    A proxyfied endpoint is opened through the portal (which hands the proxy the person's token, see
    :mod:`runyard.web.pages.service_instance`); another one by its URL when it is plain HTTP(S), else
    not at all (the URL was recorded by user code). A MaaS endpoint is its Audit & Traceability page.
    """
    links = []
    for name, endpoint in instance["endpoints"].items():
        url = endpoint["url"] or ""
        if endpoint["proxyfied"] and endpoint["proxyfied_url"]:
            href = f"/services/instances/{instance['id']}/endpoints/{quote(name, safe='')}"
        else:
            href = url if url.startswith(("http://", "https://")) else ""
        label = f"Audit & Traceability ({name})" if instance["service_id"] in MAAS else name
        links.append({"name": name, "label": label, "href": href})
    return links


def submissions_table(instance: ServiceInstance, label: str) -> None:
    """The jobs the instance submitted (activation first), linked to their job pages."""
    rows = [{**s, "submitted": moment(s["submission_time"])} for s in instance["job_submissions"]]
    table = ui.table(columns=SUBMISSION_COLUMNS, rows=rows, row_key="job_id").classes("w-full")
    labelled(table, label).props("flat dense")
    table.add_slot("body-cell-job_id", _JOB_CELL)


def status_badge(instance: ServiceInstance) -> None:
    """The status as a badge, and the transition running (with a spinner) if any."""
    with ui.row().classes("items-center gap-1"):
        ui.badge(instance["status"], color=STATUS_COLOURS.get(instance["status"], "primary"))
        if instance["transition"]:
            ui.spinner(size="xs")
            ui.label(instance["transition"]).classes("text-gray-600")


async def start_service(
    session: Session, service_id: str, bucket: str, workflow: ServiceAction
) -> ServiceInstance | None:
    """Ask for the variables of the activation ``workflow`` and start an instance with them."""
    return await _with_variables(
        session,
        f"Start {service_id} ({workflow['name']})",
        "Start",
        workflow,
        {},
        lambda values: session.client.start_service(
            service_id, values, workflow=workflow["name"], bucket=bucket
        ),
    )


async def run_action(session: Session, instance: ServiceInstance, name: str) -> ServiceInstance | None:
    """Ask for the variables of the action ``name`` (the instance's values shown) and run it on the
    instance; only the values the person changed are sent (the API gives the action the instance's own)."""
    try:
        service = await call(session.client.get_service(instance["service_id"], instance["bucket"]))
    except Refused:
        return None
    action = next((a for a in service["actions"] if a["name"] == name), None)
    if action is None:
        ui.notify(f"{instance['service_id']} has no action {name} any more", type="warning")
        return None
    current = instance["variables"]

    def changed(values: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in values.items() if current.get(k) != v}

    return await _with_variables(
        session,
        f"{name} on instance {instance['id']}",
        "Run",
        action,
        current,
        lambda values: session.client.run_service_action(instance["id"], name, changed(values)),
    )


async def _with_variables(
    session: Session,
    title: str,
    verb: str,
    workflow: ServiceAction,
    values: Mapping[str, str],
    submit: Callable[[dict[str, str]], Awaitable[T]],
) -> T | None:
    """A dialog with ``workflow``'s variables form; ``submit`` gets the values until the API takes them
    (its refusals beside the fields, or as a notification when about no field)."""
    variables: list[VariableMetadata] = workflow["variables"]
    with ui.dialog() as dialog, labelled(ui.card(), verb).classes("w-[40rem] max-w-full"):
        ui.label(title).classes("text-lg font-medium")
        if workflow["description"]:
            ui.label(workflow["description"]).classes("text-gray-600 whitespace-pre-line")
        form = VariablesForm(session, variables, values=dict(values))

        async def go() -> None:
            form.clear_problems()
            button.props("loading")
            try:
                done = await call(submit(form.values()), quiet=True)
            except Refused as refused:
                if not form.show_problems(refused):
                    ui.notify(refused.text, type="negative", multi_line=True)
                return
            finally:
                button.props(remove="loading")
            dialog.submit(done)

        with ui.row():
            button = ui.button(verb, on_click=go)
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
    done: T | None = await dialog
    dialog.clear()
    return done


async def kill(session: Session, instance: ServiceInstance) -> ServiceInstance | None:
    """Kill the instance once the person confirms."""
    if not await confirm(
        f"Kill service instance {instance['id']} ({instance['service_id']})?",
        "Kill",
        why="Its jobs, processes and containers are stopped at once; no finishing action runs.",
    ):
        return None
    try:
        return await call(session.client.kill_service_instance(instance["id"]))
    except Refused:
        return None


async def clean(session: Session, instance: ServiceInstance) -> bool:
    """Remove an ended instance's record once the person confirms."""
    if not await confirm(
        f"Clean service instance {instance['id']} ({instance['service_id']})?",
        "Clean",
        why="Its record (variables, deployments, job submissions) is removed for good.",
    ):
        return False
    try:
        await call(session.client.clean_service_instance(instance["id"]))
    except Refused:
        return False
    return True


def instance_name(instance: ServiceInstance) -> str:
    """What the person named the instance (its label, else its INSTANCE_NAME variable)."""
    return instance["label"] or instance["variables"].get("INSTANCE_NAME", "")


def row(instance: ServiceInstance) -> dict[str, Any]:
    """An instance as a table row: its document, the endpoint links and a name."""
    return {**instance, "links": endpoint_links(instance), "name": instance_name(instance)}

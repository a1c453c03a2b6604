"""``/services/instances/{id}``: one service instance — status, endpoints, the actions its state allows,
variables, deployments, job submissions and the events seen while the page is open; live.

Also ``…/endpoints/{endpoint}``, which opens a proxyfied endpoint on the services' own origin (see
docs/security.md): browsers cannot send the API's bearer token, so the proxy takes it once as ``?token=``
(keeping it in a cookie scoped to that endpoint's path and dropping it from the address). The link goes
through here so that the token never sits in a page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from nicegui import app, ui

from runyard.client import ApiError, ClientError
from runyard.client.documents import ServiceInstance, StreamEvent
from runyard.web import service_controls as controls
from runyard.web import sessions
from runyard.web.calls import Refused, call
from runyard.web.layout import login_url, page
from runyard.web.live import RESET, SUBSCRIBED, follow
from runyard.web.sessions import Session
from runyard.web.times import moment

_LEFT = {"align": "left"}
VARIABLE_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Variable", "field": "name", "sortable": True, **_LEFT},
    {
        "name": "value",
        "label": "Value",
        "field": "value",
        **_LEFT,
        "classes": "whitespace-pre-wrap break-all",
    },
]
EVENT_COLUMNS: list[dict[str, Any]] = [
    {"name": "at", "label": "Seen", "field": "at", **_LEFT},
    {"name": "status", "label": "Status", "field": "status", **_LEFT},
    {"name": "transition", "label": "Transition", "field": "transition", **_LEFT},
    {"name": "changed", "label": "Changed", "field": "changed", **_LEFT},
]


@page("/services/instances/{instance_id}", "Service instance")
async def service_instance(session: Session, instance_id: int) -> None:
    body = ui.column().classes("w-full gap-3")
    ui.label("Events seen while this page is open").classes("text-lg font-medium")
    event_table = ui.table(columns=EVENT_COLUMNS, rows=[], row_key="n").classes("w-full")
    event_table.props('flat dense aria-label="Events" no-data-label="No change since the page opened."')

    def show(instance: ServiceInstance) -> None:
        body.clear()
        with body:
            _summary(instance)
            _controls(session, instance, show)
            _details(instance)

    async def reload() -> None:
        try:
            show(await call(session.client.get_service_instance(instance_id), quiet=True))
        except Refused as refused:
            body.clear()
            with body:
                ui.label(f"Service instance {instance_id}: {refused.text}").classes("text-negative")
                ui.link("All service instances", "/services?tab=active")

    async def on_event(event: StreamEvent) -> None:
        if event["kind"] in (SUBSCRIBED, RESET):
            await reload()
        elif event["kind"] == "service_instance" and event["instance"]["id"] == instance_id:
            change = event["instance"]
            seen = {
                "n": str(len(event_table.rows)),
                "at": moment(time.time()),
                "status": "cleaned" if change["removed"] else change.get("status") or "",
                "transition": change.get("transition") or "",
                "changed": ", ".join(change["changed"]),
            }
            event_table.rows = [seen, *event_table.rows]
            event_table.update()
            await reload()

    follow(session, on_event)


def _summary(instance: ServiceInstance) -> None:
    with ui.row().classes("items-center gap-3"):
        ui.label(f"{instance['service_id']} · instance {instance['id']}").classes("text-xl font-medium")
        ui.label(controls.instance_name(instance)).classes("text-gray-600")
        controls.status_badge(instance)
    ended = f", ended {moment(instance['finished_at'])}" if instance["finished_at"] else ""
    started = moment(instance["created_at"])
    ui.label(f"Owner {instance['owner']}, bucket {instance['bucket']}, started {started}{ended}").classes(
        "text-gray-600"
    )
    if instance["error"]:
        ui.label(instance["error"]).classes("text-negative whitespace-pre-wrap")
    links = controls.endpoint_links(instance)
    if links:
        with ui.row().classes("items-center gap-3"):
            ui.label("Endpoints:")
            for link in links:
                if link["href"]:
                    opened = ui.link(link["label"], link["href"], new_tab=True)
                    opened.props["aria-label"] = (
                        f"Endpoint {link['name']}"  # never parsed: user code named it
                    )
                else:
                    ui.label(link["label"])


def _controls(session: Session, instance: ServiceInstance, show: Callable[[ServiceInstance], None]) -> None:
    with ui.row().classes("items-center gap-2"):
        for name in instance["actions"]:
            ui.button(name, on_click=lambda name=name: act(name)).props("no-caps outline")
        if instance["status"] in controls.ENDED:
            ui.button("Clean", icon="delete_sweep", color="negative", on_click=lambda: clean()).props("flat")
        else:
            ui.button("Kill", icon="dangerous", color="negative", on_click=lambda: kill()).props("flat")

    async def act(name: str) -> None:
        if (done := await controls.run_action(session, instance, name)) is not None:
            show(done)

    async def kill() -> None:
        if (killed := await controls.kill(session, instance)) is not None:
            show(killed)

    async def clean() -> None:
        if await controls.clean(session, instance):
            ui.navigate.to("/services?tab=finished")


def _details(instance: ServiceInstance) -> None:
    with ui.row().classes("w-full gap-3 items-start"):
        with ui.column().classes("grow basis-96"):
            ui.label("Variables").classes("text-lg font-medium")
            rows = [{"name": k, "value": v} for k, v in sorted(instance["variables"].items())]
            ui.table(columns=VARIABLE_COLUMNS, rows=rows, row_key="name").classes("w-full").props(
                'flat dense aria-label="Variables"'
            )
        with ui.column().classes("grow basis-96"):
            ui.label("Job submissions").classes("text-lg font-medium")
            controls.submissions_table(instance, "Job submissions")
            ui.label("Deployments").classes("text-lg font-medium")
            if not instance["deployments"]:
                ui.label("None yet.").classes("text-gray-600")
            for deployment in instance["deployments"]:
                ui.label(json.dumps(deployment, indent=2)).classes(
                    "font-mono text-xs whitespace-pre-wrap break-all bg-gray-100 p-2 rounded w-full"
                ).props('aria-label="Deployment"')


@app.get("/services/instances/{instance_id}/endpoints/{endpoint_id}", include_in_schema=False)
async def open_endpoint(instance_id: int, endpoint_id: str, request: Request) -> Response:
    """Send the browser to a proxyfied endpoint of an instance the person may see, with their token."""
    session = sessions.current()
    if session is None:
        return RedirectResponse(login_url(request))
    try:
        instance = await session.client.get_service_instance(instance_id)
    except ApiError as error:
        if error.status == 401:
            sessions.forget()
            return RedirectResponse(login_url(request))
        return PlainTextResponse(error.message, status_code=error.status)
    except ClientError as error:
        return PlainTextResponse(f"The API did not answer: {error}", status_code=502)
    endpoint = instance["endpoints"].get(endpoint_id)
    if endpoint is None or not endpoint["proxyfied"] or not endpoint["proxyfied_url"]:
        return PlainTextResponse(
            f"Service instance {instance_id} has no proxyfied endpoint {endpoint_id}", status_code=404
        )
    # the proxy's own URL on the services' origin (the API makes it, never from what the service recorded):
    # never this origin, where a service's scripts could read and drive the portal as this person
    endpoint_path = f"/service-instances/{instance_id}/endpoints/{quote(endpoint_id, safe='')}/"
    target = urlsplit(endpoint["proxyfied_url"])
    if target.scheme not in ("http", "https") or not target.path.endswith(endpoint_path):
        return PlainTextResponse(f"The API gave no proxy URL for {endpoint_id}", status_code=502)
    url = target._replace(query=urlencode({"token": session.client.token}), fragment="").geturl()
    return RedirectResponse(url, status_code=303)

"""``runyard service``: services of the catalog and their instances (start, actions, kill, clean, open)."""

from __future__ import annotations

import webbrowser
from typing import Annotated, Literal

import typer
from rich.markup import escape

from runyard.cli.options import pairs
from runyard.cli.remote import Json, Token, Url, connected, err, fail, local_time, out, print_json
from runyard.cli.tables import new_table, show
from runyard.client import Client
from runyard.client.documents import ServiceInstance

service_app = typer.Typer(help="Services (catalog workflows sharing pca.service.id) and their instances.")

InstanceId = Annotated[int, typer.Argument(help="Service instance id.", min=1)]
Vars = Annotated[
    list[str] | None, typer.Option("--var", metavar="KEY=VALUE", help="Variable KEY=VALUE (repeatable).")
]
Wait = Annotated[bool, typer.Option("--wait", help="Wait until the workflow has set the instance's status.")]
Timeout = Annotated[
    float | None, typer.Option("--timeout", metavar="SECONDS", help="Seconds --wait waits at most.")
]


@service_app.command("list")
def list_services(json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """The services you may start, with their actions."""
    with connected(url, token) as client:
        found = client.list_services()
    if json_output:
        print_json(found)
        return
    table = new_table("service", "bucket", "activation", "actions (from -> to)")
    for service in found:
        actions = [
            a["name"] + " (" + ", ".join(t["source"] + "->" + t["target"] for t in a["transitions"]) + ")"
            for a in service["actions"]
            if not a["activation"]
        ]
        table.add_row(
            escape(service["id"]),
            escape(service["bucket"]),
            escape(", ".join(service["activations"])),
            escape("\n".join(actions)),
        )
    show(out, table)


@service_app.command("start")
def start(
    service_id: Annotated[str, typer.Argument(help="Service id (pca.service.id).")],
    var: Vars = None,
    workflow: Annotated[
        str | None, typer.Option("--workflow", help="Activation workflow, when the service has several.")
    ] = None,
    bucket: Annotated[
        str | None,
        typer.Option("--bucket", help="The service's bucket (default: yours, else the built-in or admins')."),
    ] = None,
    wait: Wait = False,
    timeout: Timeout = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Start an instance of a service (its activation workflow with your --var values)."""
    with connected(url, token) as client:
        instance = client.start_service(service_id, pairs(var, "--var"), workflow=workflow, bucket=bucket)
        if wait:
            instance = _wait(client, instance["id"], timeout)
    _show(instance, json_output)


#: What ``service instances`` says when it finds none, by the instances asked for.
_NONE = {
    "active": "no active service instances (see --finished or --all; `runyard service start` starts one)",
    "finished": "no finished service instances (--all for every one)",
    "all": "no service instances (`runyard service start` starts one)",
}


@service_app.command("instances")
def instances(
    finished: Annotated[bool, typer.Option("--finished", help="FINISHED and KILLED instances.")] = False,
    all_instances: Annotated[bool, typer.Option("--all", help="Every instance.")] = False,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Active instances (not FINISHED or KILLED), or --finished ones, or --all."""
    status: Literal["active", "finished", "all"] = (
        "all" if all_instances else "finished" if finished else "active"
    )
    with connected(url, token) as client:
        found = client.list_service_instances(status)
    if json_output:
        print_json(found)
        return
    if not found:
        err.print(_NONE[status])
        return
    table = new_table("id", "service", "name", "status", "owner", "endpoints", "created")
    for instance in found:
        table.add_row(
            str(instance["id"]),
            escape(instance["service_id"]),
            escape(instance["label"] or ""),
            escape(_status(instance)),
            escape(instance["owner"]),
            escape("\n".join(e["url"] or "" for e in instance["endpoints"].values())),
            local_time(instance["created_at"]),
        )
    show(out, table)


@service_app.command("info")
def info(instance_id: InstanceId, json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """An instance: status, variables, endpoints, deployments, jobs, allowed actions."""
    with connected(url, token) as client:
        instance = client.get_service_instance(instance_id)
    _show(instance, json_output)


@service_app.command("action")
def action(
    instance_id: InstanceId,
    name: Annotated[str, typer.Argument(help="Action: the name of one of the service's workflows.")],
    var: Vars = None,
    wait: Wait = False,
    timeout: Timeout = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Run an action on an instance (exit 1 with the allowed ones when its state forbids it)."""
    with connected(url, token) as client:
        instance = client.run_service_action(instance_id, name, pairs(var, "--var"))
        if wait:
            instance = _wait(client, instance_id, timeout)
    _show(instance, json_output)


@service_app.command("kill")
def kill(instance_id: InstanceId, json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """Force KILLED: stop its jobs, processes and containers; release its node tokens and ports."""
    with connected(url, token) as client:
        instance = client.kill_service_instance(instance_id)
    _show(instance, json_output)


@service_app.command("clean")
def clean(instance_id: InstanceId, url: Url = None, token: Token = None) -> None:
    """Remove a FINISHED or KILLED instance's record."""
    with connected(url, token) as client:
        client.clean_service_instance(instance_id)
    out.print(f"service instance {instance_id} removed")


@service_app.command("open")
def open_endpoint(
    instance_id: InstanceId,
    endpoint: Annotated[str | None, typer.Argument(help="Endpoint id (default: the only one).")] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Open an endpoint in the browser (its proxied URL when the instance is PROXYFIED)."""
    with connected(url, token) as client:
        endpoints = client.get_service_endpoints(instance_id)
    if not endpoints:
        fail(f"service instance {instance_id} has no endpoint yet")
    if endpoint is None and len(endpoints) > 1:
        fail(f"service instance {instance_id} has several endpoints: name one of {', '.join(endpoints)}")
    chosen = endpoints.get(endpoint) if endpoint else next(iter(endpoints.values()))
    if chosen is None:
        fail(
            f"service instance {instance_id} has no endpoint {endpoint!r} (endpoints: {', '.join(endpoints)})"
        )
    target = chosen["proxyfied_url"] if chosen["proxyfied"] and chosen["proxyfied_url"] else chosen["url"]
    if not target:
        fail("the endpoint has no URL")
    out.print(target)
    webbrowser.open(target)


def _wait(client: Client, instance_id: int, timeout: float | None) -> ServiceInstance:
    instance = client.wait_for_service_instance(instance_id, timeout)
    if instance["status"] == "ERROR":
        _show(instance, json_output=False)
        reason = f": {instance['error']}" if instance["error"] else ""
        fail(f"service instance {instance_id} is in ERROR{reason}", 1)
    return instance


def _status(instance: ServiceInstance) -> str:
    return instance["transition"] or instance["status"]


def _show(instance: ServiceInstance, json_output: bool) -> None:
    if json_output:
        print_json(instance)
        return
    out.print(f"[bold]service instance {instance['id']}[/bold] ({escape(instance['service_id'])})")
    rows = [
        ("name", instance["label"] or ""),
        ("status", _status(instance)),
        ("owner", instance["owner"]),
        ("created", local_time(instance["created_at"])),
        ("finished", local_time(instance["finished_at"]) if instance["finished_at"] else ""),
        ("actions", ", ".join(instance["actions"])),
        ("error", instance["error"] or ""),
    ]
    for label, value in rows:
        if value:
            out.print(f"  {label:<9} {escape(str(value))}")
    for endpoint_id, endpoint in instance["endpoints"].items():
        proxied = f" (proxied: {endpoint['proxyfied_url']})" if endpoint["proxyfied"] else ""
        out.print(f"  endpoint  {escape(endpoint_id)}: {escape(endpoint['url'] or '')}{escape(proxied)}")
    for submission in instance["job_submissions"]:
        action_name, transition = escape(submission["action"]), submission["transition_state"]
        out.print(f"  job       {submission['job_id']} {action_name} ({transition})")


def register(app: typer.Typer) -> None:
    app.add_typer(service_app, name="service")

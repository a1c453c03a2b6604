"""The helper API service workflows call, named after ProActive's PcaScripts (``Post_Start_Service``...).

A cpython task imports it and passes its ``variables`` binding::

    from runyard.services import psa
    psa.post_start_service(variables, "postgresql")

A bash task runs the same functions as ``runyard psa post-start-service postgresql``. They talk to
the server as the job's owner (``RUNYARD_URL``/``RUNYARD_TOKEN``, which the server gives every task)
and follow the seeds' file conventions in the task's working folder: ``<INSTANCE_NAME>_port``,
``<INSTANCE_NAME>_containerID`` (docker), ``<INSTANCE_NAME>_process`` (process engine) and
``<INSTANCE_NAME>_status`` (what an action did). Starting and controlling the service itself is in
:mod:`runyard.services.launch`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.model import JobStatus
from runyard.services.engines import RunState
from runyard.services.engines.platform import task_engine
from runyard.services.helper_client import HelperClient

if TYPE_CHECKING:
    from runyard.client import Client

Variables = MutableMapping[str, Any]
ServiceInstance = dict[str, Any]
"""An instance as the API gives it (``runyard.client.documents.ServiceInstance`` describes it)."""

DEFAULT_HEALTH_CHECK_CRON = "*/1 * * * *"
"""How often the start workflow's loop checks the service (``HEALTH_CHECK_CRON`` changes it; a sixth
field counts seconds: ``* * * * * */5`` is every 5 s)."""
ADMIN_GROUPS = ("scheduleradmins", "rmcoreadmins")
_ALIVE = (RunState.RUNNING, RunState.PAUSED)


class ServiceFailure(RuntimeError):
    """The service is not as its workflow expects: the task fails with this message."""


# -- starting ---------------------------------------------------------------------------------------


def pre_start_service(variables: Variables) -> None:
    """With ``PROXYFIED=true``: ``PROXYFIED_URL`` (and ``WS_PROXYFIED_URL``, ``PROXYFIED_PATH``) where the
    platform serves the endpoint ``ENDPOINT_ID`` to users allowed to see the instance."""
    if not is_true(variables.get("PROXYFIED")):
        return
    path = proxy_path(instance_id(variables), _required(variables, "ENDPOINT_ID"))
    url = proxy_url() + path
    variables["PROXYFIED_PATH"] = path
    variables["PROXYFIED_URL"] = url
    variables["WS_PROXYFIED_URL"] = re.sub(r"^http", "ws", url)


def post_start_service(variables: Variables, scheme: str = "http") -> None:
    """Record the started service: endpoint ``[https|http|scheme]://HOST:PORT`` (port from
    ``<INSTANCE_NAME>_port``), deployment (node, container or process), status RUNNING; reserve this node
    with the token ``PSA_<INSTANCE_NAME>``.

    Does nothing when the service left no reference (docker: no container id), as ProActive's script."""
    name = instance_name(variables)
    engine = str(variables.get("ENGINE") or "process").lower()
    ref = _read(f"{name}_containerID" if engine == "docker" else f"{name}_process")
    if engine == "singularity":
        ref = ref or name
    if not ref:
        print(f"post_start_service: {name} left no {engine} reference: nothing recorded")
        return
    port = _read(f"{name}_port")
    host = str(variables.get("SERVICE_HOST") or "127.0.0.1")
    proxyfied = is_true(variables.get("PROXYFIED"))
    endpoint = None
    if port:
        if is_true(variables.get("HTTPS_ENABLED")):
            scheme = "https"
        elif is_true(variables.get("HTTP_ENABLED")):
            scheme = "http"
        endpoint = {
            "id": str(variables.get("ENDPOINT_ID") or f"{name}-endpoint"),
            "url": f"{scheme}://{host}:{port}{variables.get('ENDPOINT_PATH') or ''}",
            "proxyfied": proxyfied,
            "proxyfiedUrl": variables.get("PROXYFIED_URL") if proxyfied else None,
        }
        variables["HOSTNAME"], variables["PORT"] = host, port
    node = {
        "name": variables.get("PA_NODE_NAME"),
        "host": variables.get("PA_NODE_HOST"),
        "url": variables.get("PA_NODE_URL"),
        "node_source_name": variables.get("PA_NODE_SOURCE"),
    }
    controlled = engine != "docker"  # the platform recorded the container it started, engine and ref
    deployment = {
        "node": node,
        "container": None if controlled else {"id": ref, "name": name},
        "endpoint": endpoint,
        "engine": engine if controlled else None,
        "ref": ref if controlled else None,
        "port": int(port) if port else None,
    }
    with helper_client() as api:
        identifier = instance_id(variables)
        if variables.get("PA_NODE_NAME"):  # first: whoever sees RUNNING sees the node reserved
            api.add_service_node_token(identifier, str(variables["PA_NODE_NAME"]), token_name(name))
        api.update_service_instance(
            identifier,
            status="RUNNING",
            variables={"HOSTNAME": host, "PORT": port} if port else None,
            deployments=[deployment],
            channel={"RUNNING_STATE": "1", "INSTANCE_NAME": name},
            groups=ADMIN_GROUPS if proxyfied else (),
        )


def clean_start_service(variables: Variables) -> None:
    """The start task's clean script: an instance that did not reach RUNNING goes to ERROR, with what
    failed in the task (``PA_TASK_ERROR``) as the reason."""
    with helper_client() as api:
        identifier = instance_id(variables)
        instance = api.get_service_instance(identifier)
        if instance["status"] != "RUNNING":
            job = variables.get("PA_JOB_ID", "?")
            failure = variables.get("PA_TASK_ERROR") or "see its task logs"
            reason = f"the start of job {job} ended before the service was RUNNING: {failure}"
            api.update_service_instance(identifier, status="ERROR", error=reason)


# -- watching ---------------------------------------------------------------------------------------


def check_instance_status(variables: Variables) -> None:
    """One health check of the start workflow's loop.

    FINISHED (or KILLED): ``IS_FINISHED=true``, node tokens released. A service whose
    process or container is gone while no finish or pause was launched: ERROR, ``IS_FINISHED=true``,
    tokens released, and the task fails. Otherwise the service's output since the last check is printed.
    """
    name = instance_name(variables)
    with helper_client() as api:
        identifier = instance_id(variables)
        instance = api.get_service_instance(identifier)
        if instance["status"] in ("FINISHED", "KILLED", "ERROR"):
            variables["IS_FINISHED"] = "true"
            _release(api, instance)
            if instance["status"] == "ERROR":
                raise ServiceFailure(f"service instance {identifier} is in ERROR")
            return
        states = {str(d["ref"]): _state(api, identifier, d) for d in _engine_deployments(instance)}
        launched = instance["channel"]
        stopping = is_true(launched.get("FINISH_LAUNCHED")) or is_true(launched.get("PAUSE_LAUNCHED"))
        if not stopping and (not states or any(s not in _ALIVE for s in states.values())):
            what = ", ".join(f"{ref}: {state}" for ref, state in states.items()) or "no deployment recorded"
            # Released first: an action asked once ERROR shows must not wait for a token already gone.
            _release(api, instance)
            reason = f"service {name} is no longer running ({what})"
            api.update_service_instance(identifier, status="ERROR", error=reason)
            variables["IS_FINISHED"] = "true"
            raise ServiceFailure(reason)
        since = _marker_time(variables.get("LAST_TIME_MARKER"))
        for deployment in _engine_deployments(instance):
            engine = task_engine(str(deployment["engine"]), api, identifier)
            output = engine.logs(str(deployment["ref"]), since)
            if output:
                print(output, end="" if output.endswith("\n") else "\n")


def fetch_logs(variables: Variables) -> bool | str:
    """The loop's flow script: ``loop = psa.fetch_logs(variables)``; false once ``IS_FINISHED``."""
    variables["LAST_TIME_MARKER"] = datetime.now(UTC).isoformat(timespec="seconds")
    if is_true(variables.get("IS_FINISHED")):
        return False
    return str(variables.get("HEALTH_CHECK_CRON") or DEFAULT_HEALTH_CHECK_CRON)


# -- actions ----------------------------------------------------------------------------------------


def pre_trigger_action(variables: Variables, flag: str) -> None:
    """Before an action: ``flag`` (``FINISH_LAUNCHED``, ``PAUSE_LAUNCHED``, ``RESUME_LAUNCHED``...) goes into
    the instance's channel so the health check does not take the stop for a failure; ``INSTANCE_NAME``
    and ``CREDENTIALS_KEY`` are read from the instance."""
    if flag == "RESUME_LAUNCHED":
        channel = {"RUNNING_STATE": "1", "RESUMED": "true", "PAUSE_LAUNCHED": "false"}
    else:
        channel = {flag: "true"}
    with helper_client() as api:
        instance = api.update_service_instance(instance_id(variables), channel=channel)  # answers it
    for key in ("INSTANCE_NAME", "CREDENTIALS_KEY"):
        if key in instance["variables"]:
            variables[key] = instance["variables"][key]


def post_trigger_action(variables: Variables, target: str) -> None:
    """After an action: ``<INSTANCE_NAME>_status`` holds the instance name when it worked (or says the
    container is already gone); the status becomes ``target``, else ERROR and the task fails."""
    name = instance_name(variables)
    outcome = _read(f"{name}_status")
    with helper_client() as api:
        identifier = instance_id(variables)
        if outcome not in (name, f"Error: No such container: {name}"):
            reason = f"{target.lower()} of {name} failed: {outcome or 'no status written'}"
            api.update_service_instance(identifier, status="ERROR", error=reason)
            raise ServiceFailure(reason)
        if outcome != name:
            print(f"post_trigger_action: warning: {outcome}")
        channel = {"FINISH_DONE": "true"} if target == "FINISHED" else None
        api.update_service_instance(identifier, status=target, channel=channel)


def clean_trigger_action(variables: Variables) -> None:
    """An action's clean script: once the activation's job has ended, give back the node token
    ``PSA_<INSTANCE_NAME>``. The credential ``CREDENTIALS_KEY`` names stays: it is the owner's, and
    job tokens do not manage credentials (the instance's variables are the task's to write, so a token
    that removed the one they name could remove any of the owner's)."""
    with helper_client() as api:
        instance = api.get_service_instance(instance_id(variables))
        if _activation_ended(api, instance):
            api.remove_service_node_token(instance["id"], token_name(instance_name(variables)))


# -- variables and deployments ----------------------------------------------------------------------


def retrieve_variables_from_service_instance_id(
    variables: Variables, source_instance: str, *pairs: str
) -> None:
    """Copy instance variables into job variables: ``pairs`` is ``dst0 src0 dst1 src1…``; a source
    holding ``%{X}`` is resolved against the instance's variables. An empty instance id does nothing."""
    if not str(source_instance).strip():
        return
    if len(pairs) % 2:
        raise ValueError("retrieve_variables_from_service_instance_id: give destination/source pairs")
    with helper_client() as api:
        known = api.get_service_instance(int(source_instance))["variables"]
    for destination, source in zip(pairs[::2], pairs[1::2], strict=True):
        if "%{" in source:
            variables[destination] = re.sub(r"%\{([^}]*)\}", lambda m: known.get(m.group(1), ""), source)
        elif source in known:
            variables[destination] = known[source]


def propagate_variables_to_current_service(variables: Variables, *pairs: str) -> None:
    """Store ``name value…`` pairs in the instance's variables; ``VARIABLE_VALUE`` takes the job variable."""
    if len(pairs) % 2:
        raise ValueError("propagate_variables_to_current_service: give name/value pairs")
    values = {
        name: str(variables.get(name, "")) if value == "VARIABLE_VALUE" else value
        for name, value in zip(pairs[::2], pairs[1::2], strict=True)
    }
    with helper_client() as api:
        api.update_service_instance(instance_id(variables), variables=values)


def add_deployments_and_update_service(variables: Variables, basename: str, count: int | str) -> None:
    """Add the deployments given as JSON in job variables ``<basename>0…<basename>N-1`` (``{endpoint:{id,url,
    proxyfied_url?}, node?, container?}``): status RUNNING when there is one at least, else ERROR."""
    total = int(count)
    deployments = []
    for index in range(total):
        data = json.loads(str(_required(variables, f"{basename}{index}")))
        endpoint = dict(data.get("endpoint") or {})
        if "proxyfied_url" in endpoint:
            endpoint["proxyfiedUrl"] = endpoint.pop("proxyfied_url")
            endpoint["proxyfied"] = True
        deployments.append({**data, "endpoint": endpoint or None})
    proxyfied = any((d["endpoint"] or {}).get("proxyfied") for d in deployments)
    with helper_client() as api:
        identifier = instance_id(variables)
        if total > 0:
            channel = {"RUNNING_STATE": "1", "INSTANCE_NAME": str(variables.get("INSTANCE_NAME", ""))}
            api.update_service_instance(
                identifier,
                status="RUNNING",
                deployments=deployments,
                channel=channel,
                groups=ADMIN_GROUPS if proxyfied else (),
            )
        else:
            message = str(variables.get("DEPLOY_ERROR_MESSAGE") or "no deployment")
            api.update_service_instance(
                identifier,
                status="ERROR",
                channel={"RUNNING_STATE": "2", "DEPLOY_ERROR_MESSAGE": message},
                error=message,
            )


def set_service_finished_if_all_clean_ok(variables: Variables, action: str, status_file: str) -> None:
    """``status_file`` holds ``|``-separated results: any ``ko`` means ERROR (the task fails), else the
    status becomes ``action``."""
    results = Path(status_file).read_text(encoding="utf-8").strip().split("|")
    with helper_client() as api:
        identifier = instance_id(variables)
        if any(r.strip().lower() == "ko" for r in results):
            reason = f"cleaning failed: {'|'.join(results)}"
            api.update_service_instance(identifier, status="ERROR", error=reason)
            raise ServiceFailure(reason)
        api.update_service_instance(
            identifier, status=action, channel={"FINISH_DONE": "true"} if action == "FINISHED" else None
        )


def update_service_and_remove_tokens(variables: Variables, status: str, token: str) -> None:
    """Set ``status`` (unless ``null``); once the activation's job has ended, remove ``token`` everywhere."""
    with helper_client() as api:
        identifier = instance_id(variables)
        if status != "null":
            api.update_service_instance(identifier, status=status)
        if _activation_ended(api, api.get_service_instance(identifier)):
            api.remove_service_node_token(identifier, token)


# -- shared ---------------------------------------------------------------------------------------


def client() -> Client:
    """The SDK acting as the job's owner (only inside a task run by a runyard server), for workflows
    that need more than the helpers (waits, jobs, the catalog)."""
    from runyard.client import Client

    return Client(server_url(), _token())


def helper_client() -> HelperClient:
    """What the helpers use: a small client of their routes, acting as the job's owner
    (:mod:`runyard.services.helper_client`; the SDK costs an action more than its service's own stop)."""
    return HelperClient(server_url(), _token())


def _token() -> str:
    token = os.environ.get("RUNYARD_TOKEN")
    if not token:
        raise ServiceFailure("no RUNYARD_TOKEN: service helpers run inside tasks of a runyard server")
    return token


def server_url() -> str:
    url = os.environ.get("RUNYARD_URL")
    if not url:
        raise ServiceFailure("no RUNYARD_URL: service helpers run inside tasks of a runyard server")
    return url.rstrip("/")


def proxy_url() -> str:
    """Base URL of the origin serving proxied endpoints (the portal's is another: services' pages are
    user code), else the server's."""
    url = os.environ.get("RUNYARD_PROXY_URL")
    return url.rstrip("/") if url else server_url()


def proxy_path(instance: int, endpoint_id: str) -> str:
    return f"/api/v1/service-instances/{instance}/endpoints/{endpoint_id}/"


def instance_id(variables: Variables) -> int:
    value = str(variables.get("PCA_INSTANCE_ID") or "").strip()
    if not value.isdigit():
        raise ServiceFailure(f"PCA_INSTANCE_ID is {value!r}: run this workflow as a service action")
    return int(value)


def instance_name(variables: Variables) -> str:
    return str(_required(variables, "INSTANCE_NAME"))


def token_name(name: str) -> str:
    return f"PSA_{name}"


def _required(variables: Variables, name: str) -> Any:
    value = variables.get(name)
    if value is None or str(value) == "":
        raise ServiceFailure(f"the variable {name} is needed")
    return value


def is_true(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def _activation_ended(api: HelperClient, instance: ServiceInstance) -> bool:
    """Whether the instance's first job (its activation, which watches it) has ended."""
    submissions = instance["job_submissions"]
    return bool(submissions) and not JobStatus(api.job_status(submissions[0]["job_id"])).is_alive


def _engine_deployments(instance: ServiceInstance) -> Iterable[dict[str, Any]]:
    """Deployments with an engine and a reference, one per reference (a container the platform recorded
    at its start may be reported again by the start task)."""
    found = {(d["engine"], d["ref"]): d for d in instance["deployments"] if d.get("engine") and d.get("ref")}
    return list(found.values())


def _state(api: HelperClient, identifier: int, deployment: dict[str, Any]) -> RunState:
    """Through the platform for containers: tasks do not reach the Docker daemon."""
    return task_engine(str(deployment["engine"]), api, identifier).state(str(deployment["ref"]))


def _marker_time(marker: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(marker)).timestamp() if marker else None
    except ValueError:
        return None


def _release(api: HelperClient, instance: ServiceInstance) -> None:
    for held in instance["node_tokens"]:
        api.remove_service_node_token(instance["id"], held["token"], held["node"])

"""What a job token may do: the routes tasks need, for their job's owner, and nothing else.

Every task gets a job token (``RUNYARD_TOKEN``, :mod:`runyard.auth.job_tokens`), so whatever a
task runs holds it: a hijacked dependency, a user's mistake. The token acts for the job's owner
only on what tasks need: submitting and reading the owner's jobs (a task waits for the jobs it
submits), controlling its own job and the jobs its tasks submitted (recorded as their parent, and
theirs), reading the catalog and the services, starting services and running actions on those it
started (``MaaS_ML_Actions`` finishing the instance its job started) and following an instance's
events (not the owner's whole stream), updating the one service
instance its job runs an action of (and getting that instance's notification token), raising
notifications for the owner, the signals of its own job, the owner's synchronization channels, listing
the nodes as the owner sees them, the external endpoints and attached services of its own job, setting
and removing (never reading) the owner's third-party credentials. Never users, passwords, sessions,
reading credentials, changing nodes, events of everything or admin routes, even when the owner is an
admin (a job token's principal is never an admin: :attr:`runyard.auth.User.is_admin`).

A route not listed in :data:`TASK_ROUTES` answers 403 to a job token: new routes are closed to tasks
until someone decides otherwise here.
"""

from __future__ import annotations

from enum import Enum

import sqlalchemy as sa
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from runyard.api.errors import ApiError
from runyard.auth import User
from runyard.errors import NotFoundError
from runyard.services.instances import instance_of_job, load_instance
from runyard.store.jobs import descends_from


class Reach(Enum):
    """How far a job token reaches on a route."""

    OWNER = "the owner's things, as the owner's session would (reads, submissions)"
    OWN_JOB = "only the job whose token it is, and the jobs its tasks submitted (and theirs)"
    SERVED_INSTANCE = "only the service instance whose action the job runs"
    STARTED_INSTANCE = "only the service instances the job (or a job it submitted) started"


#: Routes open to job tokens, by the endpoint's ``router module.function``.
TASK_ROUTES: dict[str, Reach] = {
    "sessions.me": Reach.OWNER,
    "jobs.submit": Reach.OWNER,
    "jobs.list_jobs": Reach.OWNER,
    "jobs.get_job": Reach.OWNER,
    "jobs.get_result": Reach.OWNER,
    "jobs.get_result_map": Reach.OWNER,
    "jobs.get_task": Reach.OWNER,
    "jobs.get_workflow": Reach.OWNER,
    "jobs.get_task_result": Reach.OWNER,
    "jobs.get_logs": Reach.OWNER,
    "jobs.job_events": Reach.OWNER,
    "jobs.control_job": Reach.OWN_JOB,
    "jobs.control_task": Reach.OWN_JOB,
    "jobs.set_priority": Reach.OWN_JOB,
    "job_endpoints.get_endpoints": Reach.OWNER,
    "job_endpoints.put_endpoint": Reach.OWN_JOB,
    "job_endpoints.remove_endpoint": Reach.OWN_JOB,
    "job_endpoints.attach_service": Reach.OWN_JOB,  # and the instance must be the job's owner's
    "job_endpoints.detach_service": Reach.OWN_JOB,
    "credentials.put": Reach.OWNER,  # write-only: a job token never lists nor reads credentials
    "credentials.delete": Reach.OWNER,
    "tuning_journal.read_journal": Reach.OWN_JOB,
    "tuning_journal.append_journal": Reach.OWN_JOB,  # and the route admits the job's own token only
    "userspace.list_root": Reach.OWNER,
    "userspace.get_path": Reach.OWNER,
    "catalog.list_buckets": Reach.OWNER,
    "catalog.get_bucket": Reach.OWNER,
    "catalog.list_objects": Reach.OWNER,
    "catalog.get_object": Reach.OWNER,
    "catalog.get_raw": Reach.OWNER,
    "catalog.list_revisions": Reach.OWNER,
    "catalog.diff_revisions": Reach.OWNER,
    "catalog.get_revision": Reach.OWNER,
    "catalog.get_revision_raw": Reach.OWNER,
    "services.list_services": Reach.OWNER,
    "services.get_service": Reach.OWNER,
    "service_instances.list_instances": Reach.OWNER,
    "service_instances.get_instance": Reach.OWNER,
    "service_instances.get_endpoints": Reach.OWNER,
    "service_instances.instance_events": Reach.OWNER,
    "service_instances.start_service": Reach.OWNER,
    "service_instances.run_action": Reach.STARTED_INSTANCE,
    "service_instances.update_instance": Reach.SERVED_INSTANCE,
    "service_instances.reserve_port": Reach.SERVED_INSTANCE,
    "service_instances.add_node_token": Reach.SERVED_INSTANCE,
    "service_instances.remove_node_token": Reach.SERVED_INSTANCE,
    "service_instances.create_notification_token": Reach.SERVED_INSTANCE,
    "service_containers.start_container": Reach.SERVED_INSTANCE,
    "service_containers.get_container": Reach.SERVED_INSTANCE,
    "service_containers.container_logs": Reach.SERVED_INSTANCE,
    "service_containers.change_container": Reach.SERVED_INSTANCE,
    # ProActive's Service Automation REST (the PSA Java client of Groovy scripts): as their native twins.
    "instances.list_instances": Reach.OWNER,
    "instances.list_active_instances": Reach.OWNER,
    "instances.get_instance": Reach.OWNER,
    "instances.start_service": Reach.OWNER,
    "instances.list_actions": Reach.OWNER,
    "instances.run_action": Reach.STARTED_INSTANCE,
    "instances.update_instance": Reach.SERVED_INSTANCE,
    "service_catalog.list_service_workflows": Reach.OWNER,
    "service_proxy.endpoint_root": Reach.OWNER,
    "service_proxy.proxy_http": Reach.OWNER,
    "service_proxy.proxy_websocket": Reach.OWNER,
    "notifications.create_notification": Reach.OWNER,
    "signals.list_signals": Reach.OWN_JOB,  # and the routes admit the job's own token only
    "signals.ready_for_signal": Reach.OWN_JOB,
    "signals.send_signal": Reach.OWN_JOB,
    "signals.remove_signals": Reach.OWN_JOB,
    "signals.wait_for_signals": Reach.OWN_JOB,
    "channels.list_channels": Reach.OWNER,
    "channels.create_channel": Reach.OWNER,
    "channels.delete_channel": Reach.OWNER,
    "channels.list_entries": Reach.OWNER,
    "channels.get_entry": Reach.OWNER,
    "channels.put_entry": Reach.OWNER,
    "channels.remove_entry": Reach.OWNER,
    "nodes.list_nodes": Reach.OWNER,  # as the owner sees them (rmapi): others' jobs and tasks hidden
}


def route_key(connection: HTTPConnection) -> str | None:
    """``router module.function`` of the route serving ``connection``, if a route was matched."""
    route = connection.scope.get("route")
    endpoint = getattr(route, "endpoint", None)
    if endpoint is None:
        return None
    return f"{endpoint.__module__.rpartition('.')[2]}.{endpoint.__name__}"


async def check_reach(connection: HTTPConnection, engine: sa.Engine, user: User) -> None:
    """403 unless ``user`` is a session, or a job token on a route and object open to it."""
    if user.job is None:
        return
    key = route_key(connection)
    reach = TASK_ROUTES.get(key or "")
    if reach is None:
        raise ApiError(403, "forbidden", "a job token may not do this: log in as the user")
    if reach is Reach.OWN_JOB:
        target = _job_id(connection.path_params.get("job_id", ""))
        if target is None or not await run_in_threadpool(_within, engine, target, user.job):
            reason = f"a job token acts only on its own job ({user.job}) and the jobs it submitted"
            raise ApiError(403, "forbidden", reason)
    if reach is Reach.SERVED_INSTANCE:
        served = await run_in_threadpool(_served_instance, engine, user.job)
        if served is None or connection.path_params.get("instance_id") != str(served):
            raise ApiError(403, "forbidden", "a job token acts only on the service instance its job serves")
    if reach is Reach.STARTED_INSTANCE:
        target = _job_id(connection.path_params.get("instance_id", ""))
        if target is None or not await run_in_threadpool(_started, engine, target, user.job):
            reason = f"a job token runs actions only on the service instances its job ({user.job}) started"
            raise ApiError(403, "forbidden", reason)


def _job_id(text: str) -> int | None:
    """The job id a path names, if it is one (the route's own check comes later, and answers 422)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _within(engine: sa.Engine, job_id: int, ancestor: int) -> bool:
    with engine.connect() as connection:
        return descends_from(connection, job_id, ancestor)


def _started(engine: sa.Engine, instance_id: int, job_id: int) -> bool:
    """Whether the activation of ``instance_id`` was recorded under ``job_id`` or a job it submitted (the
    route starting it records the job of the token that asked)."""
    with engine.connect() as connection:
        try:
            submissions = load_instance(connection, instance_id).job_submissions
        except NotFoundError:
            return False
        parent = submissions[0].parent_job_id if submissions else None
        return parent is not None and descends_from(connection, parent, job_id)


def _served_instance(engine: sa.Engine, job_id: int) -> int | None:
    with engine.connect() as connection:
        return instance_of_job(connection, job_id)

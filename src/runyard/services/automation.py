"""Service Automation: start services, run actions on instances, kill and clean them.

One :class:`ServiceAutomation` lives in the server. It is the only writer of service instances and
serialises its changes with a lock (one server process; each change is one short transaction), so a
read-modify-write of an instance's JSON columns never races another. Jobs are submitted through the
platform like any job; the workflows themselves move the instance between states through the helper
API (:mod:`runyard.services.psa`), as in ProActive: there is no implicit end of a transition, but an
action's job that ends before setting the status leaves the instance in ERROR.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard import formats
from runyard.auth import User
from runyard.catalog import read_raw
from runyard.errors import ConflictError, ForbiddenError, InvalidRequestError, NotFoundError, RunyardError
from runyard.model import JobStatus, Variable, Workflow
from runyard.model.substitution import substitute
from runyard.platform import JobEvent, Platform
from runyard.scheduler.submission import prepare_job
from runyard.services.definitions import Action, Service, find_activation, get_service, list_services
from runyard.services.deployments import Scope, recorded, stop_container
from runyard.services.instances import (
    JobSubmission,
    NodeToken,
    PendingAction,
    ServiceInstance,
    add_job_submission,
    delete_instance,
    find_instances,
    insert_instance,
    instance_of_job,
    load_instance,
    reserved_ports,
    running_nodes,
    update_instance,
)
from runyard.services.ports import NoFreePortError, free_port
from runyard.services.states import ERROR, FINISHED, KILLED, VOID, check_state_name
from runyard.services.stopping import stop_token, stop_workflow
from runyard.store.schema import jobs
from runyard.store.submission_keys import job_of_key

log = logging.getLogger(__name__)

INSTANCE_ID = "PCA_INSTANCE_ID"
INSTANCE_NAME = "INSTANCE_NAME"
SERVICE_TOKEN = "SERVICE_TOKEN"
"""Instance variable: the node token the instance holds (``PSA_<INSTANCE_NAME>``), empty when it holds
none; action tasks that must run on the service's node set ``NODE_ACCESS_TOKEN: $SERVICE_TOKEN``."""
_JOB_ENDED = frozenset(s.value for s in JobStatus if not s.is_alive)
TEST_PAUSE = "RUNYARD_TEST_ONLY_SERVICE_ACTION_PAUSE"
"""Test-only hook, ``POINT:ACTION:SECONDS[,...]``: that action waits there, so a test can kill the server
between recording it and carrying it out. POINT ``before-submit`` (recorded, job not submitted) or
``after-submit`` (job stored, not recorded) with ACTION a workflow name; ``before-stop`` with ACTION
``kill`` (KILLED recorded, nothing stopped)."""
KILL = "kill"
"""The ``action`` of a kill recorded (``PendingAction``) until everything it stops and releases is done."""
STOP_WAIT = 30.0
"""Seconds a kill waits for the jobs stopping the instance's processes on their nodes."""
_NO_REASON = "the service's workflow set the status ERROR without saying why (see its job's logs)"


@dataclass(frozen=True)
class InstanceChange:
    """Told to listeners after a change of an instance is stored."""

    instance_id: int
    owner: str
    instance: ServiceInstance | None
    """As stored after the change; ``None`` once removed."""
    changed: tuple[str, ...]
    """Which of its fields changed (``status``, ``transition``, ``deployments``...)."""


class ServiceAutomation:
    """Start with :meth:`start_monitor`; every method checks the user may see the instance."""

    def __init__(
        self,
        platform: Platform,
        *,
        port_range: tuple[int, int] | None = None,
    ) -> None:
        self.platform = platform
        self.port_range = port_range
        # Where tasks keep the instances' folders (RUNYARD_SERVICES_DIR): process deployments live there.
        self.services_dir = platform.settings.data_dir / "services"
        # Serialises changes of instances (platform code recording what it started holds it too).
        self._lock = threading.RLock()
        self._ended_jobs: queue.Queue[int | None] = queue.Queue()
        # Jobs of instances: the only ones whose end matters here (the others cost no query).
        self._watched: set[int] = set()
        self._monitor = threading.Thread(target=self._watch_jobs, name="runyard-services", daemon=True)
        self._listeners: list[Callable[[InstanceChange], None]] = []
        self._test_pauses = _test_pauses(os.environ.get(TEST_PAUSE, ""))

    # -- life cycle ----------------------------------------------------------------------------

    def start_monitor(self) -> None:
        """Watch the ends of the instances' jobs from now on, after settling those that ended while the
        server was down."""
        self._reconcile_pending()
        with self.platform.engine.connect() as connection:
            instances = [i for i in find_instances(connection) if i.status != KILLED]
        self._watched.update(s.job_id for i in instances for s in i.job_submissions)
        self.platform.listen(self._heard)
        self._monitor.start()
        for job_id in list(self._watched):
            self._ended_jobs.put(job_id)  # _job_ended passes over those still alive

    def stop_monitor(self) -> None:
        self._ended_jobs.put(None)
        if self._monitor.is_alive():
            self._monitor.join(timeout=5)

    def listen(self, listener: Callable[[InstanceChange], None]) -> None:
        """Call ``listener(InstanceChange)`` after each stored change of an instance."""
        self._listeners.append(listener)

    def changed(self, instance_id: int, fields: Sequence[str]) -> None:
        """Tell the listeners that ``fields`` of the instance changed: call after the commit."""
        if not self._listeners:
            return
        try:
            with self.platform.engine.connect() as connection:
                instance = load_instance(connection, instance_id)
        except NotFoundError:  # removed meanwhile: its removal was told
            return
        self._tell(InstanceChange(instance_id, instance.owner, instance, tuple(fields)))

    def _tell(self, change: InstanceChange) -> None:
        for listener in self._listeners:
            listener(change)

    # -- reading ---------------------------------------------------------------------------------

    def services(self, user: User) -> list[Service]:
        with self.platform.engine.connect() as connection:
            return list_services(connection, user)

    def service(self, user: User, service_id: str, bucket: str | None = None) -> Service:
        with self.platform.engine.connect() as connection:
            return get_service(connection, user, service_id, bucket)

    def instances(self, user: User, ended: bool | None = None) -> list[ServiceInstance]:
        with self.platform.engine.connect() as connection:
            return find_instances(connection, owner=None if user.is_admin else user.name, ended=ended)

    def instance(self, user: User, instance_id: int) -> ServiceInstance:
        with self.platform.engine.connect() as connection:
            return _visible(load_instance(connection, instance_id), user)

    def allowed_actions(
        self, user: User, instance: ServiceInstance, services: Mapping[tuple[str, str], Service] | None = None
    ) -> list[Action]:
        """Actions that may run on the instance now (none while it transitions, once ended, or when its
        bucket is gone or unreadable): those of the bucket it was activated from, never another's.

        ``services``: the user's services by id and bucket, when the caller read them once for many
        instances."""
        if instance.transition is not None or instance.ended:
            return []
        if services is not None:
            service = services.get((instance.service_id, instance.bucket))
        else:
            service = self._service_of(user, instance)
        if service is None:
            return []
        return [a for a in service.actions_from(instance.status) if not a.is_activation]

    # -- actions -------------------------------------------------------------------------------

    def start(
        self,
        user: User,
        service_id: str,
        overrides: Mapping[str, str],
        *,
        workflow: str | None = None,
        bucket: str | None = None,
        parent_job_id: int | None = None,
    ) -> ServiceInstance:
        """Create an instance in VOID and submit the activation: the variables are checked first, and
        nothing is stored when they are wrong (``WorkflowError``)."""
        with self.platform.engine.connect() as connection:
            action = find_activation(connection, user, service_id, workflow, bucket)
            definition = _load_workflow(connection, user, action)
        target = action.target_from(VOID)
        assert target is not None
        _check(definition, {}, overrides, user)
        with self._lock:
            with self.platform.engine.begin() as connection:
                instance_id = insert_instance(
                    connection,
                    service_id=service_id,
                    bucket=action.bucket,
                    owner=user.name,
                    status=VOID,
                    icon=action.icon,
                    variables={SERVICE_TOKEN: ""},
                )
                pending = _intend(connection, instance_id, action, VOID, target, parent_job_id)
            self.changed(instance_id, ("status", "transition"))
            return self._carry_out(user, instance_id, pending, definition, {}, overrides)

    def run_action(
        self,
        user: User,
        instance_id: int,
        action_name: str,
        overrides: Mapping[str, str],
        *,
        parent_job_id: int | None = None,
    ) -> ServiceInstance:
        """Submit the action's workflow with the instance's variables, ``PCA_INSTANCE_ID`` and the
        user's overrides; ``ConflictError`` (with the allowed actions) when the state forbids it."""
        instance = self.instance(user, instance_id)
        service = self._service_of(user, instance)
        if service is None:
            raise NotFoundError(
                f"service {instance.service_id!r} is no longer in bucket {instance.bucket!r}, the bucket "
                f"service instance {instance_id} was activated from"
            )
        action = service.action(action_name)
        allowed = self.allowed_actions(user, instance, {(service.id, service.bucket): service})
        if action not in allowed:
            raise ConflictError(
                _refusal(instance, action_name, allowed), {"allowed": [a.name for a in allowed]}
            )
        target = action.target_from(instance.status)
        assert target is not None
        with self.platform.engine.connect() as connection:
            definition = _load_workflow(connection, user, action)
        _check(definition, instance.variables, overrides, user)
        with self._lock:
            with self.platform.engine.begin() as connection:
                pending = _intend(connection, instance_id, action, instance.status, target, parent_job_id)
            self.changed(instance_id, ("transition", "error"))
            return self._carry_out(user, instance_id, pending, definition, instance.variables, overrides)

    def kill(self, user: User, instance_id: int) -> ServiceInstance:
        """Force KILLED from any state: stop its jobs, processes and containers; release tokens and ports."""
        with self._lock:
            instance = self.instance(user, instance_id)
            if instance.ended:
                raise ConflictError(
                    f"service instance {instance_id} is already {instance.status}", {"allowed": []}
                )
            # Intent before effect: KILLED and what is left to do are recorded, then done.
            pending = PendingAction("", KILL, f"{instance.status} -> {KILLED}", None, time.time())
            with self.platform.engine.begin() as connection:
                update_instance(
                    connection,
                    instance_id,
                    status=KILLED,
                    transition=None,
                    transition_job_id=None,
                    pending_action=pending,
                    finished_at=time.time(),
                )
        self.changed(instance_id, ("status", "transition"))
        self._carry_out_kill(instance, pending)
        return self.instance(user, instance_id)

    def _carry_out_kill_recovered(self, instance: ServiceInstance, pending: PendingAction) -> None:
        """A kill recorded before the server stopped, once the scheduler recovered: its stops are pinned
        to the nodes it knows then (before, it knows none)."""
        try:
            self.platform.scheduler.recovered.result()
        except RunyardError as error:  # it stopped: the next start of the server tries again
            log.warning("service instance %s: kill not carried out: %s", instance.id, error)
            return
        self._carry_out_kill(instance, pending)

    def _carry_out_kill(self, instance: ServiceInstance, pending: PendingAction) -> None:
        """Kill the instance's jobs, stop its containers and (on their nodes) its processes, release its
        tokens and ports, then clear the kill's record."""
        self._crash_window("before-stop", pending)
        self._kill_jobs(instance)
        for deployment in instance.deployments:
            if deployment.get("engine") == "docker":
                self._stop_container_quietly(instance.id, deployment)
        stopped = self._stop_processes(instance)
        self._release(instance)
        if stopped:  # else the kill stays recorded: the next start of the server tries the stops again
            with self.platform.engine.begin() as connection:
                update_instance(connection, instance.id, pending_action=None)

    def clean(self, user: User, instance_id: int) -> None:
        """Remove a FINISHED or KILLED instance's record (its jobs stay in the job list; those still
        running, such as a health check about to notice the end, are killed)."""
        with self._lock:
            instance = self.instance(user, instance_id)
            if not instance.ended:
                raise ConflictError(
                    f"service instance {instance_id} is {instance.status}: only FINISHED or KILLED instances "
                    "are cleaned (kill it first)",
                    {"allowed": ["kill"]},
                )
            with self.platform.engine.begin() as connection:
                delete_instance(connection, instance_id)
        self._tell(InstanceChange(instance_id, instance.owner, None, ("removed",)))
        self._kill_jobs(instance)
        self._release(instance)

    # -- what service workflows call (the helper API) -------------------------------------------

    def update(
        self,
        user: User,
        instance_id: int,
        *,
        status: str | None = None,
        variables: Mapping[str, str] | None = None,
        deployments: Sequence[Mapping[str, Any]] = (),
        channel: Mapping[str, str] | None = None,
        groups: Sequence[str] = (),
        error: str | None = None,
    ) -> ServiceInstance:
        """Apply what a workflow reports. Setting a status ends the running transition (VOID, given back by
        a start that updates the whole instance it read, as ProActive accepts, changes nothing); ``error``
        says why it is ERROR. Deployments are recorded as the platform checked them (:mod:`.deployments`)."""
        with self._lock:
            instance = self.instance(user, instance_id)
            if instance.status == KILLED:
                raise ConflictError(f"service instance {instance_id} was killed", {"allowed": []})
            values: dict[str, Any] = {}
            if deployments:
                scope = self._scope(instance)
                first = len(instance.deployments) + 1
                added = [recorded(d, number, scope) for number, d in enumerate(deployments, first)]
                values["deployments"] = [*instance.deployments, *added]
            if variables:
                merged = {**instance.variables, **{str(k): str(v) for k, v in variables.items()}}
                values["variables"] = merged
                values["label"] = merged.get(INSTANCE_NAME, instance.label)
            if channel:
                values["channel"] = {**instance.channel, **{str(k): str(v) for k, v in channel.items()}}
            if groups:
                values["groups"] = sorted({*instance.groups, *groups})
            if status is not None and status.upper() == VOID == instance.status:
                status = None  # its start gives back what it read (ProActive's get-then-update)
            if status is not None:
                values.update(
                    status=check_state_name(status),
                    transition=None,
                    transition_job_id=None,
                    pending_action=None,
                )
                values["finished_at"] = time.time() if values["status"] == FINISHED else None
                values["error"] = (error or _NO_REASON) if values["status"] == ERROR else None
            if values:
                with self.platform.engine.begin() as connection:
                    update_instance(connection, instance_id, **values)
                self.changed(instance_id, sorted(values))
        if status is not None and values["status"] == FINISHED:
            self._release_when_idle(instance_id)
        return self.instance(user, instance_id)

    def reserve_port(self, user: User, instance_id: int, port: int | None = None) -> int:
        """Reserve ``port`` (or a free one of the range when ``None`` or -1) for the instance; a port
        another instance holds or something listens on is refused (409)."""
        with self._lock:
            instance = self.instance(user, instance_id)
            with self.platform.engine.begin() as connection:
                taken = reserved_ports(connection)
                if port is None or port == -1:
                    port = free_port(taken, self.port_range)
                elif not 1 <= port <= 65535:
                    raise InvalidRequestError(f"port {port} is not between 1 and 65535")
                elif port in taken and port not in instance.ports:
                    raise ConflictError(f"port {port} is reserved by another service instance")
                elif port not in instance.ports:
                    port = _unused(port)
                update_instance(connection, instance_id, ports=tuple(sorted({*instance.ports, port})))
            self.changed(instance_id, ("ports",))
        return port

    def add_node_token(self, user: User, instance_id: int, node: str, token: str) -> ServiceInstance:
        """Reserve ``node`` for the instance: it then only takes tasks holding ``token``. Only the
        instance's own token (``PSA_<INSTANCE_NAME>``), only on a node running one of its tasks now, and
        never one another live instance holds there."""
        with self._lock:
            instance = self.instance(user, instance_id)
            own = f"PSA_{instance.variables.get(INSTANCE_NAME) or ''}"
            if token != own or token == "PSA_":
                raise InvalidRequestError(
                    f"service instance {instance_id} may only hold its own node token {own!r}, not {token!r}"
                )
            with self.platform.engine.connect() as connection:
                if node not in running_nodes(connection, _job_ids(instance)):
                    raise ForbiddenError(
                        f"node {node!r} runs no task of service instance {instance_id}: only the nodes "
                        "running its tasks can be reserved for it"
                    )
                holders = [
                    other.id
                    for other in find_instances(connection, ended=False)
                    if other.id != instance_id and NodeToken(node, token) in other.node_tokens
                ]
            if holders:
                raise ConflictError(f"service instance {holders[0]} holds {token!r} on node {node!r}")
            self.platform.add_node_token(node, token)
            held = tuple(dict.fromkeys([*instance.node_tokens, NodeToken(node, token)]))
            variables = {**instance.variables, SERVICE_TOKEN: token}
            with self.platform.engine.begin() as connection:
                update_instance(connection, instance_id, node_tokens=held, variables=variables)
            self.changed(instance_id, ("node_tokens", "variables"))
        return self.instance(user, instance_id)

    def remove_node_token(
        self, user: User, instance_id: int, node: str | None, token: str
    ) -> ServiceInstance:
        """Give back ``token`` on ``node`` (or on every node the instance holds it on); only tokens the
        instance added are removed, others are left alone."""
        with self._lock:
            instance = self.instance(user, instance_id)
            given = [t for t in instance.node_tokens if t.token == token and node in (None, t.node)]
            for held in given:
                self.platform.remove_node_token(held.node, held.token)
            kept = tuple(t for t in instance.node_tokens if t not in given)
            variables = {**instance.variables, SERVICE_TOKEN: kept[-1].token if kept else ""}
            with self.platform.engine.begin() as connection:
                update_instance(connection, instance_id, node_tokens=kept, variables=variables)
            self.changed(instance_id, ("node_tokens", "variables"))
        return self.instance(user, instance_id)

    # -- inside ----------------------------------------------------------------------------------

    def _scope(self, instance: ServiceInstance) -> Scope:
        """What the platform knows belongs to the instance now, to check its workflow's claims against."""
        with self.platform.engine.connect() as connection:
            names = running_nodes(connection, _job_ids(instance))
        hosts = frozenset(view.host for view in self.platform.node_views() if view.name in names)
        containers = frozenset(str(d["ref"]) for d in instance.deployments if d.get("engine") == "docker")
        return Scope(
            instance.id, instance.owner, self.services_dir, frozenset(instance.ports), hosts, containers
        )

    def _service_of(self, user: User, instance: ServiceInstance) -> Service | None:
        """The service as its instance's bucket defines it now (``None``: gone, or not readable)."""
        with self.platform.engine.connect() as connection:
            try:
                return get_service(connection, user, instance.service_id, instance.bucket)
            except NotFoundError:
                return None

    def _carry_out(
        self,
        user: User,
        instance_id: int,
        pending: PendingAction,
        definition: Workflow,
        known: Mapping[str, str],
        overrides: Mapping[str, str],
    ) -> ServiceInstance:
        """Submit the job of the action :func:`_intend` recorded (under the lock), then record the job."""
        workflow, values = _with_instance_variables(
            definition, {**known, INSTANCE_ID: str(instance_id)}, overrides
        )
        with self._lock:
            self._crash_window("before-submit", pending)
            try:
                job = self.platform.submit_later(
                    workflow, values, owner=user.name, submission_key=pending.key
                ).result()
            except RunyardError as error:
                self._fail_transition(instance_id, f"{pending.transition} not submitted: {error}")
                raise
            self._crash_window("after-submit", pending)
            self._adopt(instance_id, pending, job.id, job.variables)
        return self.instance(user, instance_id)

    def _adopt(
        self, instance_id: int, pending: PendingAction, job_id: int, job_variables: Mapping[str, Any]
    ) -> None:
        """Record ``job_id`` as the job of the pending action (its variables merged into the instance's)."""
        variables = {k: substitute(str(v), {"PA_JOB_ID": str(job_id)}) for k, v in job_variables.items()}
        with self.platform.engine.begin() as connection:
            instance = load_instance(connection, instance_id)
            merged = {**instance.variables, **variables}
            update_instance(
                connection,
                instance_id,
                variables=merged,
                label=merged.get(INSTANCE_NAME, instance.label),
                transition=pending.transition,
                transition_job_id=job_id,
                pending_action=None,
            )
            add_job_submission(
                connection,
                instance_id,
                JobSubmission(
                    job_id, pending.action, pending.transition, pending.parent_job_id, pending.asked_at
                ),
            )
        self.changed(instance_id, ("transition", "variables"))
        self._watched.add(job_id)
        self._ended_jobs.put(job_id)  # in case it ended before it was watched

    def _fail_transition(self, instance_id: int, reason: str) -> None:
        """End the instance's transition in ERROR with ``reason`` (and forget any action pending)."""
        with self.platform.engine.begin() as connection:
            update_instance(
                connection,
                instance_id,
                status=ERROR,
                transition=None,
                transition_job_id=None,
                pending_action=None,
                error=reason,
            )
        self.changed(instance_id, ("status", "transition", "error"))

    def _reconcile_pending(self) -> None:
        """Settle the actions recorded but not known as submitted when the server stopped: a job stored
        under the action's key is adopted; without one the action never ran, and the transition fails
        (ERROR, saying so): never submitted twice, never guessed."""
        with self.platform.engine.connect() as connection:
            pending = [i for i in find_instances(connection) if i.pending_action is not None]
        for instance in pending:
            action = instance.pending_action
            assert action is not None
            if action.action == KILL:  # KILLED is recorded: what it stops and releases is done again
                log.info("service instance %s: its kill is carried out again", instance.id)
                threading.Thread(
                    target=self._carry_out_kill_recovered,
                    args=(instance, action),
                    name="runyard-kill",
                    daemon=True,
                ).start()
                continue
            with self._lock:
                with self.platform.engine.connect() as connection:
                    job = job_of_key(connection, instance.owner, action.key, now=time.time())
                    variables = None if job is None else _job_variables(connection, job.id)
                if job is None or variables is None:
                    log.warning(
                        "service instance %s: the job of %s was never stored", instance.id, action.action
                    )
                    self._fail_transition(
                        instance.id,
                        f"{action.transition} failed: the server stopped before the job of {action.action} "
                        "was stored (nothing ran; run the action again)",
                    )
                else:
                    log.info("service instance %s: job %s of %s adopted", instance.id, job.id, action.action)
                    self._adopt(instance.id, action, job.id, variables)

    def _crash_window(self, point: str, pending: PendingAction) -> None:
        """Test-only: wait here when :data:`TEST_PAUSE` names this point and action."""
        seconds = self._test_pauses.get((point, pending.action.split("/")[-1]))
        if seconds is not None:
            time.sleep(seconds)

    def _heard(self, event: JobEvent) -> None:
        if event.task is None and event.status in _JOB_ENDED and event.job_id in self._watched:
            self._ended_jobs.put(event.job_id)

    def _watch_jobs(self) -> None:
        while (job_id := self._ended_jobs.get()) is not None:
            try:
                self._job_ended(job_id)
            except Exception:  # the monitor must outlive a bad row: log it and go on
                log.exception("service automation: handling the end of job %s failed", job_id)

    def _job_ended(self, job_id: int) -> None:
        # Under the lock: a job that ended at once is only known as the instance's once _submit recorded it.
        with self._lock:
            with self.platform.engine.connect() as connection:
                instance_id = instance_of_job(connection, job_id)
                status = connection.execute(sa.select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
                if instance_id is None or status is None or status not in _JOB_ENDED:
                    if instance_id is None or status is None:
                        self._watched.discard(job_id)  # its instance or the job was removed
                    return
                instance = load_instance(connection, instance_id)
            self._watched.discard(job_id)
            if instance.transition_job_id == job_id and instance.transition is not None:
                reason = (
                    f"the job {job_id} of {instance.transition} ended {status} "
                    "before setting the instance's status"
                )
                log.warning("service instance %s: %s", instance_id, reason)
                self._fail_transition(instance_id, reason)
        self._release_when_idle(instance_id)

    def _release_when_idle(self, instance_id: int) -> None:
        """Once a FINISHED instance runs no job any more, its node tokens and ports go back."""
        with self.platform.engine.connect() as connection:
            instance = load_instance(connection, instance_id)
        if instance.status == FINISHED and not self._alive_jobs(instance):
            self._release(instance)

    def _release(self, instance: ServiceInstance) -> None:
        """Give back its node tokens and ports (the record is updated if it still exists)."""
        with self._lock:
            for held in instance.node_tokens:
                try:
                    self.platform.remove_node_token(held.node, held.token)
                except RunyardError as error:
                    log.warning(
                        "service instance %s: token %s not removed: %s", instance.id, held.token, error
                    )
            variables = {**instance.variables, SERVICE_TOKEN: ""}
            with self.platform.engine.begin() as connection:
                update_instance(connection, instance.id, node_tokens=(), ports=(), variables=variables)
            self.changed(instance.id, ("node_tokens", "ports", "variables"))

    def _kill_jobs(self, instance: ServiceInstance) -> None:
        for job_id in self._alive_jobs(instance):
            try:
                self.platform.kill_job(job_id)
            except RunyardError as error:  # it ended meanwhile
                log.info("service instance %s: job %s not killed: %s", instance.id, job_id, error)

    def _alive_jobs(self, instance: ServiceInstance) -> list[int]:
        ids = _job_ids(instance)
        if not ids:
            return []
        with self.platform.engine.connect() as connection:
            rows = connection.execute(sa.select(jobs.c.id, jobs.c.status).where(jobs.c.id.in_(ids))).all()
        return [row.id for row in rows if row.status not in _JOB_ENDED]

    def _stop_container_quietly(self, instance_id: int, deployment: Mapping[str, Any]) -> None:
        try:
            stop_container(deployment, instance_id)
        except Exception as error:  # an engine that cannot be reached must not stop the kill
            log.warning(
                "service instance %s: deployment %s not stopped: %s", instance_id, deployment.get("id"), error
            )

    def _stop_processes(self, instance: ServiceInstance) -> bool:
        """Stop the instance's recorded processes on their nodes: a stop job per node (pinned there by a
        token of the platform's), waited for at most ``STOP_WAIT`` seconds in all (:mod:`.stopping`).
        Whether every stop job finished."""
        known = {view.name for view in self.platform.node_views()}
        by_node: dict[str | None, list[Mapping[str, Any]]] = {}
        for deployment in instance.deployments:
            if deployment.get("engine") == "process" and isinstance(deployment.get("process"), Mapping):
                node = deployment.get("node")
                name = node.get("name") if isinstance(node, Mapping) else None
                by_node.setdefault(name if name in known else None, []).append(deployment)
        token = stop_token(instance.id)
        stops: list[tuple[str | None, int | None]] = []
        for node, deployments in by_node.items():
            if node is not None:
                self.platform.add_node_token(node, token)
            try:
                workflow = stop_workflow(instance.id, deployments, token if node is not None else None)
                stops.append((node, self.platform.submit(workflow, owner=instance.owner)))
            except RunyardError as error:
                log.warning("service instance %s: processes on %s not stopped: %s", instance.id, node, error)
                stops.append((node, None))
        deadline, stopped = time.monotonic() + STOP_WAIT, True
        for node, job_id in stops:
            status = JobStatus.FAILED
            if job_id is not None:
                status = self.platform.wait(job_id, max(0.0, deadline - time.monotonic()))
                if status.is_alive:
                    self.platform.kill_job(job_id)
            if status != JobStatus.FINISHED:
                stopped = False
                log.warning(
                    "service instance %s: the stop job %s on %s is %s", instance.id, job_id, node, status
                )
            if node is not None:
                self.platform.remove_node_token(node, token)
        return stopped


def _intend(
    connection: sa.Connection,
    instance_id: int,
    action: Action,
    source: str,
    target: str,
    parent_job_id: int | None,
) -> PendingAction:
    """Record the transition and the action whose job is about to be submitted, with the key the job
    will be stored under (intent before effect); ``ConflictError`` when another action got there first."""
    now = load_instance(connection, instance_id)
    if now.transition is not None or now.status != source:
        raise ConflictError(
            f"service instance {instance_id} is now {now.transition or now.status}: "
            f"{action.name} was asked for in state {source}",
            {"allowed": []},
        )
    transition = f"{source} -> {target}"
    pending = PendingAction(
        f"runyard-service-action-{secrets.token_hex(16)}",
        f"{action.bucket}/{action.name}",
        transition,
        parent_job_id,
        time.time(),
    )
    update_instance(
        connection,
        instance_id,
        transition=transition,
        transition_job_id=None,
        pending_action=pending,
        error=None,
    )
    return pending


def _test_pauses(value: str) -> dict[tuple[str, str], float]:
    """(point, action) → seconds, of a :data:`TEST_PAUSE` value."""
    pauses = {}
    for spec in filter(None, value.split(",")):
        point, action, seconds = spec.split(":")
        pauses[point, action] = float(seconds)
    return pauses


def _job_variables(connection: sa.Connection, job_id: int) -> dict[str, Any] | None:
    found = connection.execute(sa.select(jobs.c.variables).where(jobs.c.id == job_id)).scalar()
    return None if found is None else dict(found)


def _unused(port: int) -> int:
    """``port`` if nothing listens on it now: a port already in use (the server's, a database's) is not
    one the instance's service may take, nor one its endpoint may send the proxy to."""
    try:
        return free_port((), (port, port))
    except NoFreePortError:
        raise ConflictError(f"port {port} is in use on this host: it cannot be reserved") from None


def _job_ids(instance: ServiceInstance) -> list[int]:
    return [s.job_id for s in instance.job_submissions]


def _visible(instance: ServiceInstance, user: User) -> ServiceInstance:
    if not (user.is_admin or user.name == instance.owner):
        raise ForbiddenError(f"service instance {instance.id} belongs to another user")
    return instance


def _load_workflow(connection: sa.Connection, user: User, action: Action) -> Workflow:
    content = read_raw(connection, user, action.bucket, action.name, action.revision)
    workflow = formats.loads(content.data, source=f"catalog:{action.bucket}/{action.name}")
    return dataclasses.replace(workflow, source=None)


def _with_instance_variables(
    workflow: Workflow, known: Mapping[str, str], overrides: Mapping[str, str]
) -> tuple[Workflow, dict[str, str]]:
    """The workflow with the instance's variables it does not declare added (PSA submits them all), and
    the values: the instance's, then the user's overrides."""
    declared = {v.name for v in workflow.variables}
    extra = [Variable(name, str(value)) for name, value in known.items() if name not in declared]
    values = {name: str(value) for name, value in known.items() if name in declared}
    values.update(overrides)
    return dataclasses.replace(workflow, variables=[*workflow.variables, *extra]), values


def _check(workflow: Workflow, known: Mapping[str, str], overrides: Mapping[str, str], user: User) -> None:
    """Raise ``WorkflowError`` for unknown or ill-typed values before anything is stored."""
    checked, values = _with_instance_variables(workflow, {**known, INSTANCE_ID: "0"}, overrides)
    prepare_job(checked, values, owner=user.name, now=time.time())


def _refusal(instance: ServiceInstance, action: str, allowed: Sequence[Action]) -> str:
    if instance.transition is not None:
        return (
            f"service instance {instance.id} is in transition ({instance.transition}): only kill is allowed"
        )
    if instance.ended:
        return f"service instance {instance.id} is {instance.status}: no action applies"
    names = ", ".join(a.name for a in allowed) or "none"
    return f"action {action!r} does not apply to an instance in state {instance.status} (allowed: {names})"

"""A run executed: a runyard job of one task whose spec is the platform's (server side).

``launch`` (the RUNNING state action) records the intent first: the run goes PROVISIONED → QUEUING, then
a job is submitted as the run's owner with a submission key derived from the run's secret (so a server
that stopped in between finds the job, never submits it twice), its id recorded → QUEUED. The job has
one task, named like the job ``app-engine <task name> <run id>``, and carries the generic information
``app-engine.run`` (the portal and Job Analytics show it like any job: priorities, kill, durability).

Its spec is the platform's: :func:`spec_hook` recognises the job of a run **from the platform's records**
(the run's recorded job, or the job stored under the run's submission key while QUEUING), never from what
the job carries (anyone may copy the generic information), and replaces every script of the task with the
node-side runner (:mod:`runyard.appengine.runner`) and a selection script checking the descriptor's
resources. It runs outside the sandbox (``platform=True``, no account): the runner drives the node's
container engine, user code runs only in the container.

The runner asks ``GET …/task-runs/{run}/execution`` what to run (the job token of the run's job only:
:mod:`runyard.api.app_engine.execution`) and reports the container started (→ RUNNING) and then its
end: in local mode the server reads the outputs from the run's outputs folder, in cluster mode from the
zip the runner uploads to ``POST …/task-runs/{run}/{secret}/outputs.zip``; each output is read with
:func:`runyard.appengine.files.read_output` (symbolic links refused): FINISHED with the outputs stored, or
FAILED naming the missing or invalid output. The job's end is followed: a job that ends before the run
reported its outputs (container failed, job killed, node lost for good) leaves the run FAILED with the
reason. States: job stored → QUEUED, task started on a node → PENDING, container started → RUNNING.

After a restart (:meth:`Execution.start`), runs in QUEUING find their job by its key (or are submitted
then), runs whose job ended meanwhile are finalised.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from runyard.appengine.descriptor import Descriptor, Resources, descriptor_of
from runyard.appengine.errors import RUN_NOT_FOUND, RUN_STATE, AppEngineError
from runyard.appengine.files import check_matching, read_output
from runyard.appengine.runner import RUN_VARIABLE, unpack
from runyard.appengine.storage import Storage
from runyard.errors import InvalidRequestError, RunyardError
from runyard.formats.mapping import from_mapping
from runyard.model import JobStatus, Script, ScriptExecutable, SelectionScript
from runyard.nodes.protocol import TaskSpec
from runyard.platform import JobEvent, Platform, SpecHook
from runyard.scheduler.state import JobState
from runyard.store.schema import app_engine_runs, app_engine_tasks, jobs, tasks
from runyard.store.submission_keys import job_of_key

log = logging.getLogger(__name__)

Row = sa.RowMapping | Mapping[str, Any]
"""A row of ``app_engine_runs`` or ``app_engine_tasks`` (or a copy of one)."""

RUN_INFORMATION = "app-engine.run"
"""The generic information naming the run a job executes (shown by the portal; never trusted)."""
TASK_NAME_PREFIX = "app-engine"
CONTAINER_PREFIX = "runyard-app-engine-"
CONTAINER_LABEL = "runyard.app-engine.run"
IMAGE_TAR = "image.tar"
"""The image tar in the task's folder (:mod:`runyard.appengine.tasks`)."""

QUEUING, QUEUED, PENDING, RUNNING = "QUEUING", "QUEUED", "PENDING", "RUNNING"
FINISHED, FAILED = "FINISHED", "FAILED"
ACTIVE = (QUEUING, QUEUED, PENDING, RUNNING)

RESOURCES_REFUSED = "APPE-runyard-resources-refused"
MAX_OUTPUTS_BYTES = 4 * 1024**3
"""Most bytes an outputs archive may unpack to (cluster mode)."""
MAX_OUTPUTS_MEMBERS = 100_000
"""Most members an outputs archive may hold."""
PIDS_LIMIT = 1024
"""Most processes a task's container may run."""
COMMIT_WAIT = 10.0
"""Seconds a launch in a caller's transaction waits for that transaction's commit to show."""

UNKNOWN_OUTPUT = "APPE-internal-task-run-unknown-output"
SUBMIT, RECOVER = "submit", "recover"  # what the execution's thread is asked, besides job events

_PLACEHOLDER = (
    "raise SystemExit('this task runs only as the App Engine run the platform recorded for its job')\n"
)
#: The node selection: the host has the CPUs, the memory and a GPU the descriptor asks for.
_SELECTION = """\
import os
cpus, ram, gpus = (int(value) for value in args)
memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
has_gpu = os.path.exists("/dev/nvidia0")  # the container asks the engine for a GPU (NVIDIA's runtime)
selected = (os.cpu_count() or 1) >= cpus and memory >= ram and (gpus == 0 or has_gpu)
"""
_RUNNER = "from runyard.appengine import runner\nrunner.main()\n"


def submission_key(run: Row) -> str:
    """The key the run's job is submitted under: derived from the run's secret, so its owner, who never
    sees the secret, cannot take it first with a job of theirs."""
    digest = hmac.new(str(run["secret"]).encode(), f"job of {run['id']}".encode(), hashlib.sha256)
    return f"app-engine-{digest.hexdigest()[:40]}"


def job_of_run(connection: sa.Connection, run: Row) -> int | None:
    """The job the platform records for ``run``: its ``job_id``, or while QUEUING the job stored under
    its submission key (the job may start before its id is recorded)."""
    if run["job_id"] is not None:
        return int(run["job_id"])
    if run["state"] != QUEUING:
        return None
    keyed = job_of_key(connection, run["owner"], submission_key(run), now=time.time())
    return None if keyed is None else keyed.id


def find_run(connection: sa.Connection, run_id: str) -> sa.RowMapping | None:
    return (
        connection.execute(sa.select(app_engine_runs).where(app_engine_runs.c.id == run_id))
        .mappings()
        .first()
    )


def find_task(connection: sa.Connection, task_id: str) -> sa.RowMapping:
    row = (
        connection.execute(sa.select(app_engine_tasks).where(app_engine_tasks.c.id == task_id))
        .mappings()
        .first()
    )
    if row is None:
        raise AppEngineError(404, "APPE-internal-task-not-found", "task not found")
    return row


def move(
    connection: sa.Connection, run_id: str, state: str, expected: tuple[str, ...], **fields: Any
) -> bool:
    """Compare-and-set the run's state; whether it moved."""
    done = connection.execute(
        app_engine_runs.update()
        .where(app_engine_runs.c.id == run_id, app_engine_runs.c.state.in_(expected))
        .values(state=state, updated_at=time.time(), **fields)
    )
    return done.rowcount == 1


def resources_of(descriptor: Row) -> Resources:
    """What the task's container gets: the descriptor's ``configuration.resources`` (its defaults: 1Gi,
    1 CPU, no GPU)."""
    return _descriptor_of(descriptor).resources


def check_resources(descriptor: Row, max_ram: int | None) -> None:
    """400 for a run whose task asks more memory than the server gives a run (``app_engine_max_ram``)."""
    ram = resources_of(descriptor).ram
    if max_ram is not None and ram > max_ram:
        raise AppEngineError(
            400,
            RESOURCES_REFUSED,
            f"the task asks {ram} bytes of memory, more than this server gives a run "
            f"(app_engine_max_ram: {max_ram} bytes)",
        )


def _descriptor_of(document: Any) -> Descriptor:
    return descriptor_of(dict(document))


def job_name(task: Row, run_id: str) -> str:
    return f"{TASK_NAME_PREFIX} {task['name']} {run_id}"


def task_name(task: Row, run_id: str) -> str:
    """The name of the job's one task: the job's, spaces and what task names refuse as ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{TASK_NAME_PREFIX}-{task['name_short']}-{run_id}")


def spec_hook() -> SpecHook:
    """The spec of a run's job is the platform's runner (see the module's docstring); other jobs pass
    unchanged (those without the generic information at no cost)."""

    def as_run(connection: sa.Connection, job: JobState, spec: TaskSpec) -> TaskSpec:
        run_id = spec.generic_information.get(RUN_INFORMATION)
        if run_id is None:
            return spec
        run = find_run(connection, run_id)
        if run is None or run["owner"] != job.owner or job_of_run(connection, run) != job.id:
            return spec  # a user's job dressed as a run's: runs as what it is, sandboxed
        try:
            resources = resources_of(find_task(connection, run["task_id"])["descriptor"])
        except AppEngineError as error:  # the start fails with the reason (the scheduler's error type)
            raise InvalidRequestError(f"App Engine run {run['id']}: {error.message}") from None
        kept = ("RUNYARD_URL", "RUNYARD_TOKEN")
        environment = {name: spec.environment[name] for name in kept if name in spec.environment}
        environment |= {RUN_VARIABLE: run["id"], "HOME": spec.localspace, "TMPDIR": spec.localspace}
        selection = Script(
            "cpython",
            code=_SELECTION,
            arguments=[str(v) for v in (resources.cpus, resources.ram, resources.gpus)],
        )
        return replace(
            spec,
            executable=ScriptExecutable(Script("cpython", code=_RUNNER)),
            selection=[SelectionScript(selection)],
            pre=None,
            post=None,
            flow=None,
            cleaning=None,
            input_files=[],
            output_files=[],
            parents=[],
            fork=True,
            credentials={},
            environment=environment,
            run_as_me=False,
            account=None,
            platform=True,
        )

    return as_run


class Execution:
    """The server's side of runs' executions: launches, the state sync from their jobs, outputs."""

    def __init__(self, platform: Platform, storage: Storage, mode: str, datasets: Path | None) -> None:
        self.platform, self.storage, self.mode, self.datasets = platform, storage, mode, datasets
        # Job events of runs' jobs; (SUBMIT, run): QUEUING committed by a caller; (RECOVER, run): at start.
        self._events: queue.Queue[JobEvent | tuple[str, str] | None] = queue.Queue()
        self._jobs: dict[int, str] = {}  # job id → run id, of the runs not ended
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Follow job events, then settle what happened while the server was away. The storage folder
        is made the platform's alone (0700): runs' outputs folders in it are writable by any uid (an
        image's user), and it may lie outside the data folder (``app_engine_storage``)."""
        self.storage.base.mkdir(parents=True, exist_ok=True)
        self.storage.base.chmod(0o700)
        _executions[id(self.platform.engine)] = self
        self.platform.listen(self._heard)
        with self.platform.engine.connect() as connection:
            active = connection.execute(
                sa.select(app_engine_runs.c.id).where(app_engine_runs.c.state.in_(ACTIVE))
            ).scalars()
            for run_id in active:  # settled on the thread: a submission waits for the scheduler's recovery
                self._events.put((RECOVER, run_id))
        self._thread = threading.Thread(target=self._follow, name="runyard-app-engine", daemon=True)
        self._thread.start()

    def close(self) -> None:
        _executions.pop(id(self.platform.engine), None)
        self._events.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _recover(self, run_id: str) -> None:
        with self.platform.engine.connect() as connection:
            run = find_run(connection, run_id)
        if run is None or run["state"] not in ACTIVE:
            return
        if run["state"] == QUEUING:
            with self.platform.engine.connect() as connection:
                job_id = job_of_run(connection, run)
            if job_id is None:
                log.info("App Engine run %s: its job was never stored; submitting it now", run["id"])
                self._submit(run["id"])
                return
            self._adopt(run["id"], job_id)
        elif run["job_id"] is not None:
            with self._lock:
                self._jobs[int(run["job_id"])] = run["id"]
            self._job_changed(int(run["job_id"]))
        else:  # set so by hand: nothing runs it (an outputs upload may still end it)
            log.warning("App Engine run %s is %s with no job recorded", run["id"], run["state"])

    # -- launch ----------------------------------------------------------------------------------

    def launch(self, run_id: str, connection: sa.Connection | None = None) -> str:
        """PROVISIONED → QUEUING (403 from another state), then the job submitted → QUEUED.

        Without ``connection``: in a transaction of its own, then the submission waits for the job to be
        stored; the run's state after (never call it so inside a write transaction). With the caller's
        ``connection`` (in a transaction): QUEUING is written in it and the job is submitted once it
        commits, on the execution's thread; ``QUEUING`` is answered (as upstream answers it)."""
        if connection is not None:
            self._queue_run(connection, run_id)
            sa.event.listen(connection, "commit", lambda _: self._events.put((SUBMIT, run_id)), once=True)
            return QUEUING
        with self.platform.engine.begin() as own:
            self._queue_run(own, run_id)
        return self._submit(run_id)

    def _queue_run(self, connection: sa.Connection, run_id: str) -> None:
        if not move(connection, run_id, QUEUING, ("PROVISIONED",), mode=self.mode, reason=None, job_id=None):
            if find_run(connection, run_id) is None:
                raise AppEngineError(404, RUN_NOT_FOUND, "task run not found")
            raise AppEngineError(403, RUN_STATE, "invalid task run state")

    def _submit_committed(self, run_id: str) -> None:
        """Submit the job of a run whose QUEUING a caller's transaction is committing: the ``commit``
        event comes before the database's commit, so the submission waits until QUEUING shows (a
        rollback: never)."""
        deadline = time.monotonic() + COMMIT_WAIT
        while True:
            with self.platform.engine.connect() as connection:
                run = find_run(connection, run_id)
            if run is not None and run["state"] == QUEUING:
                self._submit(run_id)
                return
            if time.monotonic() > deadline:
                return  # rolled back, or moved on
            time.sleep(0.01)

    def _submit(self, run_id: str) -> str:
        with self.platform.engine.connect() as connection:
            run = find_run(connection, run_id)
            if run is None or run["state"] != QUEUING:
                return FAILED if run is None else str(run["state"])
            stored = job_of_run(connection, run)
            task = find_task(connection, run["task_id"])
        if stored is not None:  # submitted already (a launch and a recovery both asked)
            return self._adopt(run_id, stored)
        name = job_name(task, run_id)
        workflow = from_mapping(
            {
                "name": name,
                "description": f"App Engine run {run_id} of {task['namespace']} {task['version']}",
                "generic_information": {RUN_INFORMATION: run_id},
                "on_task_error": "cancelJob",
                "max_number_of_execution": 2,
                "tasks": {task_name(task, run_id): {"script": {"cpython": _PLACEHOLDER}}},
            }
        )
        try:
            job = self.platform.submit_later(
                workflow, owner=run["owner"], submission_key=submission_key(run)
            ).result()
        except RunyardError as error:
            self._fail(run_id, f"the run's job could not be submitted: {error}")
            return FAILED
        return self._adopt(run_id, job.id)

    def _adopt(self, run_id: str, job_id: int) -> str:
        with self._lock:
            self._jobs[job_id] = run_id
        with self.platform.engine.begin() as connection:
            move(connection, run_id, QUEUED, (QUEUING,), job_id=job_id)
        self._events.put(JobEvent(job_id, "", None))  # it may have moved on already
        with self.platform.engine.connect() as connection:
            run = find_run(connection, run_id)
        return FAILED if run is None else str(run["state"])

    # -- the job's events ------------------------------------------------------------------------

    def _heard(self, event: JobEvent) -> None:
        if event.job_id in self._jobs:  # a dict read, on the scheduler's thread: cheap
            self._events.put(event)

    def _follow(self) -> None:
        while (event := self._events.get()) is not None:
            try:
                if isinstance(event, tuple):
                    what, run_id = event
                    (self._submit_committed if what == SUBMIT else self._recover)(run_id)
                else:
                    self._job_changed(event.job_id)
            except Exception:
                log.exception("App Engine: handling %s failed", event)

    def _job_changed(self, job_id: int) -> None:
        with self._lock:
            run_id = self._jobs.get(job_id)
        if run_id is None:
            return
        with self.platform.engine.connect() as connection:
            job = connection.execute(sa.select(jobs.c.status).where(jobs.c.id == job_id)).first()
            task_status = connection.execute(
                sa.select(tasks.c.status, tasks.c.error)
                .where(tasks.c.job_id == job_id)
                .order_by(tasks.c.number)
            ).first()
            run = find_run(connection, run_id)
        if run is None or run["state"] not in ACTIVE:
            self._forget(job_id)
            if run is None:  # deleted: its container goes too (the runner's watcher does it first)
                remove_container(run_id)
            return
        status = None if job is None else JobStatus(job.status)
        if status is None or not status.is_alive:
            what = "was removed" if status is None else f"ended {status.value}"
            error = (
                f": {task_status.error.strip().splitlines()[-1]}" if task_status and task_status.error else ""
            )
            self._fail(run_id, f"the run's job {job_id} {what} before the run's outputs were reported{error}")
            self._forget(job_id)
            remove_container(run_id)
            return
        if task_status is not None and task_status.status == "RUNNING":
            with self.platform.engine.begin() as connection:
                move(connection, run_id, PENDING, (QUEUED,))

    def _forget(self, job_id: int) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def _fail(self, run_id: str, reason: str) -> None:
        log.info("App Engine run %s FAILED: %s", run_id, reason)
        with self.platform.engine.begin() as connection:
            move(connection, run_id, FAILED, ACTIVE, reason=reason)

    # -- what the runner asks and reports ------------------------------------------------------

    def execution_of(self, connection: sa.Connection, run: Row, base_url: str) -> dict[str, Any]:
        """What the runner runs (its run checked already); the outputs folder emptied (a second
        execution after a lost node starts clean)."""
        if run["state"] not in ACTIVE:  # a job run again after its run ended: its outputs are final
            raise AppEngineError(409, RUN_STATE, f"the run is {run['state']}: it has ended")
        task = find_task(connection, run["task_id"])
        descriptor = task["descriptor"]
        configuration = descriptor.get("configuration", {})
        resources = resources_of(descriptor)
        outputs = self.storage.run_outputs(run["id"])
        if run["mode"] != "cluster":  # cluster mode: the references travel in the inputs archive
            _empty(outputs)
            outputs.chmod(0o777)  # an image's user may be any uid (the storage folder is private)
            for name, value in _references(run).items():
                link_references(self.storage.run_inputs(run["id"]), name, value)
        url = f"{base_url}/app-engine/v1/task-runs/{run['id']}"
        return {
            "run": run["id"],
            "task": task["id"],
            "name": task["name"],
            "image": task["image"],
            "imageId": task["image_id"],
            "registryImage": task["registry_image"],  # pulled, then checked to be imageId
            "mode": run["mode"] or self.mode,
            "inputFolder": configuration.get("input_folder", "/inputs"),
            "outputFolder": configuration.get("output_folder", "/outputs"),
            "inputs": str(self.storage.run_inputs(run["id"])),
            "outputs": str(outputs),
            "datasets": None if self.datasets is None else str(self.datasets),
            "resources": {"ram": resources.ram, "cpus": resources.cpus, "gpus": resources.gpus},
            "pidsLimit": PIDS_LIMIT,
            "container": f"{CONTAINER_PREFIX}{run['id']}",
            "label": CONTAINER_LABEL,
            "urls": {
                "execution": f"{url}/execution",
                "image": f"{url}/execution/image.tar",
                "inputs": f"{url}/execution/inputs.zip",
                "outputs": f"{url}/{run['secret']}/outputs.zip",
            },
        }

    def started(self, run_id: str) -> str:
        """The container started: → RUNNING."""
        with self.platform.engine.begin() as connection:
            move(connection, run_id, RUNNING, (QUEUING, QUEUED, PENDING))
            run = find_run(connection, run_id)
        return "" if run is None else str(run["state"])

    def finished(self, run_id: str, exit_code: int | None) -> dict[str, Any]:
        """The container ended (local mode, or cluster mode without an upload): its outputs are read
        from the outputs folder, FINISHED or FAILED with the reason; the run's state and reason."""
        if exit_code not in (None, 0):
            self._fail(run_id, f"the task's container exited with code {exit_code}")
        else:
            self._collect(run_id)
        return self.state_of(run_id)

    def uploaded(self, run_id: str, archive: IO[bytes]) -> dict[str, Any]:
        """Cluster mode: the outputs zip unpacked (bounded, no links) into the outputs folder, then read."""
        outputs = self.storage.run_outputs(run_id)
        _empty(outputs)
        try:
            unpack_outputs(archive, outputs)
            with self.platform.engine.connect() as connection:
                run = find_run(connection, run_id)
                declared = (
                    set()
                    if run is None
                    else set(_descriptor_of(find_task(connection, run["task_id"])["descriptor"]).outputs)
                )
            unknown = sorted(set(os.listdir(outputs)) - declared)
            if unknown:
                raise AppEngineError(
                    400,
                    UNKNOWN_OUTPUT,
                    f"unknown output {unknown[0]!r}",
                    {"type": "parameter", "parameterName": unknown[0]},
                )
        except AppEngineError as error:
            self._fail(run_id, f"invalid outputs archive: {error.message}")
            raise
        self._collect(run_id)
        return self.state_of(run_id)

    def state_of(self, run_id: str) -> dict[str, Any]:
        with self.platform.engine.connect() as connection:
            run = find_run(connection, run_id)
        if run is None:
            raise AppEngineError(404, RUN_NOT_FOUND, "task run not found")
        return {"id": run["id"], "state": run["state"], "reason": run["reason"]}

    def _collect(self, run_id: str) -> None:

        with self.platform.engine.connect() as connection:
            run = find_run(connection, run_id)
            if run is None or run["state"] not in ACTIVE:
                return
            task = find_task(connection, run["task_id"])
        descriptor = _descriptor_of(task["descriptor"])
        folder = self.storage.run_outputs(run_id)
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, parameter in descriptor.outputs.items():
            try:
                values[name] = read_output(parameter.type, folder, name)
            except AppEngineError as error:
                problems.append(f"output {name}: {error.message}")
        if not problems:  # outputs matched with outputs, and with inputs (as provisioned)
            given = {f"inputs/{name}": entry["value"] for name, entry in run["provisions"].items()}
            try:
                check_matching(descriptor, {**given, **values}, outputs=True)
            except AppEngineError as error:
                problems.append(error.message)
        if problems:
            self._fail(run_id, "; ".join(problems))
            return
        with self.platform.engine.begin() as connection:
            move(connection, run_id, FINISHED, ACTIVE, outputs=values, reason=None)

    def kill(self, run: Row) -> None:
        """Kill the run's job (its runner removes the container); the run FAILED."""
        job_id = run["job_id"]
        if job_id is not None:
            with suppress(RunyardError):
                self.platform.kill_job(int(job_id))
        remove_container(run["id"])


_executions: dict[int, Execution] = {}
"""The servers' executions in this process, by their engine's id (``kill`` has a connection only)."""


def execution_of(engine: sa.Engine) -> Execution:
    found = _executions.get(id(engine))
    if found is None:
        raise AppEngineError(500, "APPE-internal-server-error", "the App Engine's execution is not started")
    return found


def launch(bind: sa.Engine | sa.Connection, run_id: str) -> str:
    """The RUNNING state action, see :meth:`Execution.launch`: ``bind`` is the platform's engine (the
    job is submitted before it returns), or a connection in the caller's transaction (QUEUING written in
    it, the job submitted once it commits: what a route that holds the run's row calls)."""
    if isinstance(bind, sa.Connection):
        return execution_of(bind.engine).launch(run_id, bind)
    return execution_of(bind).launch(run_id)


def kill(connection: sa.Connection, run: Row) -> None:
    """Kill a run's job before the run is deleted (in a thread: the caller may hold a transaction)."""
    execution = execution_of(connection.engine)
    threading.Thread(
        target=execution.kill, args=(dict(run),), name="runyard-app-engine-kill", daemon=True
    ).start()


def remove_container(run_id: str) -> None:
    """Remove the run's container on the server's engine, if it is there (best effort: the runner's
    watcher is the first to do it, on the node's engine)."""
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return
    try:
        import docker

        client = docker.from_env()
        try:
            for container in client.containers.list(
                all=True, filters={"label": f"{CONTAINER_LABEL}={run_id}"}, sparse=True
            ):
                container.remove(force=True)
        finally:
            client.close()
    except Exception as error:  # the engine is the node's, or gone: nothing to do here
        log.debug("App Engine run %s: container not removed: %s", run_id, error)


def link_references(inputs: Path, name: str, value: Any) -> None:
    """The array input ``name`` given as dataset paths (``[{index, value}]``, nested): a folder of
    symbolic links to them with its ``array.yml``, made anew in the run's inputs folder (the container
    sees the datasets folder read-only at the same path: local mode)."""
    folder = inputs / name
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for relative, leaf in _reference_tree(value):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(leaf, bytes):
            path.write_bytes(leaf)
        else:
            os.symlink(leaf, path)


def referenced_files(run: Row, datasets: Path | None) -> dict[str, Path | bytes]:
    """The dataset files the run's referenced arrays name, by their names in its inputs archive
    (``{input}/{index}``..., with each array's ``array.yml``): cluster mode's node gets them as files.
    Each is checked again to be the regular file under the datasets folder that was provisioned (409
    otherwise: a link put in its place since would have the server send what it points to)."""
    references = _references(run)
    if references and datasets is None:
        raise AppEngineError(409, RUN_STATE, "dataset references are disabled on this server now")
    root = Path(os.path.realpath(datasets)) if datasets is not None else Path("/")
    entries: dict[str, Path | bytes] = {}
    for name, value in references.items():
        for relative, leaf in _reference_tree(value):
            if isinstance(leaf, str):
                if os.path.realpath(leaf) != leaf or not Path(leaf).is_relative_to(root):
                    raise AppEngineError(
                        409, RUN_STATE, f"the dataset file {leaf} changed since it was provisioned"
                    )
                entries[f"{name}/{relative}"] = Path(leaf)
            else:
                entries[f"{name}/{relative}"] = leaf
    return entries


def _references(run: Row) -> dict[str, Any]:
    return {name: p["value"] for name, p in (run["provisions"] or {}).items() if p.get("reference")}


def _reference_tree(items: Any, prefix: str = "") -> Iterator[tuple[str, str | bytes]]:
    """``(relative path, dataset path)`` of each item of a referenced array (nested: ``1/0``), and
    ``(…array.yml, its bytes)`` of the array and of each nested one."""
    for item in items:
        index, leaf = int(item["index"]), item["value"]
        if isinstance(leaf, list):
            yield from _reference_tree(leaf, f"{prefix}{index}/")
        else:
            yield f"{prefix}{index}", str(leaf)
    yield f"{prefix}array.yml", f"size: {len(items)}".encode()


def _empty(folder: Path) -> None:
    """Remove what ``folder`` holds (links removed, never followed); made if missing."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with suppress(FileNotFoundError):
                os.unlink(entry.path)


def unpack_outputs(archive: IO[bytes], target: Path) -> None:
    unpack(archive, target, max_members=MAX_OUTPUTS_MEMBERS, max_bytes=MAX_OUTPUTS_BYTES)

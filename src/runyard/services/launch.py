"""Starting and controlling a service from a task, on the engine its ``ENGINE`` variable names.

Containers are started by the platform, never by the task (which cannot reach a Docker daemon):
:func:`start_container` asks the server, which applies its policy and records the container.

The start task calls :func:`service_port`, then :func:`start_process` or :func:`start_container` (they
write the seeds' ``<INSTANCE_NAME>_port`` / ``_process`` / ``_containerID`` files that
:func:`runyard.services.psa.post_start_service` reads); action tasks call :func:`finish_action`,
:func:`pause_action` or :func:`resume_action`, which write ``<INSTANCE_NAME>_status`` for
:func:`runyard.services.psa.post_trigger_action`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from runyard.errors import RunyardError
from runyard.services import psa
from runyard.services.engines import Engine, RunState
from runyard.services.engines.platform import task_engine
from runyard.services.helper_client import HelperApiError
from runyard.services.ports import wait_for_port

Variables = psa.Variables


def service_port(variables: Variables) -> int:
    """The host port of the service: ``SERVICE_PORT``, or a free one of the server's range when it is
    ``-1`` (or unset); reserved for the instance until it ends, written to ``<INSTANCE_NAME>_port``."""
    wanted = int(str(variables.get("SERVICE_PORT") or "-1"))
    with psa.helper_client() as api:
        port = api.reserve_service_port(psa.instance_id(variables), wanted)
    Path(f"{psa.instance_name(variables)}_port").write_text(str(port), encoding="utf-8")
    return port


def service_dir(variables: Variables) -> Path:
    """A folder of this host kept for the instance (process engine: logs, state, and room for data)."""
    root = Path(os.environ.get("RUNYARD_SERVICES_DIR") or Path.cwd() / "services")
    return root / f"{psa.instance_id(variables)}-{psa.instance_name(variables)}"


def start_process(
    variables: Variables,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stop_signal: int = signal.SIGTERM,
    ready_timeout: float = 60.0,
) -> str:
    """Start ``argv`` with the process engine (it outlives this task and the server; a finish sends it
    ``stop_signal``); when a port was reserved, wait until the service listens on it. Returns the engine's
    reference. ``env`` defaults to the task's environment without ``RUNYARD_TOKEN``."""
    from runyard.services.engines.process import ProcessEngine
    from runyard.services.engines.process import start_process as start

    name = psa.instance_name(variables)
    if env is None:  # the task's environment, but not its job token: the service outlives the task's needs
        env = {key: value for key, value in os.environ.items() if key != "RUNYARD_TOKEN"}
    ref = start(name, argv, service_dir(variables) / "run", env=env, cwd=cwd, stop_signal=stop_signal)
    Path(f"{name}_process").write_text(ref, encoding="utf-8")
    engine = ProcessEngine()
    _wait_until_ready(name, ready_timeout, lambda: engine.state(ref), lambda port: engine.listens(ref, port))
    return ref


def start_container(
    variables: Variables,
    image: str,
    container_port: int,
    *,
    environment: Mapping[str, str] | None = None,
    volumes: Mapping[str, str] | None = None,
    command: str | Sequence[str] | None = None,
    options: str = "",
    ready_timeout: float = 60.0,
) -> str:
    """Have the platform start a container named ``INSTANCE_NAME`` from the local ``image``,
    ``container_port`` published on the reserved host port, and wait until it accepts connections.
    Returns the container id. The platform applies its policy (see :mod:`runyard.services.containers`):
    ``volumes`` may only name the instance's own folders (under :func:`service_dir`) or the owner's
    userspace; a refusal fails the task with the reason."""
    name = psa.instance_name(variables)
    port = _reserved_port(name) or service_port(variables)
    instance = psa.instance_id(variables)
    with psa.helper_client() as api:
        try:
            started = api.start_service_container(
                instance,
                name,
                image,
                ports={container_port: port},
                environment=environment,
                volumes=volumes,
                command=command,
                options=options,
            )
        except HelperApiError as error:
            raise psa.ServiceFailure(f"container {name} not started: {error.message}") from None
        container = str(started["ref"])
        Path(f"{name}_containerID").write_text(container, encoding="utf-8")
        engine = task_engine("docker", api, instance)
        _wait_until_ready(name, ready_timeout, lambda: engine.state(container))
    return container


def finish_action(variables: Variables) -> None:
    """Stop and remove what the instance runs (``Finish_Action``)."""
    _control(variables, lambda engine, ref: engine.stop(ref))


def pause_action(variables: Variables) -> None:
    """Suspend the instance's processes or containers, keeping their state (``Pause_Action``)."""
    _control(variables, lambda engine, ref: engine.pause(ref))


def resume_action(variables: Variables) -> None:
    """Continue what :func:`pause_action` suspended (``Resume_Action``)."""
    _control(variables, lambda engine, ref: engine.resume(ref))


def _control(variables: Variables, change: Callable[[Engine, str], None]) -> None:
    """Apply ``change`` to every deployment of the instance; ``<INSTANCE_NAME>_status`` says how it went."""
    name = psa.instance_name(variables)
    identifier = psa.instance_id(variables)
    with psa.helper_client() as api:
        instance = api.get_service_instance(identifier)
        outcome = name
        deployments = [d for d in instance["deployments"] if d.get("engine") and d.get("ref")]
        if not deployments:
            outcome = f"Error: No such container: {name}"
        for deployment in deployments:
            try:
                change(task_engine(str(deployment["engine"]), api, identifier), str(deployment["ref"]))
            except RunyardError as error:
                outcome = f"Error: {error}"
                print(outcome)
    Path(f"{name}_status").write_text(outcome, encoding="utf-8")


def _reserved_port(name: str) -> int | None:
    """The port :func:`service_port` wrote for ``name`` in this folder, if it ran."""
    port_file = Path(f"{name}_port")
    return int(port_file.read_text(encoding="utf-8")) if port_file.exists() else None


def _wait_until_ready(
    name: str, timeout: float, state: Callable[[], RunState], owned: Callable[[int], bool] | None = None
) -> None:
    """Wait until the reserved port accepts connections and, when ``owned`` can tell, the service itself
    listens there (another program may have taken the port since its reservation: the service then fails
    to bind, and that program's answer is not the service's); fail at once when the service has stopped."""
    port = _reserved_port(name)
    if port is None:
        return
    deadline = time.monotonic() + timeout
    answered = False
    while True:
        try:
            wait_for_port("127.0.0.1", port, min(1.0, max(0.0, deadline - time.monotonic())))
            answered = True
            if owned is None or owned(port):
                return
            time.sleep(0.1)
        except TimeoutError:
            answered = False
        taken = " (another process answers there: it took the port)" if answered else ""
        now = state()
        if now not in (RunState.RUNNING, RunState.PAUSED):
            raise psa.ServiceFailure(
                f"{name} stopped ({now}) before accepting connections on port {port}{taken}"
            )
        if time.monotonic() >= deadline:
            raise psa.ServiceFailure(
                f"{name} did not accept connections on port {port} within {timeout:g} s{taken}"
            )

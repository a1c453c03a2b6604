"""The JupyterLab and TensorBoard services: their command lines, and starting them on either engine.

With the ``process`` engine the node's own Python runs them (``pip install runyard[services]``); with
``docker`` the local image ``DOCKER_IMAGE`` (by default ``runyard/notebooks:1`` of ``images/notebooks``,
as runyard never pulls images) must provide ``jupyter`` / ``tensorboard``. Behind the platform's proxy
(``PROXYFIED=true``) both serve under the proxied path, because the proxy appends the request's path to
the endpoint URL and the pages must link below that path.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath

import httpx

from runyard.services import launch, psa

Variables = psa.Variables
#: The argv of a service, given (program, host, port, data folder).
Command = Callable[[Sequence[str], str, int, str], list[str]]


@dataclass(frozen=True)
class _App:
    module: str  # ``python -m module`` with the process engine
    program: tuple[str, ...]  # the command in the image with the docker engine
    container_port: int
    container_data: str  # where the service's data folder is mounted in the container


#: How long a server in a container has to answer its first HTTP request.
READY_TIMEOUT = 60.0
#: Where the instance's Jupyter folder (see :func:`jupyter_env`) is mounted in a container.
_CONTAINER_JUPYTER = PurePosixPath("/jupyter")

_JUPYTERLAB = _App("jupyterlab", ("jupyter", "lab"), 8888, "/notebooks")
_TENSORBOARD = _App("tensorboard.main", ("tensorboard",), 6006, "/logs")


def jupyterlab_argv(
    program: Sequence[str], host: str, port: int, root_dir: str, *, base_url: str = "/", password: str = ""
) -> list[str]:
    """JupyterLab without token, protected by ``password`` when one is given (only its argon2 hash is on
    the command line), with nothing that reaches the Internet (update checks, news, PyPI extensions)."""
    argv = [
        *program,
        "--no-browser",
        "--allow-root",
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # the reserved port or nothing
        f"--ServerApp.base_url={base_url}",
        f"--ServerApp.root_dir={root_dir}",
        "--IdentityProvider.token=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=None",
        "--LabApp.extension_manager=readonly",
    ]
    if password:
        from jupyter_server.auth.security import passwd

        hashed: str = passwd(password)  # type: ignore[no-untyped-call]  # jupyter_server is not annotated
        argv.append(f"--PasswordIdentityProvider.hashed_password={hashed}")
    return argv


def tensorboard_argv(
    program: Sequence[str], host: str, port: int, logdir: str, *, path_prefix: str = ""
) -> list[str]:
    """TensorBoard on ``logdir``; ``path_prefix`` is taken without its trailing slash, as it requires."""
    argv = [*program, "--host", host, "--port", str(port), "--logdir", logdir]
    prefix = path_prefix.rstrip("/")
    return [*argv, "--path_prefix", prefix] if prefix else argv


def jupyter_env(state_dir: PurePath, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with Jupyter's and IPython's folders in
    ``state_dir``, so that nothing is written to the home folder of the node's user."""
    folders = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "IPYTHONDIR": "ipython",
    }
    return {**(os.environ if base is None else base), **{k: str(state_dir / v) for k, v in folders.items()}}


def base_path(variables: Variables) -> str:
    """The path the service serves under: the proxied one (also set as ``ENDPOINT_PATH``, so that the
    endpoint URL includes it) when ``PROXYFIED``, else ``/``. Call it after ``psa.pre_start_service``."""
    path = str(variables.get("PROXYFIED_PATH") or "")
    variables["ENDPOINT_PATH"] = path
    return path or "/"


def start_jupyterlab(variables: Variables) -> None:
    """The JupyterLab service's start: notebooks in the instance's ``notebooks`` folder."""
    base_url = base_path(variables)
    password = str(variables.get("JUPYTERLAB_PASSWORD") or "")
    home = launch.service_dir(variables)

    def command(program: Sequence[str], host: str, port: int, data: str) -> list[str]:
        return jupyterlab_argv(program, host, port, data, base_url=base_url, password=password)

    _start(variables, _JUPYTERLAB, home / "notebooks", command, home / "jupyter")


def start_tensorboard(variables: Variables) -> None:
    """The Tensorboard service's start: logs from ``MOUNT_LOG_PATH``, by default the instance's ``logs``."""
    prefix = base_path(variables)
    logs = Path(str(variables.get("MOUNT_LOG_PATH") or launch.service_dir(variables) / "logs"))

    def command(program: Sequence[str], host: str, port: int, data: str) -> list[str]:
        return tensorboard_argv(program, host, port, data, path_prefix=prefix)

    _start(variables, _TENSORBOARD, logs, command, None)


def _start(variables: Variables, app: _App, data: Path, command: Command, jupyter: Path | None) -> None:
    """Reserve the port and start ``app`` on the engine ``ENGINE`` names, ``data`` its data folder and
    ``jupyter``, if any, its Jupyter folder (mounted in the container too: the same layout on both)."""
    port = launch.service_port(variables)
    data.mkdir(parents=True, exist_ok=True)
    engine = str(variables.get("ENGINE") or "process").lower()
    if engine == "docker":
        image = str(variables.get("DOCKER_IMAGE") or "")
        if not image:
            raise psa.ServiceFailure("ENGINE is docker: DOCKER_IMAGE must name a local image")
        argv = command(app.program, "0.0.0.0", app.container_port, app.container_data)
        volumes = {str(data): app.container_data}
        environment: dict[str, str] = {}
        if jupyter is not None:
            jupyter.mkdir(parents=True, exist_ok=True)
            volumes[str(jupyter)] = str(_CONTAINER_JUPYTER)
            environment = jupyter_env(_CONTAINER_JUPYTER, {})
        launch.start_container(
            variables, image, app.container_port, command=argv, volumes=volumes, environment=environment
        )
        wait_until_answering(f"http://127.0.0.1:{port}/")
    elif engine == "process":
        argv = command([sys.executable, "-m", app.module], "127.0.0.1", port, str(data))
        launch.start_process(variables, argv, env=None if jupyter is None else jupyter_env(jupyter))
    else:
        raise psa.ServiceFailure(f"ENGINE {engine!r} is not supported: use process or docker")


def wait_until_answering(url: str, timeout: float = READY_TIMEOUT, *, verify: bool = True) -> None:
    """Wait until ``url`` gets an HTTP answer, whatever its status: a container's published port accepts
    connections (Docker's proxy does) before the server in the container listens. ``verify=False``: an
    HTTPS server whose certificate cannot be checked (self-signed) answers too."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=5, verify=verify) as client:
        while True:
            try:
                client.get(url)
                return
            except httpx.TransportError as error:
                if time.monotonic() > deadline:
                    raise psa.ServiceFailure(f"{url} does not answer after {timeout:g} s: {error}") from None
            time.sleep(0.2)

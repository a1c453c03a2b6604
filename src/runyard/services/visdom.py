"""The Visdom service: Visdom's server on the process engine, run by the Python of its own venv.

Visdom 0.2.4 cannot live in runyard's venv (it needs tornado<6.5), and ``python -m visdom.server``
downloads its web assets from CDNs before it serves, failing where the Internet is out of reach.
``scripts/visdom`` builds its venv once per machine (by default in ``/opt/runyard/visdom``, the
``VISDOM_PYTHON`` variable names another), its assets taken from the npm registry; the service starts
the server through ``visdom.server.run_server.main``, which downloads nothing. There is no docker engine:
no image of Visdom is built.
"""

from __future__ import annotations

from pathlib import Path

from runyard.services import launch, notebooks, psa
from runyard.services.commands import service_env

#: The Python of the venv ``scripts/visdom`` builds by default.
DEFAULT_PYTHON = "/opt/runyard/visdom/bin/python"
#: The server without the download ``python -m visdom.server`` starts with.
_SERVER = "from visdom.server.run_server import main; main()"


def visdom_argv(python: str, port: int, env_path: Path, *, base_url: str = "/") -> list[str]:
    """Visdom on ``127.0.0.1:port`` keeping its environments in ``env_path``, under ``base_url`` (taken
    without its trailing slash, as Visdom requires)."""
    argv = [python, "-c", _SERVER, "-port", str(port), "-bind_local", "-logging_level", "WARNING"]
    argv += ["-env_path", f"{env_path}/"]  # Visdom appends file names to it
    prefix = base_url.rstrip("/")
    return [*argv, "-base_url", prefix] if prefix else argv


def start_visdom(variables: psa.Variables) -> None:
    """The Visdom service's start: its environments (the plots) in the instance's ``envs`` folder."""
    engine = str(variables.get("ENGINE") or "process").lower()
    if engine != "process":
        raise psa.ServiceFailure(
            f"ENGINE {engine!r}: Visdom runs on the process engine only (no image of it is built)"
        )
    python = str(variables.get("VISDOM_PYTHON") or DEFAULT_PYTHON)
    if not Path(python).is_file():
        raise psa.ServiceFailure(f"no Visdom on this node: {python} is missing (scripts/visdom builds it)")
    base_url = notebooks.base_path(variables)
    port = launch.service_port(variables)
    home = launch.service_dir(variables)
    envs = home / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    # Its pages name the user: an account without a passwd entry (a task's) needs USER.
    env = service_env({"HOME": str(home), "USER": str(variables.get("PA_USER") or "visdom")})
    launch.start_process(variables, visdom_argv(python, port, envs, base_url=base_url), env=env)

"""The MaaS_ML and MaaS_DL services: starting their model servers (:mod:`runyard.maas`) on either engine,
and what their actions do to a running one.

The start task makes the instance's secret (``MAAS_MASTER_TOKEN``, kept in the instance's variables,
which only its owner and admins read): it alone gets API tokens from the server (``get_token``). With the
process engine the node's Python runs ``python -m runyard.maas.ml_server`` (or ``dl_server``); with
docker, the local image ``DOCKER_IMAGE`` (by default ``runyard/maas:1`` of ``images/maas``) runs the
platform's own code, copied into the instance's folder and mounted read-only, so that the image never
runs a server older than the platform. The server runs with the owner's rights only: its model files
are code (pickles), and it holds no platform token, only one that may post notifications for it.
"""

from __future__ import annotations

import functools
import io
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path, PurePosixPath
from typing import Any, ParamSpec

import httpx

import runyard
from runyard.client import ApiError, Client
from runyard.client.documents import ServiceInstance
from runyard.services import launch, notebooks, psa
from runyard.services.notifications import notification_environment

Variables = psa.Variables
P = ParamSpec("P")

MASTER_TOKEN = "MAAS_MASTER_TOKEN"
"""The instance variable holding the server's secret (and the server's environment variable)."""
IMAGE = "runyard/maas:1"
CONTAINER_PORT = 8080
#: Where the instance's state folder and the platform's code are mounted in a container.
_CONTAINER_STATE = PurePosixPath("/state")
_CONTAINER_CODE = PurePosixPath("/opt/runyard")
#: Seconds a call to a model server may take (a deploy loads the model).
TIMEOUT = 120.0
ML_SERVER = "runyard.maas.ml_server"
DL_SERVER = "runyard.maas.dl_server"
NOTIFICATIONS_FILE = "notifications.jsonl"
"""Where a model server in a container writes its notifications (in its state folder): a container
reaches nothing of the host's loopback, so the health check posts them for it."""
NOTIFY_FILE = "RUNYARD_NOTIFY_FILE"
"""The server's environment variable naming that file."""
RELAYED = "NOTIFICATIONS_RELAYED"
"""The health loop's variable: how many bytes of the file were relayed."""
#: At most this many notifications relayed per health check, each line at most this long.
MAX_RELAYED = 100
MAX_LINE = 32 * 1024


def start_maas_ml(variables: Variables) -> None:
    """The MaaS_ML service's start: drift detection (``DRIFT_ENABLED``, ``DRIFT_THRESHOLD``) and trace
    (``TRACE_ENABLED``) as its variables say."""
    options = [
        "--drift" if psa.is_true(variables.get("DRIFT_ENABLED", "true")) else "--no-drift",
        "--drift-threshold",
        str(float(str(variables.get("DRIFT_THRESHOLD") or "1.9"))),
    ]
    _start(variables, ML_SERVER, options, {})


def start_maas_dl(variables: Variables) -> None:
    """The MaaS_DL service's start: saved models under ``MODEL_BASE_PATH`` (empty: the instance's
    ``models`` folder), its model configuration read again every ``MODELS_DEPLOYMENT_REFRESH`` s."""
    models = Path(str(variables.get("MODEL_BASE_PATH") or launch.service_dir(variables) / "models"))
    refresh = int(str(variables.get("MODELS_DEPLOYMENT_REFRESH") or "30"))
    _start(variables, DL_SERVER, ["--refresh", str(refresh)], {"--model-base-path": models})


def _start(variables: Variables, module: str, options: list[str], folders: Mapping[str, Path]) -> None:
    """Reserve the port, start the server ``module`` on the engine ``ENGINE`` names, record its secret.
    ``folders``: options naming folders of the node (mounted in the container with the docker engine)."""
    base = notebooks.base_path(variables)
    home = launch.service_dir(variables)
    state = home / "state"
    for folder in (state, *folders.values()):
        folder.mkdir(parents=True, exist_ok=True)
    master = secrets.token_urlsafe(32)
    environment = {MASTER_TOKEN: master}
    common = [*options, "--base-path", base, "--instance-name", psa.instance_name(variables)]
    common.append("--trace" if psa.is_true(variables.get("TRACE_ENABLED", "true")) else "--no-trace")
    https = psa.is_true(variables.get("HTTPS_ENABLED"))
    if https:
        common.append("--https")
    engine = str(variables.get("ENGINE") or "process").lower()
    port = launch.service_port(variables)
    if engine == "process":
        paths = [arg for name, folder in folders.items() for arg in (name, str(folder))]
        argv = [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--state-dir", str(state), *paths, *common]
        task_env = {key: value for key, value in os.environ.items() if key != "RUNYARD_TOKEN"}
        environment |= notification_environment(variables)
        launch.start_process(variables, argv, env={**task_env, **environment})
    elif engine == "docker":
        code = _platform_code(home / "code")
        volumes = {str(state): str(_CONTAINER_STATE), str(code): f"{_CONTAINER_CODE}:ro"}
        paths = []
        for index, (name, folder) in enumerate(folders.items()):
            inside = f"/mounted/{index}"
            volumes[str(folder)] = inside
            paths += [name, inside]
        environment[NOTIFY_FILE] = str(_CONTAINER_STATE / NOTIFICATIONS_FILE)  # relayed by check_health
        argv = ["python", "-m", module, "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]
        argv += ["--state-dir", str(_CONTAINER_STATE), *paths, *common]
        image = str(variables.get("DOCKER_IMAGE") or IMAGE)
        launch.start_container(
            variables, image, CONTAINER_PORT, command=argv, volumes=volumes, environment=environment
        )
        scheme = "https" if https else "http"  # its certificate is self-signed: any answer will do
        health = f"{scheme}://127.0.0.1:{port}{base.rstrip('/')}/api/health"
        notebooks.wait_until_answering(health, verify=not https)
    else:
        raise psa.ServiceFailure(f"ENGINE {engine!r} is not supported: use process or docker")
    with psa.client() as api:
        api.update_service_instance(psa.instance_id(variables), variables={MASTER_TOKEN: master})


# -- notifications of a server in a container --------------------------------------------------------


def check_health(variables: Variables) -> None:
    """The health check of a model server's start workflow (:func:`psa.check_instance_status`), then the
    notifications a server in a container wrote, posted with the instance's notification token (as a
    server on the node posts its own)."""
    try:
        psa.check_instance_status(variables)
    finally:
        relay_notifications(variables)


def relay_notifications(variables: Variables) -> None:
    """Post the whole lines of the state folder's notifications file not relayed yet."""
    path = launch.service_dir(variables) / "state" / NOTIFICATIONS_FILE
    offset = int(str(variables.get(RELAYED) or "0"))
    lines: list[bytes] = []
    try:
        with path.open("rb") as file:
            file.seek(offset)
            while len(lines) < MAX_RELAYED:
                line = file.readline(MAX_LINE + 1)
                if not line.endswith(b"\n"):
                    if len(line) > MAX_LINE:  # too long to be one of ours: skipped
                        file.readline()
                        offset = file.tell()
                    break  # else a line being written: the next check takes it
                lines.append(line)
                offset += len(line)
    except FileNotFoundError:
        return
    if lines:
        _post_notifications(variables, lines)
    variables[RELAYED] = str(offset)


def _post_notifications(variables: Variables, lines: list[bytes]) -> None:
    with psa.client() as api:
        try:
            token = api.create_notification_token(psa.instance_id(variables))
        except ApiError as error:  # the instance ended: nobody to notify
            print(f"{len(lines)} notification(s) not relayed: {error.message}")
            return
    with Client(psa.server_url(), token) as notifier:
        for line in lines:
            try:
                sent = json.loads(line)
                notifier.create_notification(
                    str(sent["kind"]), str(sent["title"]), str(sent.get("message") or ""), sent.get("details")
                )
            except (ValueError, KeyError, TypeError, ApiError) as error:
                print(f"a notification of the model server was not relayed: {error}")


def _platform_code(folder: Path) -> Path:
    """A copy of the ``runyard`` package this task runs, in ``folder`` (mounted as the container's code)."""
    target = folder / "runyard"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(
        Path(runyard.__file__).parent, target, ignore=shutil.ignore_patterns("__pycache__", "buckets")
    )
    return folder


def _status_before(instance: ServiceInstance) -> str:
    """The status the instance's running action started from ("" when none runs)."""
    return (instance["transition"] or "").split(" -> ")[0]


def _model_action(action: Callable[P, None]) -> Callable[P, None]:
    """A model action that fails leaves the instance as it was, its server serving what it served: the
    status it had is set back (not ERROR), and the task fails with the reason."""

    @functools.wraps(action)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            action(*args, **kwargs)
        except Exception:
            variables = args[0] if args else kwargs["variables"]
            assert isinstance(variables, MutableMapping)
            with psa.client() as api:
                identifier = psa.instance_id(variables)
                before = _status_before(api.get_service_instance(identifier))
                if before:
                    api.update_service_instance(identifier, status=before)
            raise

    return run


# -- calling a running server -------------------------------------------------------------------------


def api_url(variables: Variables) -> str:
    """The base URL of the instance's API as a task on its node reaches it (``<endpoint>/api``)."""
    with psa.client() as api:
        endpoints = api.get_service_endpoints(psa.instance_id(variables))
    urls = [endpoint["url"] for endpoint in endpoints.values() if endpoint["url"]]
    if not urls:
        raise psa.ServiceFailure(f"service instance {psa.instance_id(variables)} has no endpoint")
    return f"{urls[0].rstrip('/')}/api"


def user_token(api_base: str, master: str, user: str) -> str:
    """An API token of the model server for ``user``, asked with the instance's secret."""
    answer = _call("POST", f"{api_base}/get_token", master, data={"user": user or "user"})
    return str(answer["token"])


@_model_action
def deploy_ml_model(variables: Variables, userspace: str | None, globalspace: str | None) -> None:
    """The ``Deploy_ML_Model`` action: the model of ``MODEL_URL`` (its baseline from ``BASELINE_DATA_URL``,
    else drawn from ``MODEL_METADATA``) deployed as ``MODEL_NAME``; writes ``<INSTANCE_NAME>_status``."""
    from runyard.ml import sources

    spaces = (Path(userspace or "."), Path(globalspace) if globalspace else None)
    url = str(variables.get("MODEL_URL") or "")
    if not url:
        raise psa.ServiceFailure("MODEL_URL is needed: the model file to deploy")
    model = sources.read_bytes(url, *spaces)
    form = {
        "model_name": str(variables.get("MODEL_NAME") or "model"),
        "drift_window_size": str(variables.get("DRIFT_DETECTION_WINDOW_SIZE") or ""),
        "logging_prediction": str(psa.is_true(variables.get("LOGGING_PREDICTION", "true"))).lower(),
    }
    if str(variables.get("MODEL_VERSION") or ""):
        form["model_version"] = str(variables["MODEL_VERSION"])
    files = {"model_file": (PurePosixPath(url).name or "model", model)}
    baseline_url = str(variables.get("BASELINE_DATA_URL") or "")
    if baseline_url:
        files["baseline_data"] = ("baseline.csv", sources.read_bytes(baseline_url, *spaces))
    elif str(variables.get("MODEL_METADATA") or "").strip():
        files["baseline_data"] = ("baseline.csv", baseline_from_metadata(str(variables["MODEL_METADATA"])))
    deployed = _with_token(variables, "POST", "deploy", data=form, files=files)
    print(f"deployed {deployed['model_name']} version {deployed['model_version']}")
    variables["MODEL_VERSION"] = str(deployed["model_version"])
    _status_ok(variables)


@_model_action
def deploy_dl_model(variables: Variables, userspace: str | None, globalspace: str | None) -> None:
    """The ``Deploy_DL_Model`` action: the ONNX model of ``MODEL_URL`` saved as ``MODEL_NAME`` version
    ``MODEL_VERSION`` and served (beside the others when ``APPEND``, else alone)."""
    from runyard.ml import sources

    url = str(variables.get("MODEL_URL") or "")
    if not url:
        raise psa.ServiceFailure("MODEL_URL is needed: the ONNX model file to deploy")
    model = sources.read_bytes(url, Path(userspace or "."), Path(globalspace) if globalspace else None)
    form = {**_dl_model(variables), "append": str(psa.is_true(variables.get("APPEND", "true"))).lower()}
    deployed = _with_token(
        variables, "POST", "deploy", data=form, files={"model_file": ("model.onnx", model)}
    )
    print(f"deployed {deployed.get('model_name')} version {deployed.get('model_version')}")
    _status_ok(variables)


@_model_action
def redeploy_dl_model(variables: Variables) -> None:
    """The ``Redeploy_DL_Model`` action: a version saved before served again (a rollback)."""
    form = {**_dl_model(variables), "append": str(psa.is_true(variables.get("APPEND", "true"))).lower()}
    print(json.dumps(_with_token(variables, "POST", "redeploy", data=form)))
    _status_ok(variables)


@_model_action
def undeploy_dl_model(variables: Variables) -> None:
    """The ``Undeploy_DL_Model`` action: ``MODEL_NAME`` (``MODEL_VERSION``) no longer served."""
    print(json.dumps(_with_token(variables, "POST", "undeploy", data=_dl_model(variables))))
    _status_ok(variables)


@_model_action
def update_maas_ml(variables: Variables, userspace: str | None, globalspace: str | None) -> None:
    """The ``Update_MaaS_ML`` action: the baseline of ``MODEL_NAME`` (``MODEL_VERSION``) replaced by the
    data of ``BASELINE_DATA_URL``."""
    from runyard.ml import sources

    url = str(variables.get("BASELINE_DATA_URL") or "")
    if not url:
        raise psa.ServiceFailure("BASELINE_DATA_URL is needed: the new baseline")
    baseline = sources.read_bytes(url, Path(userspace or "."), Path(globalspace) if globalspace else None)
    form = {"model_name": str(variables.get("MODEL_NAME") or "model")}
    if str(variables.get("MODEL_VERSION") or ""):
        form["model_version"] = str(variables["MODEL_VERSION"])
    answer = _with_token(
        variables, "POST", "update", data=form, files={"baseline_data": ("baseline.csv", baseline)}
    )
    print(json.dumps(answer))
    _status_ok(variables)


def baseline_from_metadata(metadata: str, rows: int = 500, seed: int = 0) -> bytes:
    """A baseline CSV drawn from ``MODEL_METADATA`` (``[[means…], [standard deviations…]]``, the seed's
    form): ``rows`` rows of independent normal columns ``x0…xN``."""
    import numpy as np

    try:
        means, deviations = json.loads(metadata)
        if len(means) != len(deviations) or not means:
            raise ValueError
        generator = np.random.default_rng(seed)
        table = generator.normal(np.asarray(means, float), np.asarray(deviations, float), (rows, len(means)))
    except (ValueError, TypeError) as error:
        raise psa.ServiceFailure(
            f"MODEL_METADATA must be [[means...], [standard deviations...]] of one length: {error}"
        ) from None
    text = io.StringIO()
    text.write(",".join(f"x{i}" for i in range(len(means))) + "\n")
    np.savetxt(text, table, delimiter=",", fmt="%.6g")
    return text.getvalue().encode()


PAUSED_FROM = "PAUSED_FROM"
"""The instance variable holding the status a pause left (a resume goes back to it)."""


def pause_action(variables: Variables) -> None:
    """``Pause_MaaS_*``: remember the status paused (``RUNNING`` or ``AI_MODEL_DEPLOYED``), then suspend."""
    with psa.client() as api:
        identifier = psa.instance_id(variables)
        paused = _status_before(api.get_service_instance(identifier)) or "RUNNING"
        api.update_service_instance(identifier, variables={PAUSED_FROM: paused})
    launch.pause_action(variables)


def resumed_status(variables: Variables) -> str:
    """The status a resume leads back to: the one paused."""
    with psa.client() as api:
        known = api.get_service_instance(psa.instance_id(variables))["variables"]
    return str(known.get(PAUSED_FROM) or "RUNNING")


def _dl_model(variables: Variables) -> dict[str, str]:
    return {
        "model_name": str(variables.get("MODEL_NAME") or "mnist_model"),
        "model_version": str(variables.get("MODEL_VERSION") or "1"),
    }


def _with_token(variables: Variables, method: str, operation: str, **request: Any) -> dict[str, Any]:
    """Call ``operation`` of the instance's server as ``USER_NAME`` (a token asked with its secret)."""
    master = str(variables.get(MASTER_TOKEN) or "")
    if not master:
        raise psa.ServiceFailure(f"the instance has no {MASTER_TOKEN}: was it started by this platform?")
    base = api_url(variables)
    token = user_token(base, master, str(variables.get("USER_NAME") or "user"))
    return _call(method, f"{base}/{operation}", token, **request)


def _call(method: str, url: str, token: str, **request: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(trust_env=False, timeout=TIMEOUT, verify=False) as client:  # HTTPS_ENABLED: self-signed
        answer = client.request(method, url, headers=headers, **request)
    if answer.status_code >= 400:
        raise psa.ServiceFailure(
            f"{url.rsplit('/', 1)[-1]} answered {answer.status_code}: {answer.text[:500]}"
        )
    body: dict[str, Any] = answer.json()
    return body


def _status_ok(variables: Variables) -> None:
    """What :func:`runyard.services.psa.post_trigger_action` reads: the action worked."""
    name = psa.instance_name(variables)
    Path(f"{name}_status").write_text(name, encoding="utf-8")

"""The Studio tasks of the bucket ``model_as_a_service`` (PML guide §5.1, §6.1): start a MaaS_ML or
MaaS_DL service instance, deploy a model on it, call its predictions (the actions tasks are
:mod:`runyard.ml.library.service_actions`).

Each task passes on what the next needs as job variables, as the guide's do: the start sets
``MODEL_SERVICE_INSTANCE_ID``, ``DEPLOY_MODEL_ENDPOINT`` / ``PREDICT_MODEL_ENDPOINT`` (the instance's
endpoint) and ``SERVICE_TOKEN`` (an API token of the model server, asked with the instance's secret);
a deploy sets ``MODEL_NAME`` and ``MODEL_VERSION``. Services are started and driven through the
platform's API with the job's token, as the job's owner.
"""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pandas as pd

from runyard.client import ApiError
from runyard.ml import artifacts, services, sources
from runyard.ml.task import Task, library_task
from runyard.services import model_serving, psa

#: How long a task waits for a service instance to start or for an action to end.
SERVICE_TIMEOUT = 300.0
#: The guide's names of the drift detectors (``DATA_DRIFT_DETECTOR``), as the model server spells them.
DETECTORS = {"HDDM": "HDDM_A", "PAGE HINKLEY": "PAGE_HINKLEY", "PAGE_HINKLEY": "PAGE_HINKLEY"}
#: ``CONTAINER_PLATFORM`` values that mean the process engine (the guide's "no container").
_NO_CONTAINER = {"", "no container", "none", "process"}


# -- starting an instance -----------------------------------------------------------------------------


@library_task
def maas_ml_service_start(task: Task) -> dict[str, Any]:
    drift = {name: task.text(name) for name in ("DRIFT_ENABLED", "DRIFT_THRESHOLD")}
    return _start_service(task, "MaaS_ML", "maas-ml", drift)


@library_task
def maas_dl_service_start(task: Task) -> dict[str, Any]:
    return _start_service(task, "MaaS_DL", "maas-dl", {})


def _start_service(task: Task, service: str, prefix: str, extra: dict[str, str]) -> dict[str, Any]:
    platform = task.text("CONTAINER_PLATFORM", "process").lower()
    values = {
        "INSTANCE_NAME": task.text("MODEL_SERVICE_INSTANCE_NAME") or f"{prefix}-{task.job}",
        "PROXYFIED": str(task.flag("MODEL_SERVICE_PROXIFIED", False)).lower(),
        "NODE_NAME": task.text("MODEL_SERVICE_NODE_NAME"),
        "ENGINE": "process" if platform in _NO_CONTAINER else platform,
        **{name: value for name, value in extra.items() if value},
    }
    with psa.client() as api:
        try:
            started = api.start_service(service, values, parent_job_id=task.job_id)
        except ApiError as error:
            raise task.fail(f"{service} not started: {error.message}") from None
        instance = api.wait_for_service_instance(started["id"], SERVICE_TIMEOUT)
        if instance["status"] != "RUNNING":
            raise task.fail(
                f"{service} instance {instance['id']} is {instance['status']}: {instance['error']}"
            )
    master = str(instance["variables"].get(model_serving.MASTER_TOKEN) or "")
    if not master:
        raise task.fail(f"{service} instance {instance['id']} recorded no {model_serving.MASTER_TOKEN}")
    endpoint = services.endpoint_url(instance)
    token = model_serving.user_token(f"{endpoint}/api", master, task.text("MODEL_SERVICE_USER_NAME", "user"))
    task.pass_on(
        MODEL_SERVICE_INSTANCE_ID=str(instance["id"]),
        INSTANCE_ID=str(instance["id"]),
        INSTANCE_NAME=values["INSTANCE_NAME"],
        DEPLOY_MODEL_ENDPOINT=endpoint,
        PREDICT_MODEL_ENDPOINT=endpoint,
        SERVICE_TOKEN=token,
    )
    print(f"{task.name}: {service} instance {instance['id']} serves at {endpoint}")
    return task.passthrough()


# -- models -----------------------------------------------------------------------------------------


@library_task
def deploy_ml_model(task: Task) -> dict[str, Any]:
    """Deploy ``MODEL_URL``, else the parent's trained model, with its baseline: ``BASELINE_DATA_URL``,
    else the features of the data it was trained on (``DRIFT_DETECTION_WINDOW_SIZE`` rows sampled)."""
    files: dict[str, tuple[str, bytes]] = {}
    url = task.text("MODEL_URL")
    model = task.find(artifacts.MODEL)
    if url:
        files["model_file"] = ("model", _read(task, "MODEL_URL", url))
    elif model is not None:
        files["model_file"] = ("model.joblib", (task.userspace / model["path"]).read_bytes())
    else:
        raise task.fail("give MODEL_URL, or make this task depend on Train_Model")
    baseline = task.text("BASELINE_DATA_URL")
    if baseline:
        files["baseline_data"] = ("baseline.csv", _read(task, "BASELINE_DATA_URL", baseline))
    elif model is not None and isinstance(model.get("data"), dict):
        data = model["data"]
        frame = task.read_frame(data["train"] if data.get("kind") == artifacts.SPLIT else data)
        features = model.get("features") or [c for c in frame.columns if c != model.get("label")]
        files["baseline_data"] = ("baseline.csv", frame[features].to_csv(index=False).encode())
    form = {
        "model_name": task.text("MODEL_NAME", "model"),
        "drift_window_size": str(task.integer("DRIFT_DETECTION_WINDOW_SIZE", 50)),
    }
    deployed = _call(task, "DEPLOY_MODEL_ENDPOINT", "API_EXTENSION", "/api/deploy", data=form, files=files)
    task.pass_on(MODEL_NAME=str(deployed["model_name"]), MODEL_VERSION=str(deployed["model_version"]))
    print(f"{task.name}: deployed {deployed['model_name']} version {deployed['model_version']}")
    return task.passthrough()


@library_task
def call_prediction_endpoint(task: Task) -> dict[str, Any]:
    """Score ``INPUT_DATA`` (JSON: ``{"columns", "rows"}`` or a list of records), else the parent's test
    data without ``LABEL_COLUMN``, with the drift detector ``DATA_DRIFT_DETECTOR``."""
    frame, given_label = _input_frame(task)
    label = task.text("LABEL_COLUMN") or given_label
    features = frame.drop(columns=[label]) if label and label in frame.columns else frame
    detector = task.text("DATA_DRIFT_DETECTOR", "HDDM")
    body = {
        "model_name": task.text("MODEL_NAME", "model"),
        "data": {"columns": [str(c) for c in features.columns], "rows": features.to_numpy().tolist()},
        "detector": DETECTORS.get(detector.upper(), detector.upper()),
    }
    if task.text("MODEL_VERSION"):
        body["model_version"] = task.text("MODEL_VERSION")
    answer = _call(task, "PREDICT_MODEL_ENDPOINT", "PREDICT_EXTENSION", "/api/predict", json=body)
    out = frame.copy()
    out[artifacts.PREDICTION_COLUMN] = answer["predictions"]
    task.show("predictions", out)
    drift = answer.get("drift")
    print(f"{task.name}: drift {json.dumps(drift)}")
    artifact = task.write_frame("predictions", out, label or None)
    artifact.update(kind=artifacts.PREDICTIONS, drift=drift)
    return artifact


@library_task
def deploy_dl_model(task: Task) -> dict[str, Any]:
    """Deploy the ONNX model of ``MODEL_URL`` as ``MODEL_NAME`` version ``MODEL_VERSION`` (``APPEND``)."""
    url = task.required("MODEL_URL")
    form = {
        "model_name": task.text("MODEL_NAME", "mnist_model"),
        "model_version": str(task.integer("MODEL_VERSION", 1)),
        "append": str(task.flag("APPEND", True)).lower(),
    }
    files = {"model_file": ("model.onnx", _read(task, "MODEL_URL", url))}
    deployed = _call(task, "DEPLOY_MODEL_ENDPOINT", "API_EXTENSION", "/api/deploy", data=form, files=files)
    task.pass_on(MODEL_NAME=form["model_name"], MODEL_VERSION=form["model_version"])
    print(f"{task.name}: deployed {json.dumps(deployed)}")
    return task.passthrough()


@library_task
def undeploy_dl_model(task: Task) -> dict[str, Any]:
    form = {"model_name": task.required("MODEL_NAME"), "model_version": str(task.integer("MODEL_VERSION", 1))}
    answer = _call(task, "DEPLOY_MODEL_ENDPOINT", "UNDEPLOY_EXTENSION", "/api/undeploy", data=form)
    print(f"{task.name}: undeployed {json.dumps(answer)}")
    return task.passthrough()


# -- shared -----------------------------------------------------------------------------------------


def _read(task: Task, variable: str, url: str) -> bytes:
    try:
        return sources.read_bytes(url, task.userspace, task.globalspace)
    except sources.SourceError as error:
        raise task.fail(f"{variable} {error}") from None


def _input_frame(task: Task) -> tuple[pd.DataFrame, str]:
    """The data to score, and its label column when it came from a parent."""
    text = task.text("INPUT_DATA")
    if not text:
        data = task.need(artifacts.SPLIT, artifacts.FRAME)
        test = data["test"] if data["kind"] == artifacts.SPLIT else data
        return task.read_frame(test), str(test.get("label") or data.get("label") or "")
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and "columns" in parsed:
            return pd.DataFrame(parsed.get("rows", parsed.get("data")), columns=parsed["columns"]), ""
        return pd.read_json(io.StringIO(json.dumps(parsed)), orient="records"), ""
    except (ValueError, TypeError) as error:
        raise task.fail(f"INPUT_DATA is not a JSON table ({{columns, rows}} or records): {error}") from None


def _call(task: Task, endpoint: str, extension: str, default: str, **request: Any) -> dict[str, Any]:
    """POST to the model server at ``<endpoint variable><extension variable>`` with ``SERVICE_TOKEN``."""
    url = task.required(endpoint).rstrip("/") + (task.text(extension) or default)
    headers = {"Authorization": f"Bearer {task.required('SERVICE_TOKEN')}"}
    try:
        with httpx.Client(trust_env=False, timeout=model_serving.TIMEOUT, verify=False) as client:
            answer = client.post(url, headers=headers, **request)
    except httpx.HTTPError as error:
        raise task.fail(f"{url}: {error}") from None
    if answer.status_code >= 400:
        raise task.fail(f"{url} answered {answer.status_code}: {answer.text[:500]}")
    body: dict[str, Any] = answer.json()
    return body

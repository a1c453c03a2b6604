"""The MaaS_ML and MaaS_DL services on a live server: started as services, models deployed by their PSA
actions and through their REST API, predictions, drift and its notification, pause/resume, a dead model
server, rollback under load, the proxy, and the docker engine."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from runyard.client import Client
from runyard.client.documents import ServiceInstance
from runyard.services.containers import services_folder
from runyard.services.model_serving import MASTER_TOKEN, MAX_LINE, NOTIFICATIONS_FILE
from support.server import LiveServer
from support.service_lifecycle import act, finish, process_pid, start, url

TIMEOUT = 60


@pytest.fixture(scope="module")
def files() -> Iterator[Path]:
    """A folder every account can read: the actions' tasks run as the owner's account, not root."""
    with tempfile.TemporaryDirectory(prefix="runyard-maas-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)


@pytest.fixture(scope="module")
def iris() -> tuple[pd.DataFrame, Any]:
    """The iris features (named columns) and a classifier fitted on them, as the ML library fits."""
    data = load_iris(as_frame=True)
    features = data.frame.drop(columns=["target"])
    return features, LogisticRegression(max_iter=500).fit(features, data.frame["target"])


def _readable(folder: Path, name: str, content: bytes) -> str:
    path = folder / name
    path.write_bytes(content)
    path.chmod(0o644)
    return str(path)


def _api(instance: ServiceInstance, *, proxied: bool = False) -> str:
    return url(instance, proxied).rstrip("/") + "/api"


def _token(instance: ServiceInstance, user: str = "tester") -> str:
    master = instance["variables"][MASTER_TOKEN]
    answer = httpx.post(
        f"{_api(instance)}/get_token", data={"user": user}, headers={"Authorization": f"Bearer {master}"}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def _predict(instance: ServiceInstance, token: str, frame: pd.DataFrame, **extra: Any) -> httpx.Response:
    body = {"data": {"columns": list(frame.columns), "rows": frame.to_numpy().tolist()}, **extra}
    return httpx.post(
        f"{_api(instance)}/predict", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _wait_for(check: Any, what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.2)


def test_maas_ml_life_on_the_process_engine(
    client: Client, sqlite_server: LiveServer, files: Path, iris: tuple[pd.DataFrame, Any]
) -> None:
    features, model = iris
    instance = start(client, "MaaS_ML", {"DRIFT_ENABLED": "true"})
    assert len(instance["variables"][MASTER_TOKEN]) >= 32
    api = _api(instance)

    # Only the instance's secret gets tokens; a wrong token is refused.
    assert httpx.post(f"{api}/get_token", data={"user": "x"}).status_code == 401
    assert httpx.post(f"{api}/get_token", headers={"Authorization": "Bearer guess"}).status_code == 401
    token = _token(instance)
    assert httpx.get(f"{api}/list_models", headers={"Authorization": "Bearer wrong"}).status_code == 401

    # Deployed by the PSA action, from files the owner's account reads.
    model_url = _readable(files, "iris.joblib", _joblib_bytes(model))
    baseline = _readable(files, "baseline.csv", features.to_csv(index=False).encode())
    deploy = {"MODEL_URL": model_url, "BASELINE_DATA_URL": baseline, "MODEL_NAME": "iris"}
    client.run_service_action(instance["id"], "Deploy_ML_Model", deploy)
    deployed = client.wait_for_service_instance(instance["id"], timeout=TIMEOUT)
    assert deployed["status"] == "AI_MODEL_DEPLOYED", client.get_job_output(_last_job(deployed))

    # Predictions are the model's own; rows of the baseline drift nowhere, a shifted column does.
    rows = features.sample(40, random_state=3)
    answer = _predict(instance, token, rows, model_name="iris", detector="KS")
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == model.predict(rows).tolist()
    assert answer.json()["drift"]["columns"] == []
    shifted = rows.copy()
    shifted["petal length (cm)"] += 6.0
    drifted = _predict(instance, token, shifted, model_name="iris", detector="KS").json()["drift"]
    assert drifted["columns"] == ["petal length (cm)"]
    assert drifted["rows"]

    # The drift reached the owner as a notification, from the instance.
    def drifts() -> list[Any]:
        return [n for n in client.list_notifications()["notifications"] if n["kind"] == "drift"]

    notes = _wait_for(drifts, "notification")
    assert "petal length (cm)" in str(notes[0]["details"])
    assert notes[0]["source"] == f"service-instance:{instance['id']}"

    # Malformed rows: 400 with the reason. A file that is not a model: the action fails, nothing changes.
    bad = httpx.post(
        f"{api}/predict",
        json={"model_name": "iris", "data": {"columns": ["a"], "rows": [[1, 2]]}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 400 and bad.json()["error"]
    before = httpx.get(f"{api}/list_models", headers={"Authorization": f"Bearer {token}"}).json()
    junk = _readable(files, "junk.joblib", b"this is no model")
    client.run_service_action(instance["id"], "Deploy_ML_Model", {**deploy, "MODEL_URL": junk})
    after_junk = client.wait_for_service_instance(instance["id"], timeout=TIMEOUT)
    assert after_junk["status"] == "AI_MODEL_DEPLOYED"
    (task,) = client.wait_for_job(_last_job(after_junk))["tasks"]
    assert task["status"] in ("FAULTY", "FAILED") and "deploy answered 400" in str(task["error"]), task
    assert httpx.get(f"{api}/list_models", headers={"Authorization": f"Bearer {token}"}).json() == before

    # Update_MaaS_ML: with the shifted data as its baseline, the shifted rows drift no more.
    new_baseline = features.assign(**{"petal length (cm)": features["petal length (cm)"] + 6.0})
    update = {
        "MODEL_NAME": "iris",
        "BASELINE_DATA_URL": _readable(files, "new.csv", new_baseline.to_csv(index=False).encode()),
    }
    client.run_service_action(instance["id"], "Update_MaaS_ML", update)
    updated = client.wait_for_service_instance(instance["id"], timeout=TIMEOUT)
    assert updated["status"] == "AI_MODEL_DEPLOYED", client.get_job_output(_last_job(updated))
    assert (
        _predict(instance, token, shifted, model_name="iris", detector="KS").json()["drift"]["columns"] == []
    )

    # The notifications file a server in a container writes (its state folder, the owner's to write):
    # the health check relays whole valid lines only, skipping junk and an oversized line.
    state = services_folder(sqlite_server.data_dir, client.whoami()["name"])
    (folder,) = state.glob(f"{instance['id']}-*")
    relayed = {"kind": "drift", "title": "relayed", "message": "", "details": {}}
    lines = ["not json", json.dumps({"kind": "drift"}), "x" * (MAX_LINE + 10), json.dumps(relayed)]
    (folder / "state" / NOTIFICATIONS_FILE).write_text("\n".join(lines) + "\n")
    _wait_for(lambda: [n for n in drifts() if n["title"] == "relayed"], "relayed notification")
    assert len(drifts()) == 2  # the server's own drift and the relayed one: nothing from the junk

    # Pause and resume keep the models: the status goes back to AI_MODEL_DEPLOYED.
    act(client, after_junk, "Pause_MaaS_ML", "PAUSED")
    resumed = act(client, after_junk, "Resume_MaaS_ML", "AI_MODEL_DEPLOYED")
    assert (
        _predict(resumed, token, rows, model_name="iris").json()["predictions"]
        == model.predict(rows).tolist()
    )

    # A dead model server: ERROR within a health period.
    os.kill(process_pid(resumed), signal.SIGKILL)
    dead = _wait_for(
        lambda: (i := client.get_service_instance(instance["id"]))["status"] == "ERROR" and i, "ERROR"
    )
    assert "no longer running" in dead["error"]


def test_maas_ml_through_the_proxy(
    client: Client, sqlite_server: LiveServer, iris: tuple[pd.DataFrame, Any]
) -> None:
    """PROXYFIED: the Audit & Traceability page, the Swagger UI and the API answer at the proxied URL to
    the platform's user, the model server's token in ``X-Api-Token`` (the platform's session takes the
    ``Authorization`` header); deploy and predict work there too. Another user gets nothing."""
    features, model = iris
    instance = start(client, "MaaS_ML", {"PROXYFIED": "true", "DRIFT_ENABLED": "false"})
    proxied = url(instance, proxied=True)
    token = _token(instance)
    with httpx.Client(headers={"Authorization": f"Bearer {client.token}"}, timeout=30) as browser:
        assert browser.get(proxied).status_code == 401  # the page wants a token of the model server
        page = browser.get(proxied, params={"api_token": token})
        assert page.status_code == 200 and "Audit" in page.text, page.text[:300]
        ui = browser.get(f"{proxied}api/ui")
        assert ui.status_code == 200 and "swagger" in ui.text.lower()
        api = {"X-Api-Token": token}
        deployed = browser.post(
            f"{proxied}api/deploy",
            headers=api,
            data={"model_name": "iris"},
            files={"model_file": ("iris.joblib", _joblib_bytes(model))},
        )
        assert deployed.status_code == 200, deployed.text
        rows = features.head(5)
        body = {
            "model_name": "iris",
            "data": {"columns": list(rows.columns), "rows": rows.to_numpy().tolist()},
        }
        predicted = browser.post(f"{proxied}api/predict", headers=api, json=body)
        assert predicted.json()["predictions"] == model.predict(rows).tolist()
    _, stranger = sqlite_server.new_user()
    refused = httpx.get(proxied, headers={"Authorization": f"Bearer {stranger}", "X-Api-Token": token})
    assert refused.status_code in (403, 404)
    finish(client, instance, "Finish_MaaS_ML")


def test_maas_ml_over_https(client: Client) -> None:
    """HTTPS_ENABLED: the endpoint is https (a certificate made at the start), tokens work over it."""
    _check_https(client, "process")


def test_maas_ml_over_https_on_the_docker_engine(docker_server: LiveServer) -> None:
    with Client(docker_server.url, docker_server.new_user()[1]) as client:
        _check_https(client, "docker")


def _check_https(client: Client, engine: str) -> None:
    instance = start(client, "MaaS_ML", {"HTTPS_ENABLED": "true", "ENGINE": engine})
    api = _api(instance)
    assert api.startswith("https://127.0.0.1:")
    master = {"Authorization": f"Bearer {instance['variables'][MASTER_TOKEN]}"}
    with httpx.Client(verify=False) as https:  # self-signed: the test checks the scheme, not the issuer
        assert https.post(f"{api}/get_token", headers=master).status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(api.replace("https://", "http://") + "/health")
    finish(client, instance, "Finish_MaaS_ML")


def test_maas_dl_rollback_loses_no_request(
    client: Client, files: Path, iris: tuple[pd.DataFrame, Any]
) -> None:
    """v1, then v2, then v1 again by Redeploy_DL_Model, while predictions stream: none fails, and the
    answers follow the version served."""
    features, _ = iris
    target = load_iris().target
    inputs = features.to_numpy(np.float32)
    versions = {
        1: LogisticRegression(max_iter=500).fit(inputs, target),
        2: DecisionTreeClassifier(max_depth=1, random_state=0).fit(inputs, target),
    }
    instance = start(client, "MaaS_DL", {})
    for version, fitted in versions.items():
        onnx = to_onnx(fitted, inputs[:1], options={id(fitted): {"zipmap": False}})
        path = _readable(files, f"iris-v{version}.onnx", onnx.SerializeToString())
        variables = {
            "MODEL_URL": path,
            "MODEL_NAME": "iris",
            "MODEL_VERSION": str(version),
            "APPEND": "false",
        }
        client.run_service_action(instance["id"], "Deploy_DL_Model", variables)
        done = client.wait_for_service_instance(instance["id"], timeout=TIMEOUT)
        assert done["status"] == "AI_MODEL_DEPLOYED", client.get_job_output(_last_job(done))
    token = _token(instance)
    body = {"model_name": "iris", "instances": inputs.tolist()}
    headers = {"Authorization": f"Bearer {token}"}
    expected = {version: fitted.predict(inputs).tolist() for version, fitted in versions.items()}
    assert expected[1] != expected[2]
    seen: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                answer = http.post(f"{_api(instance)}/predict", json=body, headers=headers)
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                predictions = [int(p) for p in answer.json()["predictions"]]
                seen.append(next(v for v, p in expected.items() if p == predictions))

    sender = threading.Thread(target=stream)
    sender.start()
    try:
        _wait_for(lambda: seen, "prediction")
        client.run_service_action(
            instance["id"],
            "Redeploy_DL_Model",
            {"MODEL_NAME": "iris", "MODEL_VERSION": "1", "APPEND": "false"},
        )
        rolled = client.wait_for_service_instance(instance["id"], timeout=TIMEOUT)
        assert rolled["status"] == "AI_MODEL_DEPLOYED", client.get_job_output(_last_job(rolled))
        count = len(seen)
        _wait_for(lambda: len(seen) > count + 5, "predictions after the rollback")
    finally:
        stop.set()
        sender.join()
    assert not failures, failures[:3]
    assert seen[0] == 2 and seen[-1] == 1
    finish(client, rolled, "Finish_MaaS_DL")


@pytest.mark.parametrize(
    "workflow", ["IRIS_Deploy_Flower_Classifier_Model", "MNIST_Model_Training_and_Deployment"]
)
def test_example_pipelines_finish(client: Client, workflow: str) -> None:
    job = client.wait_for_job(client.submit_from_catalog("model_as_a_service", workflow), timeout=240)
    ended = {t["name"]: t["status"] for t in job["tasks"]}
    errors = {t["name"]: t["error"] for t in job["tasks"] if t["error"]}
    assert set(ended.values()) == {"FINISHED"}, (ended, errors)
    instances = client.list_service_instances("all")
    started = [i for i in instances if i["job_submissions"][0]["parent_job_id"] == job["id"]]
    assert len(started) == 1, instances
    output = client.get_job_output(job["id"])
    if workflow.startswith("IRIS"):
        assert "drift" in output
    else:
        assert "digits recognised" in output
    assert all(i["status"] == "FINISHED" for i in started), started


def test_maas_ml_on_the_docker_engine(docker_server: LiveServer, iris: tuple[pd.DataFrame, Any]) -> None:
    features, model = iris
    _, platform_token = docker_server.new_user()
    with Client(docker_server.url, platform_token) as client:
        instance = start(client, "MaaS_ML", {"ENGINE": "docker", "DRIFT_ENABLED": "true"})
        token = _token(instance)
        deployed = httpx.post(
            f"{_api(instance)}/deploy",
            headers={"Authorization": f"Bearer {token}"},
            data={"model_name": "iris"},
            files={
                "model_file": ("iris.joblib", _joblib_bytes(model)),
                "baseline_data": ("baseline.csv", features.to_csv(index=False).encode()),
            },
            timeout=60,
        )
        assert deployed.status_code == 200, deployed.text
        rows = features.sample(40, random_state=5)
        answer = _predict(instance, token, rows, model_name="iris", detector="KS")
        assert answer.json()["predictions"] == model.predict(rows).tolist()
        # The container reaches nothing of the host's loopback: its drift goes through the health check.
        shifted = rows.assign(**{"sepal width (cm)": rows["sepal width (cm)"] + 5})
        assert _predict(instance, token, shifted, model_name="iris", detector="KS").json()["drift"]["columns"]

        def drifts() -> list[Any]:
            return [n for n in client.list_notifications()["notifications"] if n["kind"] == "drift"]

        (note,) = _wait_for(drifts, "notification relayed")
        assert note["source"] == f"service-instance:{instance['id']}"
        assert note["details"]["columns"] == ["sepal width (cm)"]
        finish(client, instance, "Finish_MaaS_ML")


def _joblib_bytes(model: Any) -> bytes:
    with tempfile.TemporaryFile() as file:
        joblib.dump(model, file)
        file.seek(0)
        return file.read()


def _last_job(instance: ServiceInstance) -> int:
    return instance["job_submissions"][-1]["job_id"]

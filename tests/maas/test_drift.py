"""Drift detection: every detector quiet on rows from the baseline's distribution and naming exactly the
shifted column otherwise; the answer of predict, the drift notification, a new baseline, drift off."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from maas import models
from maas.live import MASTER, Live, bearer, live
from runyard.maas.baselines import Baseline
from runyard.maas.drift import DETECTORS, DriftDetection, detector_name
from runyard.maas.errors import RequestRefused
from runyard.maas.ml_server import create_app
from runyard.maas.settings import MLSettings
from runyard.maas.tables import Table, read_table

NEW_ROWS = 150


def table(frame: pd.DataFrame) -> Table:
    return read_table({"columns": list(frame.columns), "rows": frame.to_numpy().tolist()})


@pytest.fixture(scope="module")
def detection() -> DriftDetection:
    return DriftDetection(Baseline.of(models.drift_frame(400, seed=1)), 1.9)


@pytest.mark.parametrize("detector", DETECTORS)
def test_rows_from_the_baseline_distribution_do_not_drift(detection: DriftDetection, detector: str) -> None:
    found = detection.detect(detector, table(models.drift_frame(NEW_ROWS, seed=2)))
    assert found["columns"] == []
    assert found["rows"] == []
    assert set(found["details"]) == set(models.DRIFT_COLUMNS)


@pytest.mark.parametrize("detector", DETECTORS)
@pytest.mark.parametrize("column", models.DRIFT_COLUMNS)
def test_a_shifted_column_drifts(detection: DriftDetection, detector: str, column: str) -> None:
    found = detection.detect(detector, table(models.drift_frame(NEW_ROWS, seed=3, shifted=column)))
    assert found["detector"] == detector
    assert found["columns"] == [column]
    assert found["rows"] and set(found["rows"]) <= set(range(NEW_ROWS))
    assert found["details"][column]["shift"] > 2.5


def test_detector_names() -> None:
    assert detector_name(None) == "HDDM_A"
    assert detector_name("HDDM") == "HDDM_A"
    assert detector_name("Page Hinkley") == "PAGE_HINKLEY"
    assert detector_name("adwin") == "ADWIN"
    with pytest.raises(RequestRefused, match="unknown detector"):
        detector_name("DDM")


class Receiver(ThreadingHTTPServer):
    """A tiny platform: keeps what is POSTed to it."""

    received: list[tuple[str, Any]]
    arrived: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.headers.get("Authorization", ""), body))
        self.send_response(204)
        self.end_headers()
        self.server.arrived.set()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Handler)
    server.received, server.arrived = [], threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def drift_ml(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Live]:
    settings = MLSettings(
        state_dir=Path(tmp_path_factory.mktemp("drift")),
        master_token=MASTER,
        notify_url=f"http://127.0.0.1:{receiver.server_address[1]}/api/v1/notifications",
        notify_token="platform-token",
    )
    with live(create_app(settings)) as server:
        yield server


@pytest.fixture(scope="module")
def deployed(drift_ml: Live) -> dict[str, str]:
    """A model on the drift columns with a baseline of 400 rows sampled from 1,000."""
    frame = models.drift_frame(1000, seed=1)
    model = LogisticRegression().fit(frame, frame["a"] > 5)
    headers = bearer(drift_ml.token())
    answer = drift_ml.client.post(
        f"{drift_ml.url}api/deploy",
        headers=headers,
        files={
            "model_file": ("m.joblib", models.pickled(model)),
            "baseline_data": ("b.csv", frame.to_csv(index=False)),
        },
        data={"model_name": "sensors", "drift_window_size": "400"},
    )
    assert answer.status_code == 200, answer.text
    return headers


def _predict(server: Live, headers: dict[str, str], frame: pd.DataFrame, detector: str) -> Any:
    body = {"model_name": "sensors", "detector": detector, "data": json.loads(frame.to_json(orient="split"))}
    answer = server.client.post(f"{server.url}api/predict", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_predict_reports_drift_and_notifies(
    drift_ml: Live, deployed: dict[str, str], receiver: Receiver
) -> None:
    listed = drift_ml.client.get(f"{drift_ml.url}api/list_models", headers=deployed).json()["models"]
    assert listed[0]["versions"][0]["baseline_columns"] == models.DRIFT_COLUMNS
    quiet = _predict(drift_ml, deployed, models.drift_frame(NEW_ROWS, seed=2), "PAGE_HINKLEY")
    assert quiet["drift"]["columns"] == [] and len(quiet["predictions"]) == NEW_ROWS
    assert not receiver.received
    shifted = _predict(drift_ml, deployed, models.drift_frame(NEW_ROWS, seed=3, shifted="c"), "PAGE_HINKLEY")
    assert shifted["drift"]["detector"] == "PAGE_HINKLEY"
    assert shifted["drift"]["columns"] == ["c"]
    assert receiver.arrived.wait(10)
    authorization, notification = receiver.received[0]
    assert authorization == "Bearer platform-token"
    assert notification["kind"] == "drift"
    assert notification["details"]["columns"] == ["c"]
    assert notification["details"]["model_name"] == "sensors"
    assert notification["details"]["model_version"] == 1
    assert notification["details"]["rows"] == shifted["drift"]["rows"][:100]
    # One notification per episode: the same drift again is not notified, a drift after a quiet call is.
    for frame in (models.drift_frame(NEW_ROWS, seed=3, shifted="c"), models.drift_frame(NEW_ROWS, seed=2)):
        _predict(drift_ml, deployed, frame, "PAGE_HINKLEY")
    assert len(receiver.received) == 1
    receiver.arrived.clear()
    again = _predict(drift_ml, deployed, models.drift_frame(NEW_ROWS, seed=5, shifted="c"), "PAGE_HINKLEY")
    assert receiver.arrived.wait(10)
    assert len(receiver.received) == 2
    assert receiver.received[1][1]["details"]["rows"] == again["drift"]["rows"][:100]


def test_a_new_baseline_moves_what_drifts(drift_ml: Live, deployed: dict[str, str]) -> None:
    moved = models.drift_frame(1000, seed=4, shifted="c")
    answer = drift_ml.client.post(
        f"{drift_ml.url}api/update",
        headers=deployed,
        files={"baseline_data": ("b.csv", moved.to_csv(index=False))},
        data={"model_name": "sensors"},
    )
    assert answer.status_code == 200, answer.text
    shifted = _predict(drift_ml, deployed, models.drift_frame(NEW_ROWS, seed=3, shifted="c"), "KS")
    assert shifted["drift"]["columns"] == []
    before = _predict(drift_ml, deployed, models.drift_frame(NEW_ROWS, seed=2), "KS")
    assert before["drift"]["columns"] == ["c"]


def test_a_bad_baseline_or_detector_is_refused(drift_ml: Live, deployed: dict[str, str]) -> None:
    bad = drift_ml.client.post(
        f"{drift_ml.url}api/update",
        headers=deployed,
        files={"baseline_data": ("b.csv", b"")},
        data={"model_name": "sensors"},
    )
    assert bad.status_code == 400
    long_name = drift_ml.client.post(
        f"{drift_ml.url}api/update",
        headers=deployed,
        files={"baseline_data": ("b.csv", "x" * 300 + "\n1\n")},
        data={"model_name": "sensors"},
    )
    assert long_name.status_code == 400 and "256" in long_name.json()["error"]
    body = {"model_name": "sensors", "detector": "DDM", "data": {"columns": ["a"], "rows": [[1]]}}
    unknown = drift_ml.client.post(f"{drift_ml.url}api/predict", headers=deployed, json=body)
    assert unknown.status_code == 400 and "unknown detector" in unknown.json()["error"]


def test_drift_off_answers_null(tmp_path: Path) -> None:
    settings = MLSettings(state_dir=tmp_path, master_token=MASTER, drift=False)
    frame = models.drift_frame(100, seed=1)
    model = LogisticRegression().fit(frame, frame["a"] > 5)
    with live(create_app(settings)) as server:
        headers = bearer(server.token())
        server.client.post(
            f"{server.url}api/deploy",
            headers=headers,
            files={
                "model_file": ("m", models.pickled(model)),
                "baseline_data": ("b.csv", frame.to_csv(index=False)),
            },
            data={"model_name": "sensors"},
        )
        answer = _predict(server, headers, models.drift_frame(10, seed=3, shifted="a"), "ADWIN")
        assert answer["drift"] is None
        assert answer["predictions"] == model.predict(models.drift_frame(10, seed=3, shifted="a")).tolist()

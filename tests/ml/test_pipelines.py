"""The machine-learning-workflows pipelines and the seed's tutorial, submitted to one real server:
every pipeline FINISHED with sane metrics, on its shipped data and on data of the test's own; the stored
job shows the library tasks that ran; bad input fails its task with one line."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest

from support.server import LiveServer, live_server, wait_for

TUTORIAL = """
name: Tutorial_Boston
variables:
  LABEL_COLUMN: LABEL
tasks:
  Load_Boston_Dataset:
    from: machine-learning/Load_Boston_Dataset
    variables: {LIMIT_OUTPUT_VIEW: "5"}
  Split_Data:
    from: machine-learning/Split_Data
    depends: [Load_Boston_Dataset]
    variables: {TRAIN_SIZE: "0.6"}
  Linear_Regression: {from: machine-learning/Linear_Regression}
  Support_Vector_Regression: {from: machine-learning/Support_Vector_Regression}
  Train_Linear_Regression:
    from: machine-learning/Train_Model
    depends: [Linear_Regression, Split_Data]
  Train_SVR:
    from: machine-learning/Train_Model
    depends: [Split_Data, Support_Vector_Regression]
  Download_Model:
    from: machine-learning/Download_Model
    depends: [Train_Linear_Regression]
  Predict_Linear_Regression:
    from: machine-learning/Predict_Model
    depends: [Train_Linear_Regression, Split_Data]
  Predict_SVR:
    from: machine-learning/Predict_Model
    depends: [Split_Data, Train_SVR]
  Preview_Results:
    from: machine-learning/Preview_Results
    depends: [Predict_Linear_Regression]
"""

# Pipeline -> (task, metric, lowest acceptable value).
SANE: dict[str, list[tuple[str, str, float]]] = {
    "House_Price_Prediction_using_Linear_Regression": [("Predict_Model", "r2", 0.6)],
    "Iris_Flowers_Classification_using_Logistic_Regression": [("Predict_Model", "accuracy", 0.9)],
    "Diabetics_Detection_using_K_means": [("Predict_Model", "adjusted_rand", 0.4)],
    "Parallel_Classification_Model_Training": [
        (f"Predict_{a}", "accuracy", 0.9)
        for a in ("Logistic_Regression", "Support_Vector_Machines", "Random_Forest")
    ],
    "Parallel_Regression_Model_Training": [
        (f"Predict_{a}", "r2", 0.5)
        for a in ("Linear_Regression", "Support_Vector_Regression", "Random_Forest")
    ],
    "Vehicle_Type_Using_Model_Explainability": [("Predict_Model", "accuracy", 0.9)],
    "Unsupervised_Anomaly_Detection": [("Predict_Model", "anomalies", 1)],
}


@dataclass
class Jobs:
    server: LiveServer
    token: str
    ids: dict[str, int]
    data_url: str

    def job(self, key: str) -> dict[str, Any]:
        with self.server.client(self.token) as client:
            return wait_for(client, self.ids[key], timeout=110)


def _submit(client: httpx.Client, body: dict[str, Any]) -> int:
    answer = client.post("/jobs", json=body)
    assert answer.status_code == 201, answer.text
    job_id: int = answer.json()["id"]
    return job_id


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jobs]:
    """Every job submitted at once to one server, and a loopback http server of the test's CSV."""
    served = tmp_path_factory.mktemp("served")
    rows = [f"{x},{(x * 7) % 5},{3 * x - 2 * ((x * 7) % 5) + (x % 3) * 0.1}" for x in range(60)]
    (served / "mine.csv").write_text("\n".join(["x,z,target", *rows]) + "\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    with (
        http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as files,
        live_server(tmp_path_factory.mktemp("server"), nodes=2) as server,
    ):
        threading.Thread(target=files.serve_forever, daemon=True).start()
        data_url = f"http://127.0.0.1:{files.server_address[1]}/mine.csv"
        _, token = server.new_user()
        ids = {}
        with server.client(token) as client:
            for name in SANE:
                ids[name] = _submit(
                    client, {"catalog": {"bucket": "machine-learning-workflows", "name": name}}
                )
            ids["tutorial"] = _submit(client, {"workflow": TUTORIAL})
            mine = {"FILE_URL": data_url, "LABEL_COLUMN": "target"}
            ids["mine"] = _submit(
                client,
                {
                    "catalog": {
                        "bucket": "machine-learning-workflows",
                        "name": "House_Price_Prediction_using_Linear_Regression",
                    },
                    "variables": mine,
                },
            )
            ids["bad"] = _submit(
                client,
                {
                    "catalog": {
                        "bucket": "machine-learning-workflows",
                        "name": "Iris_Flowers_Classification_using_Logistic_Regression",
                    },
                    "variables": {"LABEL_COLUMN": "species"},
                },
            )
        yield Jobs(server, token, ids, data_url)
        files.shutdown()


def test_pipelines_on_one_server(jobs: Jobs) -> None:
    """One test, so that pytest-xdist does not start the server and run the jobs once per worker."""
    for name in SANE:
        _check_shipped_pipeline(jobs, name)
    _check_tutorial(jobs)
    _check_own_data(jobs)
    _check_bad_input(jobs)


def _finished(jobs: Jobs, key: str) -> dict[str, dict[str, Any]]:
    job = jobs.job(key)
    tasks = {t["name"]: t for t in job["tasks"]}
    assert job["status"] == "FINISHED", (key, {n: t["error"] for n, t in tasks.items() if t["error"]})
    assert all(t["status"] == "FINISHED" for t in tasks.values()), (
        key,
        {n: t["error"] for n, t in tasks.items()},
    )
    return tasks


def _check_shipped_pipeline(jobs: Jobs, name: str) -> None:
    tasks = _finished(jobs, name)
    for task, metric, lowest in SANE[name]:
        assert tasks[task]["result"]["metrics"][metric] >= lowest, (
            name,
            task,
            tasks[task]["result"]["metrics"],
        )


def _check_tutorial(jobs: Jobs) -> None:
    tasks = _finished(jobs, "tutorial")
    assert tasks["Split_Data"]["result"]["train"]["rows"] == 303  # TRAIN_SIZE 0.6 of 506
    assert tasks["Predict_Linear_Regression"]["result"]["metrics"]["r2"] > 0.6
    assert tasks["Download_Model"]["result"]["download"].endswith("Train_Linear_Regression/model.joblib")
    assert tasks["Preview_Results"]["result"]["html"].endswith("Preview_Results/preview.html")
    with jobs.server.client(jobs.token) as client:
        stored = client.get(f"/jobs/{jobs.ids['tutorial']}/workflow").text
        result = client.get(f"/jobs/{jobs.ids['tutorial']}/tasks/Predict_SVR/result").json()
    assert "result = preprocessing.split_data(variables, results, userspace)" in stored
    assert "runyard.from: machine-learning/Split_Data@" in stored
    assert set(result["value"]["metrics"]) == {
        "rows",
        "r2",
        "mae",
        "mse",
        "rmse",
    }  # as `runyard result` reads it


def _check_own_data(jobs: Jobs) -> None:
    tasks = _finished(jobs, "mine")
    assert tasks["Import_Data"]["result"]["columns"] == ["x", "z", "target"]
    assert tasks["Predict_Model"]["result"]["metrics"]["r2"] > 0.99
    assert tasks["Export_Data"]["result"]["files"][0].endswith("Export_Data/export.csv")


def _check_bad_input(jobs: Jobs) -> None:
    tasks = {t["name"]: t for t in jobs.job("bad")["tasks"]}
    error = tasks["Import_Data"]["error"]
    assert tasks["Import_Data"]["status"] == "FAULTY"
    assert error.startswith("main script of task Import_Data failed: Import_Data: LABEL_COLUMN: 'species'")
    assert "\n" not in error and "Traceback" not in error

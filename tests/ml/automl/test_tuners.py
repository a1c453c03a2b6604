"""Each tuner through a real server: samples are child jobs of the tuner job, as many as the budget says,
and the best loss found is close to the objective's optimum; failed samples and malformed spaces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runyard.client import Client
from runyard.client.documents import Job

from .conftest import Tuning

TUNER = ("auto-ml-optimization", "Multi_Tuners_AutoML")


def tune(client: Client, **variables: str | int) -> Job:
    job_id = client.submit_from_catalog(*TUNER, {"RANDOM_SEED": 7, **variables})
    return client.wait_for_job(job_id, timeout=90)


def samples_of(client: Client, tuner: Job) -> list[Job]:
    """The tuner's sample jobs, as its result map lists them, each checked to be its child."""
    ids = json.loads(tuner["result_map"]["SAMPLE_JOB_IDS"])
    jobs = [client.get_job(i) for i in ids]
    assert {job["parent_id"] for job in jobs} == {tuner["id"]}
    children = [j["id"] for j in client.list_jobs(limit=1000)["jobs"] if j["parent_id"] == tuner["id"]]
    assert sorted(children) == sorted(ids), "one job per trial"
    return jobs


def _output(client: Client, job: Job) -> str:
    return client.get_job_output(job["id"])


@pytest.mark.parametrize(
    ("algorithm", "close"),
    [("Bayes", 0.5), ("Random", 2.0), ("QuasiRandom", 1.5), ("CMAES", 1.0)],
)
def test_a_tuner_finds_a_loss_close_to_the_optimum(tuning: Tuning, algorithm: str, close: float) -> None:
    """24 samples of a 2-D objective whose loss averages 11.7 over [-4, 4]^2 and is 0 at its optimum (the
    seed makes each run the same; Random's 24 points fall within 2 of the optimum 9 times in 10, and
    QuasiRandom's Sobol points happen to pass farther from it)."""
    client = tuning.client
    tuner = tune(
        client,
        TUNING_ALGORITHM=algorithm,
        WORKFLOW_TO_OPTIMIZE=f"{tuning.bucket}/Sphere",
        MAX_ITERATIONS=6,
        PARALLEL_SAMPLES_PER_LOOP=4,
    )
    assert tuner["status"] == "FINISHED", _output(client, tuner)
    result = tuner["result_map"]
    assert result["TRIALS"] == 24 and result["FAILED_TRIALS"] == 0
    samples = samples_of(client, tuner)
    assert len(samples) == 24 and all(s["status"] == "FINISHED" for s in samples)
    logged = _output(client, tuner)  # the trials' lines, written in batches: all of them in the end
    assert all(f"trial {n} (job {s['id']}): LOSS " in logged for n, s in enumerate(samples)), logged
    best = json.loads(result["BEST_PARAMETERS"])
    assert set(best) == {"x", "y"}
    assert result["BEST_LOSS"] == pytest.approx((best["x"] - 1) ** 2 + (best["y"] + 1) ** 2)
    assert result["BEST_LOSS"] < close, result


def test_grid_tries_every_point_once(tuning: Tuning) -> None:
    """A 4 x 3 grid in a budget of 16: 12 samples, the optimum among them."""
    client = tuning.client
    space = {"x": "quantized_uniform(-1, 2, 1)", "y": "choice([-1, 0, 1])"}
    tuner = tune(
        client,
        TUNING_ALGORITHM="Grid",
        WORKFLOW_TO_OPTIMIZE=f"{tuning.bucket}/Sphere",
        SEARCH_SPACE=json.dumps(space),
        MAX_ITERATIONS=4,
        PARALLEL_SAMPLES_PER_LOOP=4,
    )
    assert tuner["status"] == "FINISHED", _output(client, tuner)
    assert tuner["result_map"]["TRIALS"] == 12
    points = {(float(s["variables"]["x"]), float(s["variables"]["y"])) for s in samples_of(client, tuner)}
    assert points == {(x, y) for x in (-1, 0, 1, 2) for y in (-1, 0, 1)}
    assert json.loads(tuner["result_map"]["BEST_PARAMETERS"]) == {"x": 1, "y": -1}
    assert tuner["result_map"]["BEST_LOSS"] == 0


def test_mocmaes_finds_trade_offs_of_two_losses(tuning: Tuning) -> None:
    """The shipped Schaffer_Function: its best trade-offs are y = 0, 0 <= x <= 2, where the sum of both
    losses is 2 at least (it averages 37 over the space)."""
    client = tuning.client
    tuner = tune(
        client,
        TUNING_ALGORITHM="MOCMAES",
        WORKFLOW_TO_OPTIMIZE="auto-ml-optimization/Schaffer_Function",
        MAX_ITERATIONS=6,
        PARALLEL_SAMPLES_PER_LOOP=4,
    )
    assert tuner["status"] == "FINISHED", _output(client, tuner)
    result = tuner["result_map"]
    assert result["TRIALS"] == 24
    assert len(samples_of(client, tuner)) == 24
    front: list[list[float]] = json.loads(result["BEST_LOSS"])
    parameters: list[dict[str, Any]] = json.loads(result["BEST_PARAMETERS"])
    assert len(front) == len(parameters) >= 1
    for (first, second), point in zip(front, parameters, strict=True):
        assert first == pytest.approx(point["x"] ** 2 + point["y"] ** 2)
        assert second == pytest.approx((point["x"] - 2) ** 2 + point["y"] ** 2)
    assert min(first + second for first, second in front) < 3, front


def test_failed_samples_are_recorded_and_the_search_goes_on(tuning: Tuning) -> None:
    """Samples with x > 0 fail (their task raises and sets no LOSS): FAIL trials, the others go on."""
    client = tuning.client
    tuner = tune(
        client,
        TUNING_ALGORITHM="Random",
        WORKFLOW_TO_OPTIMIZE=f"{tuning.bucket}/Sphere_Failing",
        MAX_ITERATIONS=3,
        PARALLEL_SAMPLES_PER_LOOP=4,
    )
    assert tuner["status"] == "FINISHED", _output(client, tuner)
    result = tuner["result_map"]
    samples = samples_of(client, tuner)
    failing = [s for s in samples if float(s["variables"]["x"]) > 0]
    assert result["TRIALS"] == 12 and 0 < result["FAILED_TRIALS"] == len(failing) < 12, result
    assert json.loads(result["BEST_PARAMETERS"])["x"] <= 0
    assert "x = " in _output(client, failing[0]) and "is too large" in _output(client, tuner)


def test_a_malformed_space_is_refused_before_any_sample_runs(tuning: Tuning) -> None:
    client = tuning.client
    tuner = tune(
        client,
        WORKFLOW_TO_OPTIMIZE=f"{tuning.bucket}/Sphere",
        SEARCH_SPACE=json.dumps({"x": "uniform(-4, 4)", "y": "uniform(1, 0)"}),
    )
    assert tuner["status"] != "FINISHED"
    (task,) = tuner["tasks"]
    assert "SEARCH_SPACE: parameter 'y': uniform needs low < high" in (task["error"] or ""), task
    assert [j["id"] for j in client.list_jobs()["jobs"]] == [tuner["id"]]
    grid = tune(client, TUNING_ALGORITHM="Grid", WORKFLOW_TO_OPTIMIZE=f"{tuning.bucket}/Sphere")
    assert "parameter 'x': uniform is continuous" in (grid["tasks"][0]["error"] or "")
    undeclared = tune(
        client, WORKFLOW_TO_OPTIMIZE=f"{tuning.bucket}/Sphere", SEARCH_SPACE='{"z": "uniform(0, 1)"}'
    )
    assert f"{tuning.bucket}/Sphere declares no variable z" in (undeclared["tasks"][0]["error"] or "")
    assert client.list_jobs()["total"] == 3


def test_the_space_from_the_catalog_and_the_iris_example(tuning: Tuning) -> None:
    """SEARCH_SPACE naming a JSON file of the catalog; empty, the optimized workflow's own (Iris's)."""
    client = tuning.client
    space = {"x": "quantized_uniform(0, 2, 1)", "y": "choice([-1])"}
    client.push_object(tuning.bucket, "sphere-space", json.dumps(space), kind="Other/json")
    grid = tune(
        client,
        TUNING_ALGORITHM="Grid",
        WORKFLOW_TO_OPTIMIZE=f"{tuning.bucket}/Sphere",
        SEARCH_SPACE=f"{tuning.bucket}/sphere-space",
    )
    assert grid["status"] == "FINISHED", _output(client, grid)
    assert grid["result_map"]["TRIALS"] == 3 and grid["result_map"]["BEST_LOSS"] == 0
    iris = tune(client, WORKFLOW_TO_OPTIMIZE="auto-ml-optimization/Iris_Classification", MAX_ITERATIONS=1)
    assert iris["status"] == "FINISHED", _output(client, iris)
    assert set(json.loads(iris["result_map"]["BEST_PARAMETERS"])) == {"C", "gamma", "kernel"}
    assert 0 <= iris["result_map"]["BEST_LOSS"] < 1
    assert "accuracy" in _output(client, samples_of(client, iris)[0])

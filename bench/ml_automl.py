"""AutoML benchmark: the time per trial of runyard's tuner against optuna alone, in process, on the same
objective with the same sampler, and the platform's cost to run one job.

A real ``python -m runyard server`` (its own process, SQLite, 2 local nodes: the tuner's task holds one,
its samples run on the other) is started in a scratch folder; the objective is a two-parameter quadratic
computed by a one-task cpython workflow (``Sphere``), and by a Python function for optuna alone.

- **optuna alone**: ``study.optimize(objective, n_trials)`` with the sampler (in-memory storage): the
  sampler's and optuna's bookkeeping per trial, the objective costing microseconds;
- **runyard**: ``Multi_Tuners_AutoML`` with ``PARALLEL_SAMPLES_PER_LOOP`` 1 and ``MAX_ITERATIONS`` =
  trials: per trial, the median time between the submissions of consecutive sample jobs (ask, journal
  writes over HTTP, submit, wait for the job's end, read its LOSS, tell), past the tuner's start;
- **one job**: a client submitting ``Sphere`` as the tuner submits a sample and waiting for its end, one
  after the other, while a job holds the other node as the tuner's task does: the median of 20 just
  before and 20 just after each tuner's run.

Target: runyard's time per trial <= optuna's own + one job's. Usage::

    .venv/bin/python bench/ml_automl.py [--trials 40]

``run(trials)`` does the same from Python (``bench/ml.py`` runs every ML benchmark side by side).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from report import load_line, ms, print_table, verdict
from runyard.client import Client
from support.server_process import add_user, free_port, server_process

USER, PASSWORD = "bench", "a long enough password"
SAMPLERS = {"Random": optuna.samplers.RandomSampler, "Bayes": optuna.samplers.TPESampler}
SPHERE = """\
name: Sphere
variables:
  x: "0"
  y: "0"
  INPUT_VARIABLES: "{}"
tasks:
  Loss:
    script:
      cpython: |-
        x, y = float(variables["x"]), float(variables["y"])
        variables.put("LOSS", (x - 1) ** 2 + (y + 1) ** 2)
"""
SPACE = {"x": "uniform(-4, 4)", "y": "uniform(-4, 4)"}
HOLDER = "name: Holder\ntasks:\n  Hold:\n    script:\n      cpython: import time; time.sleep(600)\n"


def optuna_alone(algorithm: str, trials: int) -> float:
    """Seconds per trial of ``study.optimize`` on the same objective and sampler."""

    def objective(trial: optuna.Trial) -> float:
        x, y = trial.suggest_float("x", -4, 4), trial.suggest_float("y", -4, 4)
        return (x - 1) ** 2 + (y + 1) ** 2

    study = optuna.create_study(sampler=SAMPLERS[algorithm](seed=1))
    began = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - began) / trials


def runyard_tuner(client: Client, algorithm: str, trials: int) -> tuple[float, float]:
    """Median seconds between consecutive sample submissions, and the tuner job's whole wall time."""
    variables = {
        "TUNING_ALGORITHM": algorithm,
        "WORKFLOW_TO_OPTIMIZE": "objectives/Sphere",
        "SEARCH_SPACE": json.dumps(SPACE),
        "MAX_ITERATIONS": trials,
        "PARALLEL_SAMPLES_PER_LOOP": 1,
        "RANDOM_SEED": 1,
    }
    tuner = client.wait_for_job(
        client.submit_from_catalog("auto-ml-optimization", "Multi_Tuners_AutoML", variables)
    )
    if tuner["status"] != "FINISHED":
        raise RuntimeError(client.get_job_output(tuner["id"]))
    ids = json.loads(tuner["result_map"]["SAMPLE_JOB_IDS"])
    submitted = [client.get_job(i)["submitted_at"] for i in ids]
    gaps = [b - a for a, b in itertools.pairwise(submitted)]
    return statistics.median(gaps), (tuner["finished_at"] or 0) - (tuner["submitted_at"] or 0)


def one_job(client: Client, rounds: int) -> list[float]:
    """Seconds from submitting ``Sphere`` to its end, seen by a client, ``rounds`` times: submitted as
    the tuner submits a sample (the values as variables and ``INPUT_VARIABLES``, an ``Idempotency-Key``)."""
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        variables: dict[str, str | int | float | bool] = {
            "x": 1,
            "y": 2,
            "INPUT_VARIABLES": '{"x": 1, "y": 2}',
        }
        key = f"bench-{uuid.uuid4().hex}"
        client.wait_for_job(
            client.submit_from_catalog("objectives", "Sphere", variables, idempotency_key=key)
        )
        times.append(time.perf_counter() - began)
    return times


@contextmanager
def one_node_held(client: Client) -> Iterator[None]:
    """One of the two nodes busy, as the tuner's task keeps it: the jobs measured run on the other."""
    holder = client.submit(HOLDER)
    while client.get_job(holder)["tasks"][0]["status"] != "RUNNING":
        time.sleep(0.01)
    try:
        yield
    finally:
        client.kill_job(holder)


def run(trials: int = 40) -> None:
    """Measure and print the three figures per sampler, and the verdict."""
    print(f"AutoML tuner overhead, {trials} sequential trials; {load_line()}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as scratch:
        folder = Path(scratch)
        add_user(folder, USER, PASSWORD)
        port = free_port()
        with server_process(folder, port, "--nodes", "2"), Client(f"http://127.0.0.1:{port}") as client:
            client.login(USER, PASSWORD)
            client.create_bucket("objectives")
            client.push_object("objectives", "Sphere", SPHERE, kind="Workflow/standard")
            one_job(client, 3)  # warm-up: the node agents' first forks
            rows, met = [], True
            for algorithm in SAMPLERS:
                alone = optuna_alone(algorithm, trials)
                # Jobs alone just before and after the tuner: the machine's load drifts (medians of both).
                with one_node_held(client):
                    before = one_job(client, 20)
                per_trial, wall = runyard_tuner(client, algorithm, trials)
                with one_node_held(client):
                    job = statistics.median(before + one_job(client, 20))
                target = alone + job
                met = met and per_trial <= target
                rows.append(
                    [
                        algorithm,
                        ms(alone),
                        ms(job),
                        ms(per_trial),
                        ms(target),
                        ms(wall / trials),
                        verdict(per_trial <= target),
                    ]
                )
    print_table(
        ["sampler", "optuna alone", "one job", "runyard / trial", "target", "tuner wall / trial", "verdict"],
        rows,
    )
    print("  ms per trial; target = optuna alone + one job; the tuner's wall includes its start (imports)")
    print(f"  verdict: {verdict(met)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=40)
    run(parser.parse_args().trials)


if __name__ == "__main__":
    main()

"""A tuner survives a kill -9 of its server: after the restart its search goes on from its journal, no
trial gets a second job, no finished sample runs again, and the search is the one it would have been."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import optuna

from runyard.client import Client
from runyard.client.documents import JobSummary
from runyard.ml.automl.search_space import parse_search_space
from runyard.ml.automl.tuners import make_tuner
from support.server_process import add_user, free_port, server_process

from .conftest import SPHERE

USER, PASSWORD = "tuner", "a long enough password"
SLOW_SPHERE = SPHERE.replace("        import json\n", "        import json, time\n        time.sleep(0.5)\n")
SPACE = '{"x": "uniform(-4, 4)", "y": "uniform(-4, 4)"}'
LOOPS, SAMPLES, SEED = 5, 3, 11
#: CMAES's population for 2 parameters and batches of 3 is 6: the first loop is random, the next two are
#: its first generation, the fourth draws the second from the strategy told the first, which the journal
#: holds (optuna keeps it in the study) and the restarted tuner goes on from.
KILLED_IN_LOOP = 4


def test_a_killed_server_resumes_the_search_without_running_a_sample_twice(tmp_path: Path) -> None:
    add_user(tmp_path, USER, PASSWORD)
    port = free_port()
    with server_process(tmp_path, port, "--nodes", str(SAMPLES + 1)) as process, _client(port) as client:
        client.create_bucket("objectives")
        client.push_object("objectives", "Slow_Sphere", SLOW_SPHERE, kind="Workflow/standard")
        variables: dict[str, str | int] = {
            "TUNING_ALGORITHM": "CMAES",
            "WORKFLOW_TO_OPTIMIZE": "objectives/Slow_Sphere",
            "MAX_ITERATIONS": LOOPS,
            "PARALLEL_SAMPLES_PER_LOOP": SAMPLES,
            "RANDOM_SEED": SEED,
        }
        tuner_id = client.submit_from_catalog("auto-ml-optimization", "Multi_Tuners_AutoML", variables)
        deadline = time.monotonic() + 60
        # Killed as soon as the loop's first job is stored, while the tuner submits the others: a job is
        # stored with its idempotency key (one transaction), so the restarted tuner's retries find theirs.
        while len(_samples(client, tuner_id)) <= (KILLED_IN_LOOP - 1) * SAMPLES:
            assert time.monotonic() < deadline, client.get_job_output(tuner_id)
            time.sleep(0.01)
        finished = {job["id"] for job in _samples(client, tuner_id) if job["status"] == "FINISHED"}
        os.killpg(process.pid, signal.SIGKILL)  # the server, its nodes, the tuner and its samples at once
        process.wait(10)
    assert len(finished) >= (KILLED_IN_LOOP - 1) * SAMPLES  # the tuner waits for a loop before the next
    with server_process(tmp_path, port, "--nodes", str(SAMPLES + 1)), _client(port) as client:
        tuner = client.wait_for_job(tuner_id, timeout=90)
        assert tuner["status"] == "FINISHED", client.get_job_output(tuner_id)
        assert tuner["tasks"][0]["executions"] == 2  # the tuner task ran again after the kill
        result = tuner["result_map"]
        ids = json.loads(result["SAMPLE_JOB_IDS"])
        assert result["TRIALS"] == LOOPS * SAMPLES == len(set(ids))
        samples = _samples(client, tuner_id)
        assert sorted(job["id"] for job in samples) == sorted(ids)  # one job per trial, none submitted twice
        for job in samples:
            full = client.get_job(job["id"])
            assert full["status"] == "FINISHED" and full["parent_id"] == tuner_id
            if job["id"] in finished:
                assert full["tasks"][0]["executions"] == 1  # finished before the kill: never run again
        sampled = [{k: float(client.get_job(i)["variables"][k]) for k in ("x", "y")} for i in ids]
    assert sampled == _uninterrupted()


def _uninterrupted() -> list[dict[str, float]]:
    """The points the same tuner samples with the same seed when nothing interrupts it, in process."""
    space = parse_search_space(SPACE)
    tuner = make_tuner("CMAES", space, SAMPLES, 1)
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage(), sampler=tuner.sampler(SEED))
    points = []
    for _ in range(LOOPS):
        numbers = tuner.ask(study, SAMPLES)
        values = [space.values(study.trials[n].params) for n in numbers]
        tuner.tell(
            study, {n: ((v["x"] - 1) ** 2 + (v["y"] + 1) ** 2,) for n, v in zip(numbers, values, strict=True)}
        )
        points += values
    return points


def _samples(client: Client, tuner_id: int) -> list[JobSummary]:
    return [job for job in client.list_jobs(limit=1000)["jobs"] if job["id"] != tuner_id]


def _client(port: int) -> Client:
    client = Client(f"http://127.0.0.1:{port}")
    client.login(USER, PASSWORD)
    return client

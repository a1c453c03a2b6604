"""AutoML benchmark: the time per trial of runyard's tuner against optuna alone, in process, on the same
objective with the same sampler, and the platform's cost to run one job.

A real ``python -m runyard server`` (its own process, SQLite, 2 local nodes: the tuner's task holds one,
its samples run on the other) is started in a scratch folder; the objective is a two-parameter quadratic
computed by a one-task cpython workflow (``Sphere``), and by a Python function for optuna alone.

- **optuna alone**: ``study.optimize(objective, n_trials)`` with the sampler (in-memory storage): the
  sampler's and optuna's bookkeeping per trial, the objective costing microseconds (the median trial's
  wall time; the CPU of the trials the tuner's is measured on, below: TPE's first 10 are random, cheap);
- **runyard**: ``Multi_Tuners_AutoML`` with ``PARALLEL_SAMPLES_PER_LOOP`` 1 and ``MAX_ITERATIONS`` =
  trials: per trial, the median time between the submissions of consecutive sample jobs (ask, submit,
  wait for the job's end, read its LOSS, tell; the journal is sent every 5 s while samples run);
- **one job**: a client submitting ``Sphere`` as the tuner submits a sample and waiting for its end as the
  tuner waits (``wait_for_job``: one request the server holds until the job ends, answering its state),
  one after the other, while a job holds the other node as the tuner's task does: the median of 20 just
  before and 20 just after each tuner's run;
- **optuna driving jobs**: optuna run as a user would run it on runyard, ``study.optimize`` in this
  process with the same sampler, whose objective submits ``Sphere`` as the tuner submits a sample and
  waits for its end (the other node held): per trial, the median time between consecutive submissions,
  measured as the tuner's is; and optuna's own part of it (from an objective's end to the next one's
  submission: tell, ask, suggest), its cost under the conditions the tuner's ask and tell run in, right
  after a job ends while the server finishes it, instead of in a tight loop on an idle machine.

Target: runyard's time per trial <= optuna's own + one job's. The benchmark gives it twice: against
optuna alone (idle, a tight loop) + one job, and against optuna driving jobs (the same sum, measured
together under the same conditions). CPU time, which other work on the machine moves far less than
wall time, gives it a third time: per trial, the CPU of the server's process tree (server, node agents,
tasks, so the tuner's task too) against optuna alone's CPU + one job's (the server's tree and the
submitting client); the tuner's per trial is the difference between a run of ``trials`` and one of
``trials // 4`` (its start, imports and study, cancels out), which is also reported on its own: from the
tuner job's submission to its first sample's; optuna's, alone and driving jobs, are of the same trials
(past the first ``trials // 4``). Usage::

    .venv/bin/python bench/ml_automl.py [--trials 40] [--runs 5] [--json FILE]

Each run measures Random then Bayes, in that order, on the same server; the table gives the medians over
the runs and, for each ratio, the median of each run's, its range and the runs that met it. ``run(trials)``
does the same from Python (``bench/ml.py`` runs every ML benchmark side by side).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from report import load_line, ms, print_table, verdict
from runyard.client import Client
from runyard.client.documents import Job
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


def tree_cpu(root: int) -> float:
    """CPU seconds spent so far by process ``root`` and its descendants (ended ones once their parent
    reaped them, in its children's times)."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        ticks[int(entry.name)] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU seconds of the server's process tree, and of this process (a client's share) if counted."""

    server: int
    client: bool = True

    def __enter__(self) -> CpuMeter:
        self._began = tree_cpu(self.server) + (time.process_time() if self.client else 0.0)
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = tree_cpu(self.server) + (time.process_time() if self.client else 0.0) - self._began


def optuna_alone(algorithm: str, trials: int, short: int) -> tuple[float, float]:
    """Seconds per trial of ``study.optimize`` on the same objective and sampler: the median trial's wall
    time, and the CPU of the trials past the first ``short`` (the trials the tuner's CPU is measured on:
    TPE's first 10 are random, and cheap)."""
    marks: list[tuple[float, float]] = []  # when each trial's objective starts

    def objective(trial: optuna.Trial) -> float:
        marks.append((time.perf_counter(), time.process_time()))
        x, y = trial.suggest_float("x", -4, 4), trial.suggest_float("y", -4, 4)
        return (x - 1) ** 2 + (y + 1) ** 2

    study = optuna.create_study(sampler=SAMPLERS[algorithm](seed=1))
    study.optimize(objective, n_trials=trials)
    marks.append((time.perf_counter(), time.process_time()))
    walls = [b[0] - a[0] for a, b in itertools.pairwise(marks)]
    return statistics.median(walls), (marks[-1][1] - marks[short][1]) / (trials - short)


def optuna_driving_jobs(
    client: Client, server: int, algorithm: str, trials: int, short: int
) -> tuple[list[int], float, float]:
    """optuna driving ``Sphere`` jobs: their ids (their gaps are read as the tuner's are), optuna's own
    median seconds per trial among them, and the CPU per trial (the server's tree and this process) of
    the trials past the first ``short``, as the tuner's."""
    ids: list[int] = []
    ended: list[float] = []  # when each objective got its job's loss
    own: list[float] = []  # from an objective's end to the next one's submission
    cpu: list[float] = []  # the server's tree and this process, when trial ``short`` starts and at the end

    def objective(trial: optuna.Trial) -> float:
        if trial.number == short:
            cpu.append(tree_cpu(server) + time.process_time())
        x, y = trial.suggest_float("x", -4, 4), trial.suggest_float("y", -4, 4)
        if ended:
            own.append(time.perf_counter() - ended[-1])
        variables: dict[str, str | int | float | bool] = {
            "x": x,
            "y": y,
            "INPUT_VARIABLES": json.dumps({"x": x, "y": y}),
        }
        key = f"bench-optuna-{uuid.uuid4().hex}"
        ids.append(client.submit_from_catalog("objectives", "Sphere", variables, idempotency_key=key))
        job = client.wait_for_job(ids[-1])
        loss = float(job["tasks"][0]["variables"]["LOSS"])
        ended.append(time.perf_counter())
        return loss

    study = optuna.create_study(sampler=SAMPLERS[algorithm](seed=1))
    study.optimize(objective, n_trials=trials)
    cpu.append(tree_cpu(server) + time.process_time())
    return ids, statistics.median(own), (cpu[1] - cpu[0]) / (trials - short)


@dataclass(frozen=True)
class Gaps:
    """Medians over consecutive jobs of a sequential search, in seconds, from the server's times."""

    trial: float
    """From a job's submission to the next one's: the time per trial."""
    after_job: float
    """From a job's end to the next one's submission: what the driver adds to the job, without the job's
    own time (the figure that moves most with the machine's load)."""


def _gaps(client: Client, ids: list[int]) -> Gaps:
    jobs = [client.get_job(i) for i in ids]
    pairs = list(itertools.pairwise(jobs))
    return Gaps(
        trial=statistics.median(b["submitted_at"] - a["submitted_at"] for a, b in pairs),
        after_job=statistics.median(b["submitted_at"] - (a["finished_at"] or 0.0) for a, b in pairs),
    )


@dataclass(frozen=True)
class TunerRun:
    gaps: Gaps
    start: float
    """From the tuner job's submission to its first sample's."""


def runyard_tuner(client: Client, algorithm: str, trials: int) -> Job:
    """The tuner job, run to its end."""
    variables: dict[str, str | int | float | bool] = {
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
    return tuner


def tuner_run(client: Client, tuner: Job) -> TunerRun:
    """The gaps between the tuner's sample jobs and its start (read after the run: the requests are no
    part of its CPU)."""
    ids = json.loads(tuner["result_map"]["SAMPLE_JOB_IDS"])
    first = client.get_job(ids[0])["submitted_at"] or 0.0
    return TunerRun(_gaps(client, ids), first - (tuner["submitted_at"] or 0.0))


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


def measure(client: Client, server: int, algorithm: str, trials: int) -> dict[str, float]:
    """One run's figures for ``algorithm``, in seconds per trial (per job for one job)."""
    short = max(trials // 4, 2)
    alone, alone_cpu = optuna_alone(algorithm, trials, short)
    # Jobs alone just before and after the tuner and optuna driving jobs: the machine's load drifts
    # (medians of both).
    with one_node_held(client), CpuMeter(server) as job_cpu:
        before = one_job(client, 20)
    with CpuMeter(server, client=False) as short_cpu:
        runyard_tuner(client, algorithm, short)
    with CpuMeter(server, client=False) as tuner_cpu:
        tuner = runyard_tuner(client, algorithm, trials)
    tuned = tuner_run(client, tuner)
    with one_node_held(client):
        driven, own, driving_cpu = optuna_driving_jobs(client, server, algorithm, trials, short)
        with CpuMeter(server) as after_cpu:
            after = one_job(client, 20)
    peer = _gaps(client, driven)
    figures = {
        "optuna_alone": alone,
        "one_job": statistics.median(before + after),
        "optuna_own_driving": own,
        "driving": peer.trial,
        "runyard": tuned.gaps.trial,
        "after_job_runyard": tuned.gaps.after_job,
        "after_job_driving": peer.after_job,
        "tuner_start": tuned.start,
        "cpu_optuna_alone": alone_cpu,
        "cpu_one_job": (job_cpu.seconds + after_cpu.seconds) / 40,
        "cpu_driving": driving_cpu,
        "cpu_runyard": (tuner_cpu.seconds - short_cpu.seconds) / (trials - short),
    }
    figures["target"] = alone + figures["one_job"]
    figures["cpu_target"] = alone_cpu + figures["cpu_one_job"]
    return figures


RATIOS = {
    "wall / target": ("runyard", "target"),
    "wall / driving": ("runyard", "driving"),
    "CPU / target": ("cpu_runyard", "cpu_target"),
    "CPU / driving": ("cpu_runyard", "cpu_driving"),
}


def ratio(runs: list[dict[str, float]], name: str) -> str:
    """The median of each run's ratio ``name``, its range, and the runs where it is at most 1."""
    numerator, denominator = RATIOS[name]
    values = sorted(run[numerator] / run[denominator] for run in runs)
    met = sum(value <= 1 for value in values)
    return f"{statistics.median(values):.2f} ({values[0]:.2f}-{values[-1]:.2f}; {met}/{len(values)})"


def run(trials: int = 40, json_file: Path | None = None, runs: int = 1) -> None:
    """Measure ``runs`` times, Random and Bayes interleaved in each, on one server; print each run's line,
    then the medians and the verdicts (the figures also written to ``json_file``)."""
    print(f"AutoML tuner overhead, {trials} sequential trials, {runs} run(s); {load_line()}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    figures: dict[str, list[dict[str, float]]] = {algorithm: [] for algorithm in SAMPLERS}
    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as scratch:
        folder = Path(scratch)
        add_user(folder, USER, PASSWORD)
        port = free_port()
        with (
            server_process(folder, port, "--nodes", "2") as server,
            Client(f"http://127.0.0.1:{port}") as client,
        ):
            client.login(USER, PASSWORD)
            client.create_bucket("objectives")
            client.push_object("objectives", "Sphere", SPHERE, kind="Workflow/standard")
            one_job(client, 3)  # warm-up: the node agents' first forks
            for number in range(1, runs + 1):
                for algorithm in SAMPLERS:
                    got = measure(client, server.pid, algorithm, trials)
                    figures[algorithm].append(got)
                    print(
                        f"  run {number} {algorithm}: wall {ms(got['runyard'])} / target {ms(got['target'])};"
                        f" CPU {ms(got['cpu_runyard'])} / target {ms(got['cpu_target'])} ms per trial;"
                        f" {load_line()}",
                        flush=True,
                    )
    rows = []
    for algorithm, measured in figures.items():

        def median(name: str, measured: list[dict[str, float]] = measured) -> str:
            return ms(statistics.median(run[name] for run in measured))

        rows.append(
            [
                algorithm,
                *(median(name) for name in ("optuna_alone", "one_job", "target", "driving", "runyard")),
                *(
                    median(f"cpu_{name}")
                    for name in ("optuna_alone", "one_job", "target", "driving", "runyard")
                ),
                *(ratio(measured, name) for name in RATIOS),
                median("tuner_start"),
            ]
        )
    print_table(
        [
            "sampler",
            "optuna alone",
            "one job",
            "target",
            "optuna driving jobs",
            "runyard",
            "CPU: optuna alone",
            "one job",
            "target",
            "optuna driving jobs",
            "runyard",
            *RATIOS,
            "tuner start",
        ],
        rows,
    )
    print(
        "  ms per trial (one job: per job), medians over the runs; target = optuna alone + one job;\n"
        "  optuna driving jobs = optuna's study.optimize whose objective runs the job; CPU: of the server's\n"
        "  process tree (server, nodes, tasks: the tuner's too) and, for one job and optuna driving jobs,\n"
        "  of the submitting client; ratios: the median of each run's, its range, and the runs where it\n"
        "  is <= 1; tuner start (wall): from its job's submission to its first sample's"
    )
    for name in RATIOS:
        numerator, denominator = RATIOS[name]
        met = all(
            statistics.median(run[numerator] / run[denominator] for run in measured) <= 1
            for measured in figures.values()
        )
        print(f"  verdict, {name} (median over the runs, both samplers): {verdict(met)}")
    if json_file is not None:
        json_file.write_text(json.dumps({"load": os.getloadavg(), "samplers": figures}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5, help="runs, each sampler in each (default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures there")
    options = parser.parse_args()
    run(options.trials, options.json, options.runs)


if __name__ == "__main__":
    main()

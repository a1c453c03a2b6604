"""App Engine benchmark: a run of Cytomine's identity task against ``docker run`` of the same image by hand.

Prints figures and asserts nothing. A Docker daemon (``tests/support/docker.py``: the tests' own) and a
real ``python -m runyard server`` (its own process, SQLite, ``--nodes 2``, local run mode) are started in a
scratch folder; the corpus bundle ``com.cytomine.dummy.identity.string-1.0.0.zip`` is uploaded once.

- **one run**: *runyard*: a run created and provisioned beforehand, then the clock runs from
  ``POST …/state-actions {"desired": "RUNNING"}`` to the moment the server recorded the run ``FINISHED``
  (its ``updatedAt``, read once the run shows FINISHED, polled every 50 ms: a client polling every 5 ms
  took half a core of the server's CPU while the engine started the container, on 2 cores, and made
  the start 30 to 70 ms slower);
  *by hand*: ``docker run --rm --pull never --network none -v IN:/inputs -v OUT:/outputs IMAGE`` of the
  same image on the same input file, until the output file is there. Alternately, ``--rounds`` times
  (default 5); medians and their ratio (target <= 1.3x);
- **many runs**: ``--runs`` runs (default 100) created and provisioned, then all started at once on the 2
  nodes: throughput (runs per second from the first start to the last end, ends read from each run's
  ``updatedAt``) and the p50/p95 of start -> FINISHED; beside it, the same number of ``docker run`` by
  hand, two at a time (two threads: as many as the nodes).

Usage::

    .venv/bin/python bench/app_engine.py [--rounds 5] [--runs 100]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from report import load_line, ms, print_table, verdict
from runyard.client import Client
from support.docker import docker_daemon
from support.server_process import free_port, server_process

USER, PASSWORD = "bench", "a long enough password"
BUNDLE = (
    Path(__file__).resolve().parents[2]
    / "shared/corpus/app-engine/bundles/com.cytomine.dummy.identity.string-1.0.0.zip"
)
NAMESPACE, VERSION = "com.cytomine.dummy.identity.string", "1.0.0"
IMAGE = "com/cytomine/dummy/identity/string:1.0.0"
VALUE = "my_value"
POLL = 0.05


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def platform(folder: Path) -> Iterator[Client]:
    """A logged-in client of a fresh server process with 2 local nodes."""
    subprocess.run(
        [sys.executable, "-m", "runyard", "user", "add", USER, "--data-dir", str(folder), "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    port = free_port()
    with server_process(folder, port, "--nodes", "2"), Client(f"http://127.0.0.1:{port}") as client:
        client.login(USER, PASSWORD)
        yield client


def provisioned_run(client: Client) -> str:
    run = client.create_app_run(NAMESPACE, VERSION)
    client.provision_app_run(run["id"], "input", VALUE)
    return str(run["id"])


def runyard_round(client: Client) -> float:
    run_id = provisioned_run(client)
    started = time.time()  # the server's clock: the same machine's
    client.start_app_run(run_id)
    while (run := client.get_app_run(run_id))["state"] not in ("FINISHED", "FAILED"):
        time.sleep(POLL)
    if run["state"] != "FINISHED":
        raise RuntimeError(f"run {run_id} {run['state']}: {client.app_run_logs(run_id)}")
    return datetime.fromisoformat(run["updatedAt"]).timestamp() - started


def by_hand_round(scratch: Path) -> float:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    inputs, outputs = folder / "inputs", folder / "outputs"
    inputs.mkdir()
    outputs.mkdir()
    (inputs / "input").write_text(VALUE)
    started = time.perf_counter()
    mounts = ["-v", f"{inputs}:/inputs", "-v", f"{outputs}:/outputs"]
    command = ["docker", "run", "--rm", "--pull", "never", "--network", "none", *mounts, IMAGE]
    subprocess.run(command, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    if (outputs / "output").read_text() != VALUE:
        raise RuntimeError("the container did not give its input back")
    return elapsed


def measure_one_run(client: Client, scratch: Path, rounds: int) -> None:
    runyard_round(client)  # warm: the image's first container, the nodes' first task
    by_hand_round(scratch)
    ours, theirs = [], []
    for number in range(rounds):
        ours.append(runyard_round(client))
        theirs.append(by_hand_round(scratch))
        log(f"  … round {number + 1}/{rounds}: runyard {ms(ours[-1])} ms, docker run {ms(theirs[-1])} ms")
    mine, peer = statistics.median(ours), statistics.median(theirs)
    print(f"\nOne run of the identity task ({rounds} rounds; ms)")
    print_table(
        ["system", "min", "median", "max"],
        [
            ["runyard: RUNNING action -> FINISHED", ms(min(ours)), ms(mine), ms(max(ours))],
            ["docker run by hand", ms(min(theirs)), ms(peer), ms(max(theirs))],
        ],
    )
    print(f"  runyard/docker run = {mine / peer:.2f}x   target <= 1.3x: {verdict(mine / peer <= 1.3)}")


def measure_many_runs(client: Client, scratch: Path, count: int) -> None:
    log(f"  … provisioning {count} runs")
    runs = [provisioned_run(client) for _ in range(count)]
    starts: dict[str, float] = {}
    first = time.time()
    for run_id in runs:
        starts[run_id] = time.time()
        client.start_app_run(run_id)
    ends: dict[str, float] = {}
    while len(ends) < count:
        for run_id in [r for r in runs if r not in ends]:
            run = client.get_app_run(run_id)
            if run["state"] == "FAILED":
                raise RuntimeError(f"run {run_id} FAILED: {client.app_run_logs(run_id)}")
            if run["state"] == "FINISHED":
                ends[run_id] = datetime.fromisoformat(run["updatedAt"]).timestamp()
        time.sleep(0.2)
    wall = max(ends.values()) - first
    latencies = sorted(ends[r] - starts[r] for r in runs)
    log(f"  … {count} docker run by hand, two at a time")
    by_hand_started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        by_hand = sorted(pool.map(lambda _: by_hand_round(scratch), range(count)))
    by_hand_wall = time.perf_counter() - by_hand_started
    print(f"\n{count} runs started at once on 2 nodes (s)")
    print_table(
        ["system", "wall", "runs/s", "p50", "p95"],
        [
            [
                "runyard",
                f"{wall:.1f}",
                f"{count / wall:.2f}",
                f"{statistics.median(latencies):.2f}",
                f"{percentile(latencies, 95):.2f}",
            ],
            [
                "docker run by hand, 2 at a time",
                f"{by_hand_wall:.1f}",
                f"{count / by_hand_wall:.2f}",
                f"{statistics.median(by_hand):.2f}",
                f"{percentile(by_hand, 95):.2f}",
            ],
        ],
    )
    print(f"  throughput runyard/by hand = {(count / wall) / (count / by_hand_wall):.2f}x")
    print("  (runyard's p50/p95 include the queue: every run is started at once, two run at a time)")


def percentile(values: list[float], rank: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[rank - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=100)
    options = parser.parse_args()
    print(f"runyard App Engine benchmark, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"at start: {load_line()} (the machine is shared: read the figures with it)")
    with (
        tempfile.TemporaryDirectory(prefix="runyard-bench-") as scratch,
        docker_daemon([]),
        platform(Path(scratch) / "data") as client,
    ):
        task = client.upload_app_task(BUNDLE)
        log(f"  … uploaded {task['namespace']} {task['version']}")
        measure_one_run(client, Path(scratch), options.rounds)
        measure_many_runs(client, Path(scratch), options.runs)
    print(f"\nat end: {load_line()}")


if __name__ == "__main__":
    main()

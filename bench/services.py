"""Service benchmark: the process-engine PostgreSQL service against the same PostgreSQL started by hand,
and the platform's memory with many example-service instances running.

Prints figures and asserts nothing. A real ``python -m runyard server`` (its own process, SQLite, enough
local nodes for every instance to reserve one) is started in a scratch folder and measured over
127.0.0.1:

- **start**: *service*: ``POST /service-instances`` (PostgreSQL, process engine) -> a psycopg client
  connected to its endpoint ran ``select 1``; *by hand*: ``initdb`` + ``pg_ctl start -w`` of the same
  binaries with the same options -> the same query. Both in the same run, alternately, ``--rounds`` times
  (default 3); medians and their ratio (target <= 1.3x);
- **finish**: *service*: the ``Finish_PostgreSQL`` action -> the instance FINISHED and its port closed;
  *by hand*: ``pg_ctl stop -m fast -w`` -> the port closed;
- **memory**: ``--instances`` (default 20) instances of the Static_HTTP example running at once: resident
  memory (RSS, PSS where the kernel gives it) of the server and its node agents (the platform), and of
  the services' own processes (supervisors and web servers), before and with the instances.

Usage::

    .venv/bin/python bench/services.py [--rounds 3] [--instances 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from report import load_line, print_table
from runyard.client import Client
from runyard.services.commands import as_user
from support.server_process import free_port, server_process

USER, PASSWORD = "bench", "a long enough password"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
FAST_CHECKS = {"HEALTH_CHECK_CRON": "* * * * * */5"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def wait_closed(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {port} still open")
        time.sleep(0.01)


def query(port: int, user: str, password: str) -> None:
    with psycopg.connect(host="127.0.0.1", port=port, user=user, password=password, dbname="postgres") as db:
        db.execute("select 1").fetchone()


@contextmanager
def platform(folder: Path, nodes: int) -> Iterator[tuple[Client, int]]:
    """A logged-in client of a fresh server process, and that process's id."""
    subprocess.run(
        [sys.executable, "-m", "runyard", "user", "add", USER, "--data-dir", str(folder), "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    port = free_port()
    with (
        server_process(folder, port, "--nodes", str(nodes)) as process,
        Client(f"http://127.0.0.1:{port}") as client,
    ):
        client.login(USER, PASSWORD)
        yield client, process.pid


@dataclass
class Round:
    """Wall times of a start and a finish (s), and the CPU they cost (s): the platform's (server, node
    agents and the task processes they reaped) for the service, the tools' (initdb, pg_ctl) by hand."""

    start: float
    finish: float
    start_cpu: float
    finish_cpu: float
    finish_steps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Service only: action asked -> its job stored -> its task started -> FINISHED and port closed."""


def cpu_of(processes: list[psutil.Process]) -> float:
    """CPU seconds of ``processes`` and of the children they reaped."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def service_round(client: Client, server: int) -> Round:
    processes = family(server)
    cpu, began = cpu_of(processes), time.perf_counter()
    started = client.start_service("PostgreSQL", {"PASSWORD": "secret", **FAST_CHECKS})
    while True:
        instance = client.get_service_instance(started["id"])
        if instance["status"] == "RUNNING":
            port = int(instance["variables"]["PORT"])
            try:
                query(port, instance["variables"].get("USER") or "postgres", "secret")
                break
            except psycopg.OperationalError:
                pass
        elif instance["transition"] is None:
            raise RuntimeError(f"the service did not start: {instance}")
        time.sleep(0.01)
    start, start_cpu = time.perf_counter() - began, cpu_of(processes) - cpu
    processes = family(server)
    cpu, began, asked = cpu_of(processes), time.perf_counter(), time.time()
    job_id = client.run_service_action(started["id"], "Finish_PostgreSQL")["job_submissions"][-1]["job_id"]
    while client.get_service_instance(started["id"])["status"] != "FINISHED":
        time.sleep(0.01)
    wait_closed(port)
    finish, finish_cpu = time.perf_counter() - began, cpu_of(processes) - cpu
    job = client.get_job(job_id)
    stored, task_started = (
        job["submitted_at"] - asked,
        (job["tasks"][0]["started_at"] or 0) - job["submitted_at"],
    )
    client.clean_service_instance(started["id"])
    return Round(start, finish, start_cpu, finish_cpu, (stored, task_started, finish - stored - task_started))


def by_hand_round(scratch: Path) -> Round:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    cpu, began = children_cpu(), time.perf_counter()
    (folder / "pw").write_text("secret")
    shutil.chown(folder / "pw", "postgres", "postgres")
    run = lambda argv: subprocess.run(as_user("postgres", argv, folder), check=True, capture_output=True)  # noqa: E731
    run(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--pwfile",
            str(folder / "pw"),
            "-A",
            "scram-sha-256",
        ]
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"])
    query(port, "postgres", "secret")
    start, start_cpu = time.perf_counter() - began, children_cpu() - cpu
    cpu, began = children_cpu(), time.perf_counter()
    run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    wait_closed(port)
    return Round(start, time.perf_counter() - began, start_cpu, children_cpu() - cpu)


def task_imports() -> list[list[str]]:
    """What a service action's task process imports beyond what its node agent holds (``-X importtime``,
    cumulative ms; the agent imports ``agent._PRELOAD`` before it forks): the helpers
    (``runyard.services.launch``, with ``psa``) without and with that preload, and the SDK they used to
    load."""
    from runyard.nodes.agent import _PRELOAD

    preloaded = "".join(f"; import {module}" for module in _PRELOAD)
    rows = []
    for label, held, module in (
        ("helpers (launch + psa), not preloaded", "", "runyard.services.launch"),
        ("helpers (launch + psa), as the agent holds them", preloaded, "runyard.services.launch"),
        ("the SDK", preloaded, "runyard.client"),
    ):
        code = f"import runyard.nodes.agent{held}; import sys; print('--', file=sys.stderr); import {module}"
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
        )
        task = done.stderr.split("\n--\n", 1)[1].splitlines()  # what the task itself imports
        lines = [line for line in task if line.endswith(f"| {module}")]
        rows.append([label, f"{int(lines[-1].split('|')[1]) / 1000 if lines else 0:.0f}"])
    return rows


def rss(processes: list[psutil.Process]) -> tuple[float, float]:
    """(RSS, PSS) in MiB, summed; PSS shares pages between the processes that map them."""
    total_rss = total_pss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue
        total_rss += info.rss
        total_pss += getattr(info, "pss", info.rss)
    return total_rss / 2**20, total_pss / 2**20


def family(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def services_of(folder: Path) -> list[psutil.Process]:
    """Supervisors and services the process engine started under the data folder (their own sessions),
    found through the state files of their run folders."""
    found = []
    for state in folder.glob("services/**/run/state.json"):  # services/<owner>/<id>-<name>/run
        record = json.loads(state.read_text())
        for pid in (record["supervisor_pid"], record["pid"]):
            try:
                process = psutil.Process(pid)
            except psutil.NoSuchProcess:
                continue
            found += [process, *process.children(recursive=True)]
    return list({p.pid: p for p in found}.values())


def measure_start_finish(rounds: int, scratch: Path) -> None:
    service: list[Round] = []
    by_hand: list[Round] = []
    with platform(scratch / "platform", nodes=3) as (client, server):
        for number in range(1, rounds + 1):
            log(f"round {number}/{rounds}")
            service.append(service_round(client, server))
            by_hand.append(by_hand_round(scratch))
    rows = []
    for label, wall, cpu in (
        ("start -> SQL answers", "start", "start_cpu"),
        ("finish -> port closed", "finish", "finish_cpu"),
    ):
        ours = statistics.median(getattr(r, wall) for r in service)
        theirs = statistics.median(getattr(r, wall) for r in by_hand)
        ours_cpu = statistics.median(getattr(r, cpu) for r in service)
        theirs_cpu = statistics.median(getattr(r, cpu) for r in by_hand)
        rows.append(
            [
                label,
                f"{ours:.2f}",
                f"{theirs:.2f}",
                f"{ours / theirs:.2f}x",
                f"{ours_cpu:.2f}",
                f"{theirs_cpu:.2f}",
            ]
        )
    print(f"\nPostgreSQL, process engine, median of {rounds} rounds (s)")
    print_table(["", "service", "by hand", "ratio", "CPU platform", "CPU by hand"], rows)
    print("  targets: start and finish ratios <= 1.3x")
    steps = [statistics.median(r.finish_steps[i] for r in service) for i in range(3)]
    print(
        "  finish of the service: action asked -> job stored {:.3f} s -> task started {:.3f} s -> FINISHED "
        "and port closed {:.3f} s".format(*steps)
    )
    for wall in ("start", "finish"):
        pairs = [
            f"{getattr(o, wall):.3f}/{getattr(t, wall):.3f}" for o, t in zip(service, by_hand, strict=True)
        ]
        print(f"  {wall} per round, service/by hand (s): {', '.join(pairs)}")
    print("\nimports of a service action's task process beyond its node agent's (ms)")
    print_table(["", "ms"], task_imports())


def measure_memory(instances: int, scratch: Path) -> None:
    folder = scratch / "memory"
    with platform(folder, nodes=instances + 2) as (client, pid):
        idle = rss(family(pid))
        log(f"starting {instances} Static_HTTP instances")
        ids = [client.start_service("Static_HTTP", FAST_CHECKS)["id"] for _ in range(instances)]
        for identifier in ids:
            status = client.wait_for_service_instance(identifier, timeout=300)["status"]
            if status != "RUNNING":
                raise RuntimeError(f"instance {identifier} is {status}")
        time.sleep(10)  # a few health checks have run
        busy = rss(family(pid))
        services = rss(services_of(folder))
        for identifier in ids:
            client.kill_service_instance(identifier)
    print(f"\nmemory with {instances} Static_HTTP instances RUNNING (MiB)")
    print_table(
        ["", "RSS", "PSS"],
        [
            ["platform idle (server + node agents)", f"{idle[0]:.0f}", f"{idle[1]:.0f}"],
            [f"platform with {instances} instances", f"{busy[0]:.0f}", f"{busy[1]:.0f}"],
            [f"the {instances} services (supervisors + servers)", f"{services[0]:.0f}", f"{services[1]:.0f}"],
        ],
    )
    platform_share, service_share = (busy[1] - idle[1]) / instances, services[1] / instances
    print(f"  per instance: platform +{platform_share:.1f} MiB PSS, service {service_share:.1f} MiB PSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instances", type=int, default=20)
    args = parser.parse_args()
    print(load_line())
    with tempfile.TemporaryDirectory(prefix="runyard-bench-services-") as scratch:
        os.chmod(scratch, 0o755)
        measure_start_finish(args.rounds, Path(scratch))
        if args.instances:
            measure_memory(args.instances, Path(scratch))
    print(load_line())


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()

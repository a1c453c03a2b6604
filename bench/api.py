"""Server benchmark: REST submission throughput, job-list latency on a large store, event delivery.

Prints figures and asserts nothing. Each store (SQLite, and PostgreSQL unless ``--no-postgres``) gets
a fresh data folder, is filled with ``--store-jobs`` ended jobs (default 100,000) written directly in
its tables, then a real ``python -m runyard server`` (its own process, 2 local nodes) is started on
it and measured from this process over 127.0.0.1:

- **list** (first, on the idle server): latency of ``GET /api/v1/jobs`` as one client sees it
  (p50/p95/p99 over ``--list-samples`` requests each, after 5 unmeasured ones): first page, a deep
  page, filters by status, name pattern, owner and time range as admin, a non-admin user's own
  jobs; and two floors, ``/health`` (no token, no store) and ``/me`` (the token looked up);
- **submission**: batches of ``--jobs`` (default 1,000) one-task jobs (a ``cpython`` task running
  ``pass``) POSTed to ``/api/v1/jobs`` as JSON: sequentially, and ``--concurrency`` (default 16)
  in flight; with raw httpx, and with the SDK (``runyard.client``) when it is importable; then the
  two httpx ways again with both nodes locked, so that the jobs wait and only the API and the store
  work. *sub/s*: jobs / (first POST sent -> last 201 received), the jobs are not waited for; *last
  10%*: the same over the last tenth of the batch; *server CPU*, *client CPU*: CPU of the server
  process (API and scheduler, not the nodes) and of this process over that window, per job; *busy*:
  the share of the machine's CPU time in use then, by anyone; *all done*: first POST sent -> the
  last job's ``finished_at``. A batch has ended before the next starts;
- **events**: one client follows ``/api/v1/events`` (server-sent events, its own thread and event
  loop), then ``--event-jobs`` (default 100) one-task jobs are submitted one at a time, each once
  the previous one's final event has arrived. Time to that event's arrival from: the POST's 201;
  the end of the task on its node (its execution's ``finished_at``, written by the task process);
  the job's ``finished_at`` (the scheduler's clock in the turn that ended the job, before that
  turn's commit, so this is the commit, the fan-out and the stream). The last one is also given for
  every job of the submission batches, under load (this process is busy submitting then: its own
  delays count). All clocks are this machine's wall clock.

Usage::

    .venv/bin/python bench/api.py                              # SQLite and a throwaway PostgreSQL
    .venv/bin/python bench/api.py --jobs 100 --store-jobs 10000 --list-samples 50 --event-jobs 20
    .venv/bin/python bench/api.py --database-url postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
    .venv/bin/python bench/api.py --no-postgres

Without ``--database-url`` a PostgreSQL cluster is started with ``scripts/postgres start`` (as with
``--postgres``) and stopped at the end; on a given server each run creates a scratch database, dropped
afterwards. Progress goes to standard error, figures to standard output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import sqlalchemy as sa

from report import load_line, ms, print_table, verdict
from runyard import formats
from runyard.auth import add_user
from runyard.formats.mapping import to_mapping
from runyard.model import JobStatus, Script, ScriptExecutable, Task, TaskStatus, Workflow
from runyard.scheduler.submission import prepare_job
from runyard.store.database import connect
from runyard.store.jobs import insert_jobs
from runyard.store.schema import executions, jobs, tasks

try:
    from runyard.client import AsyncClient, Client
except ImportError:  # the SDK is optional here: raw httpx is measured either way
    AsyncClient = Client = None  # type: ignore[assignment,misc]

REPO = Path(__file__).resolve().parent.parent
API = "/api/v1"
PASSWORD = "bench password 1"
ADMIN, USERS = "bench-admin", ("alice", "bob", "carol")
OWNER_WEIGHTS = {"alice": 50, "bob": 30, "carol": 15, ADMIN: 5}
NON_ADMIN = "carol"
ALIVE = [s.value for s in JobStatus if s.is_alive]
WARM_UP = 5
DAY = 86_400.0
TIMES = "×"  # noqa: RUF001 (the multiplication sign is meant)

# The targets.
TARGET_SUBMISSIONS = 200.0  # per second
TARGET_LIST_P95 = 0.100  # seconds


# -- the store, filled directly --------------------------------------------------------------------


def one_task_workflow(name: str = "Bench", task_count: int = 1) -> Workflow:
    script = ScriptExecutable(Script("cpython", code="pass"))
    return Workflow(
        name=name, tasks=[Task(name=f"T{i}", executable=script) for i in range(1, task_count + 1)]
    )


def template_rows(connection: sa.Connection, task_count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The rows ``insert_jobs`` writes for a job of ``task_count`` tasks, read back then rolled back."""
    job = prepare_job(one_task_workflow(task_count=task_count), owner=ADMIN, now=time.time())
    with connection.begin() as transaction:
        insert_jobs(connection, [(job, to_mapping(job.workflow))])
        job_id = job.id
        job_row = dict(connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().one())
        task_rows = connection.execute(
            sa.select(tasks).where(tasks.c.job_id == job_id).order_by(tasks.c.number)
        ).mappings()
        task_list = [dict(row) for row in task_rows]
        transaction.rollback()
    return job_row, task_list


#: (job status, weight, status of the job's last task); the other tasks are FINISHED.
ENDINGS = [
    (JobStatus.FINISHED, 90, TaskStatus.FINISHED),
    (JobStatus.FAILED, 5, TaskStatus.FAULTY),
    (JobStatus.KILLED, 3, TaskStatus.ABORTED),
    (JobStatus.CANCELED, 2, TaskStatus.NOT_STARTED),
]
NAMES = [("Job-{i}", 40), ("Nightly-ETL", 30), ("Train-{model}", 20), ("Report-weekly", 10)]
PROJECTS = [None, "analytics", "ml", "ops"]


def fill_store(url: str, count: int, chunk: int = 10_000) -> None:
    """Users, then ``count`` ended jobs of 1 to 3 tasks over the last 90 days, newest with the highest id.

    Owners, names, statuses and projects are drawn with fixed weights from a seeded generator.
    """
    engine = connect(url)
    try:
        with engine.begin() as connection:
            add_user(connection, ADMIN, PASSWORD, admin=True)
            for name in USERS:
                add_user(connection, name, PASSWORD)
        with engine.connect() as connection:
            templates = {n: template_rows(connection, n) for n in (1, 2, 3)}
        rng = random.Random(42)
        start = time.time() - 90 * DAY
        step = 90 * DAY / max(count, 1)
        for first in range(1, count + 1, chunk):
            job_rows, task_rows = [], []
            for i in range(first, min(first + chunk, count + 1)):
                job_row, job_tasks = _job_rows(rng, templates[1 + i % 3], i, start + i * step)
                job_rows.append(job_row)
                task_rows.extend(job_tasks)
            with engine.begin() as connection:
                connection.execute(sa.insert(jobs), job_rows)
                connection.execute(sa.insert(tasks), task_rows)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:  # ids were given: move the sequence past them
                connection.execute(
                    sa.text("SELECT setval(pg_get_serial_sequence('jobs', 'id'), (SELECT max(id) FROM jobs))")
                )
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE"))  # what autovacuum does soon after such a load
    finally:
        engine.dispose()


def _job_rows(
    rng: random.Random, template: tuple[dict[str, Any], list[dict[str, Any]]], job_id: int, submitted: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    job_template, task_templates = template
    status, _, last = rng.choices(ENDINGS, weights=[e[1] for e in ENDINGS])[0]
    pattern = rng.choices([n[0] for n in NAMES], weights=[n[1] for n in NAMES])[0]
    started, duration = submitted + rng.uniform(0.01, 2.0), rng.uniform(0.05, 600.0)
    job_row = {
        **job_template,
        "id": job_id,
        "name": pattern.format(i=job_id, model=rng.choice(["resnet", "bert", "xgb"])),
        "owner": rng.choices(list(OWNER_WEIGHTS), weights=list(OWNER_WEIGHTS.values()))[0],
        "project_name": rng.choice(PROJECTS),
        "status": status.value,
        "submitted_at": submitted,
        "started_at": started if last is not TaskStatus.NOT_STARTED else None,
        "finished_at": started + duration,
    }
    task_rows = []
    for position, task_template in enumerate(task_templates):
        task_status = last if position == len(task_templates) - 1 else TaskStatus.FINISHED
        ran = task_status is not TaskStatus.NOT_STARTED
        task_rows.append({
            **task_template,
            "job_id": job_id,
            "status": task_status.value,
            "executions": int(ran),
            "node": "local-1" if ran else None,
            "started_at": started if ran else None,
            "finished_at": started + duration if ran else None,
        })  # fmt: skip
    return job_row, task_rows


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``server_url``, dropped (connections and all) after."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    database = f"runyard_api_bench_{os.getpid()}_{time.monotonic_ns()}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
        try:
            yield sa.make_url(server_url).set(database=database).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def throwaway_cluster(directory: Path) -> Iterator[str]:
    """``scripts/postgres start --dir DIR``: its URL; stopped (and DIR deleted) on exit."""
    script = str(REPO / "scripts" / "postgres")
    started = subprocess.run([script, "start", "--dir", str(directory)], capture_output=True, text=True)
    if started.returncode != 0:
        raise RuntimeError(f"scripts/postgres start failed (use --no-postgres?): {started.stderr.strip()}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop", "--dir", str(directory)], capture_output=True, check=False)


# -- the server, in its own process ------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def api(self) -> str:
        return self.url + API

    def cpu(self) -> float:
        """User + system seconds of the server process itself (API, scheduler; not the nodes)."""
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(data_dir: Path, database_url: str | None) -> Iterator[Server]:
    """``python -m runyard server`` on a free loopback port; ready once ``/health`` answers."""
    port = free_port()
    command = [sys.executable, "-m", "runyard", "server", "--port", str(port), "--data-dir", str(data_dir)]
    if database_url is not None:
        command += ["--database-url", database_url]
    log = data_dir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=data_dir)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()[-3000:]}")
            with suppress(httpx.TransportError):
                if httpx.get(f"{server.api}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def login(server: Server, user: str) -> dict[str, str]:
    answer = httpx.post(f"{server.api}/sessions", json={"username": user, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


# -- the event stream ----------------------------------------------------------------------------------


class EventWatcher:
    """Follows ``/api/v1/events`` in a thread of its own (own event loop); notes when each job's
    final event arrives (wall clock), so that callers can wait for jobs and time their delivery."""

    def __init__(self, server: Server, headers: dict[str, str]) -> None:
        self._server, self._headers = server, headers
        self.received: dict[int, float] = {}
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="event-watcher", daemon=True)

    def __enter__(self) -> EventWatcher:
        self._thread.start()
        if not self._subscribed.wait(30):
            raise RuntimeError(f"no ': subscribed' from the event stream: {self._failure!r}")
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None and self._thread.is_alive():
            with suppress(RuntimeError):  # the loop closed meanwhile: the thread is ending anyway
                self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)

    def _run(self) -> None:
        async def main() -> None:
            self._task = asyncio.current_task()
            with suppress(asyncio.CancelledError):
                await self._follow()

        try:
            self._loop.run_until_complete(main())
        except BaseException as error:  # reported to the waiting thread
            self._failure = error
        finally:
            with self._changed:
                self._changed.notify_all()
            self._loop.close()

    async def _follow(self) -> None:
        timeout = httpx.Timeout(30, read=None)
        async with (
            httpx.AsyncClient(timeout=timeout, headers=self._headers) as http,
            http.stream("GET", f"{self._server.api}/events") as response,
        ):
            response.raise_for_status()
            async for line in response.aiter_lines():
                now = time.time()
                if line.startswith(": subscribed"):
                    self._subscribed.set()
                elif line.startswith("data:"):
                    event = json.loads(line.removeprefix("data:"))
                    if event["kind"] == "job" and event["status"] not in ALIVE:
                        with self._changed:
                            self.received[event["job_id"]] = now
                            self._changed.notify_all()
        raise RuntimeError("the server ended the event stream (a subscriber too slow is dropped)")

    def wait_for(self, job_ids: Sequence[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(j in self.received for j in job_ids):
                if self._failure is not None:
                    raise RuntimeError("the event stream failed") from self._failure
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sum(j not in self.received for j in job_ids)
                    raise TimeoutError(f"{missing} of {len(job_ids)} jobs had not ended after {timeout} s")
                self._changed.wait(left)


# -- submission -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """One batch of submissions, measured from just before the first POST (wall clock ``began``)."""

    began: float
    answered: list[float]  # seconds from the start to each 201, in order
    job_ids: list[int]
    server_cpu: float  # seconds of CPU of the server process over the submission window
    client_cpu: float  # seconds of CPU of this process over the same window
    machine_busy: float  # share of the machine's CPU time not idle over the window (anyone's)
    all_done: float  # first POST -> the last job's finished_at
    delivery: list[float]  # job finished_at -> its final event received
    not_finished: int

    @property
    def seconds(self) -> float:
        return self.answered[-1]

    @property
    def rate(self) -> float:
        return len(self.job_ids) / self.seconds

    @property
    def tail_rate(self) -> float:
        """Submissions per second over the last tenth of the batch (a growing backlog slows it?)."""
        tenth = max(1, len(self.answered) // 10)
        return tenth / (self.answered[-1] - self.answered[-tenth - 1])


def submission_body(text: str) -> dict[str, Any]:
    return {"workflow": text, "variables": {}}


def job_id_of(answer: httpx.Response) -> int:
    if answer.status_code != 201:
        raise RuntimeError(f"submission answered {answer.status_code}: {answer.text[:500]}")
    return int(answer.json()["id"])


Submitted = list[tuple[int, float]]  # (job id, perf_counter() when its 201 arrived)
Submitter = Callable[[Server, dict[str, str], str, int, int], Submitted]


def submit_httpx(server: Server, headers: dict[str, str], text: str, count: int, _: int) -> Submitted:
    with httpx.Client(base_url=server.api, headers=headers, timeout=60) as http:
        return [
            (job_id_of(http.post("/jobs", json=submission_body(text))), time.perf_counter())
            for _ in range(count)
        ]


def submit_sdk(server: Server, headers: dict[str, str], text: str, count: int, _: int) -> Submitted:
    token = headers["Authorization"].removeprefix("Bearer ")
    with Client(server.url, token, timeout=60) as client:
        return [(client.submit(text), time.perf_counter()) for _ in range(count)]


async def in_flight(count: int, concurrency: int, submit_one: Callable[[], Awaitable[int]]) -> Submitted:
    """``count`` submissions by ``concurrency`` coroutines, each taking the next one when answered."""
    remaining = iter(range(count))
    done: Submitted = []

    async def worker() -> None:
        for _ in remaining:
            job_id = await submit_one()
            done.append((job_id, time.perf_counter()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def submit_httpx_async(
    server: Server, headers: dict[str, str], text: str, count: int, concurrency: int
) -> Submitted:
    async def run() -> Submitted:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=server.api, headers=headers, timeout=60, limits=limits) as http:

            async def one() -> int:
                return job_id_of(await http.post("/jobs", json=submission_body(text)))

            return await in_flight(count, concurrency, one)

    return asyncio.run(run())


def submit_sdk_async(
    server: Server, headers: dict[str, str], text: str, count: int, concurrency: int
) -> Submitted:
    token = headers["Authorization"].removeprefix("Bearer ")

    async def run() -> Submitted:
        async with AsyncClient(server.url, token, timeout=60) as client:

            async def one() -> int:
                return await client.submit(text)

            return await in_flight(count, concurrency, one)

    return asyncio.run(run())


@dataclass(frozen=True)
class Way:
    submit: Submitter
    locked: bool = False
    """Nodes locked during the submissions (the jobs wait): the API and store alone, no execution."""


def ways(concurrency: int) -> dict[str, Way]:
    found = {"sequential, httpx.Client": Way(submit_httpx)}
    if Client is not None:
        found["sequential, SDK Client"] = Way(submit_sdk)
    found[f"{concurrency} in flight, httpx.AsyncClient"] = Way(submit_httpx_async)
    if AsyncClient is not None:
        found[f"{concurrency} in flight, SDK AsyncClient"] = Way(submit_sdk_async)
    found["sequential, httpx.Client, nodes locked"] = Way(submit_httpx, locked=True)
    found[f"{concurrency} in flight, httpx.AsyncClient, nodes locked"] = Way(submit_httpx_async, locked=True)
    return found


def lock_nodes(http: httpx.Client, lock: bool) -> None:
    for node in http.get("/nodes").raise_for_status().json():
        http.post(f"/nodes/{node['name']}/{'lock' if lock else 'unlock'}").raise_for_status()


def run_batch(
    server: Server,
    store: sa.Engine,
    watcher: EventWatcher,
    headers: dict[str, str],
    way: Way,
    count: int,
    concurrency: int,
) -> Batch:
    """Submit ``count`` jobs, then wait until they have all ended (so that batches do not overlap)."""
    text = formats.dump_yaml(one_task_workflow("Bench-submit"))
    with httpx.Client(base_url=server.api, headers=headers, timeout=60) as http:
        if way.locked:
            lock_nodes(http, lock=True)
        cpu, client_cpu, machine = server.cpu(), time.process_time(), psutil.cpu_times()
        began, clock = time.time(), time.perf_counter()
        submitted = way.submit(server, headers, text, count, concurrency)
        server_cpu, client_cpu = server.cpu() - cpu, time.process_time() - client_cpu
        machine_busy = busy_share(machine, psutil.cpu_times())
        if way.locked:
            lock_nodes(http, lock=False)
    job_ids = [job_id for job_id, _ in submitted]
    watcher.wait_for(job_ids, timeout=max(600.0, count * 0.5))
    ended = stored_ends(store, job_ids)
    return Batch(
        began,
        sorted(answered - clock for _, answered in submitted),
        job_ids,
        server_cpu,
        client_cpu,
        machine_busy,
        all_done=max(finished for finished, _ in ended.values()) - began,
        delivery=[watcher.received[j] - finished for j, (finished, _) in ended.items()],
        not_finished=sum(status != JobStatus.FINISHED for _, status in ended.values()),
    )


def busy_share(before: Any, after: Any) -> float:
    """Share of all CPUs' time between two ``psutil.cpu_times()`` readings that was not idle."""
    total = sum(after) - sum(before)
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    return float(1 - idle / total) if total > 0 else 0.0


def stored_ends(store: sa.Engine, job_ids: Sequence[int]) -> dict[int, tuple[float, str]]:
    """Job id -> (finished_at, status) as the scheduler stored them."""
    wanted = set(job_ids)
    with store.connect() as connection:
        rows = connection.execute(
            sa.select(jobs.c.id, jobs.c.finished_at, jobs.c.status).where(
                jobs.c.id.between(min(wanted), max(wanted))
            )
        )
        return {row.id: (row.finished_at, row.status) for row in rows if row.id in wanted}


# -- listing -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """Latencies of one list query (seconds) and what it answered (``total`` matches, rows on the page)."""

    seconds: list[float]
    total: int | None = None
    rows: int | None = None

    def quantile(self, percent: int) -> float:
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[percent - 1]


def list_queries(store_jobs: int) -> dict[str, tuple[str | None, str, dict[str, Any]]]:
    """Label -> (user, path, query parameters); the first two are floors to compare with."""
    middle = time.time() - 45 * DAY
    window = {"submitted_after": middle - 4.5 * DAY, "submitted_before": middle + 4.5 * DAY}
    return {
        "floor: GET /health (no token, no store)": (None, "/health", {}),
        "floor: GET /me (token looked up)": (ADMIN, "/me", {}),
        "first page (limit 50)": (ADMIN, "/jobs", {}),
        f"deep page (offset {store_jobs // 2:,})": (ADMIN, "/jobs", {"offset": store_jobs // 2}),
        "status=FAILED": (ADMIN, "/jobs", {"status": "FAILED"}),
        "status=FINISHED": (ADMIN, "/jobs", {"status": "FINISHED"}),
        "name=Job-1*": (ADMIN, "/jobs", {"name": "Job-1*"}),
        "owner=bob (admin)": (ADMIN, "/jobs", {"owner": "bob"}),
        "submitted in a 9-day window": (ADMIN, "/jobs", window),
        f"own jobs of {NON_ADMIN} (non-admin)": (NON_ADMIN, "/jobs", {}),
    }


def measure_listing(server: Server, samples: int, store_jobs: int) -> dict[str, Listing]:
    tokens = {user: login(server, user) for user in (ADMIN, NON_ADMIN)}
    results = {}
    with httpx.Client(base_url=server.api, timeout=60) as http:
        for label, (user, path, params) in list_queries(store_jobs).items():
            seconds = []
            headers = tokens[user] if user is not None else {}
            for sample in range(WARM_UP + samples):
                clock = time.perf_counter()
                answer = http.get(path, params=params, headers=headers)
                elapsed = time.perf_counter() - clock
                answer.raise_for_status()
                if sample >= WARM_UP:
                    seconds.append(elapsed)
            page = answer.json()
            if path == "/jobs":
                results[label] = Listing(seconds, page["total"], len(page["jobs"]))
            else:
                results[label] = Listing(seconds)
    return results


# -- event delivery --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    after_post: list[float]
    after_201: list[float]
    after_node_end: list[float]
    after_stored: list[float]


def measure_events(
    server: Server, store: sa.Engine, watcher: EventWatcher, headers: dict[str, str], count: int
) -> Delivery:
    """One job at a time: submit, wait for its final event; then read its stored end times."""
    body = submission_body(formats.dump_yaml(one_task_workflow("Bench-event")))
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    with httpx.Client(base_url=server.api, headers=headers, timeout=60) as http:
        for _ in range(count):
            posted = time.time()
            job_id = job_id_of(http.post("/jobs", json=body))
            sent[job_id], answered[job_id] = posted, time.time()
            watcher.wait_for([job_id], timeout=60)
    ended = stored_ends(store, list(answered))
    with store.connect() as connection:
        rows = connection.execute(
            sa.select(executions.c.job_id, sa.func.max(executions.c.finished_at))
            .where(executions.c.job_id.in_(list(answered)))
            .group_by(executions.c.job_id)
        )
        node_end = {job_id: finished for job_id, finished in rows}
    return Delivery(
        after_post=[watcher.received[j] - t for j, t in sent.items()],
        after_201=[watcher.received[j] - t for j, t in answered.items()],
        after_node_end=[watcher.received[j] - node_end[j] for j in answered],
        after_stored=[watcher.received[j] - ended[j][0] for j in answered],
    )


# -- one store, end to end ----------------------------------------------------------------------------------


@dataclass
class Result:
    fill_seconds: float = 0.0
    start_seconds: float = 0.0
    batches: dict[str, Batch] = field(default_factory=dict)
    listing: dict[str, Listing] = field(default_factory=dict)
    events: Delivery | None = None


def run_backend(label: str, database_url: str | None, args: argparse.Namespace) -> Result:
    def progress(message: str) -> None:
        print(f"  … {label}: {message}", file=sys.stderr, flush=True)

    result = Result()
    with tempfile.TemporaryDirectory(prefix="runyard-api-bench-") as folder:
        data_dir = Path(folder)
        url = database_url or f"sqlite:///{data_dir / 'runyard.db'}"
        progress(f"writing {args.store_jobs:,} ended jobs into the store")
        clock = time.perf_counter()
        fill_store(url, args.store_jobs)
        result.fill_seconds = time.perf_counter() - clock
        clock = time.perf_counter()
        with running_server(data_dir, database_url) as server:
            result.start_seconds = time.perf_counter() - clock
            progress(f"server up in {result.start_seconds:.1f} s; list latency")
            result.listing = measure_listing(server, args.list_samples, args.store_jobs)
            headers = login(server, ADMIN)
            store = sa.create_engine(url)
            try:
                with EventWatcher(server, headers) as watcher:
                    for name, way in ways(args.concurrency).items():
                        progress(f"submitting {args.jobs:,} jobs, {name}")
                        batch = run_batch(server, store, watcher, headers, way, args.jobs, args.concurrency)
                        result.batches[name] = batch
                        progress(f"{batch.rate:.0f}/s; all ended after {batch.all_done:.1f} s")
                    progress(f"event delivery: {args.event_jobs} jobs one after the other")
                    result.events = measure_events(server, store, watcher, headers, args.event_jobs)
            finally:
                store.dispose()
    return result


# -- printing -----------------------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> list[str]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return [ms(cuts[49]), ms(cuts[94]), ms(max(values))]


def print_submissions(results: dict[str, Result], job_count: int) -> None:
    print(
        f"\nSubmitting {job_count:,} one-task jobs (POST /api/v1/jobs); unless locked, the 2 local nodes run "
        "them meanwhile.\n  sub/s: first POST -> last 201; last 10%: the rate over the last tenth; CPU: "
        "ms per submission over that window;\n  busy: share of the machine's CPU time in use (by anyone) "
        "over it; all done: first POST -> last job finished_at"
    )
    headers = [
        "way",
        "store",
        "sub/s",
        "last 10%",
        "vs target",
        "server CPU",
        "client CPU",
        "busy",
        "all done",
    ]
    rows = []
    for way in next(iter(results.values())).batches:
        for name, result in results.items():
            batch = result.batches[way]
            rows.append([
                way, name, f"{batch.rate:.0f}", f"{batch.tail_rate:.0f}",
                f"{batch.rate / TARGET_SUBMISSIONS:.2f}{TIMES}",
                ms(batch.server_cpu / job_count), ms(batch.client_cpu / job_count),
                f"{batch.machine_busy:.0%}", f"{batch.all_done:.1f} s",
            ])  # fmt: skip
    print_table(headers, rows)
    if Client is None:
        print("  (runyard.client is not importable: measured with httpx only)")
    for name, result in results.items():
        for way, batch in result.batches.items():
            if batch.not_finished:
                print(f"  {name}, {way}: {batch.not_finished} jobs did not end FINISHED")


def print_listing(results: dict[str, Result], store_jobs: int, samples: int) -> None:
    print(
        f"\nGET /api/v1/jobs with {store_jobs:,} ended jobs in the store, idle server, one client "
        f"({samples} requests each, ms; total and rows: what the first store answered)"
    )
    names = list(results)
    headers = ["query"] + [f"{n} {q}" for n in names for q in ("p50", "p95", "p99")] + ["total", "rows"]
    rows = []
    for query, listing in results[names[0]].listing.items():
        cells = [ms(results[n].listing[query].quantile(q)) for n in names for q in (50, 95, 99)]
        answered = ["-", "-"] if listing.total is None else [f"{listing.total:,}", str(listing.rows)]
        rows.append([query, *cells, *answered])
    print_table(headers, rows)


def print_events(results: dict[str, Result], event_jobs: int) -> None:
    print(
        f"\nFinal job event on /api/v1/events, ms (first rows: {event_jobs} one-task jobs one after "
        "the other; then the submission batches)"
    )
    names = list(results)
    headers = ["from -> event received"] + [f"{n} {q}" for n in names for q in ("p50", "p95", "max")]
    rows = []
    for label, attribute in (
        ("POST sent", "after_post"),
        ("201 received", "after_201"),
        ("end of the task on its node", "after_node_end"),
        ("job finished_at (stored)", "after_stored"),
    ):
        rows.append([label] + [c for n in names for c in percentiles(getattr(results[n].events, attribute))])
    for way in results[names[0]].batches:
        rows.append(
            [f"job finished_at, batch {way}"]
            + [c for n in names for c in percentiles(results[n].batches[way].delivery)]
        )
    print_table(headers, rows)


def print_targets(results: dict[str, Result]) -> None:
    print("\nTargets (from the issue)")
    for name, result in results.items():
        best_way, best = max(result.batches.items(), key=lambda item: item[1].rate)
        print(
            f"  {name}: best submission rate {best.rate:.0f}/s ({best_way}) = "
            f"{best.rate / TARGET_SUBMISSIONS:.2f}{TIMES} target >= {TARGET_SUBMISSIONS:.0f}/s: "
            f"{verdict(best.rate >= TARGET_SUBMISSIONS)}"
        )
        lists = {query: listing for query, listing in result.listing.items() if listing.total is not None}
        worst_query, worst = max(lists.items(), key=lambda item: item[1].quantile(95))
        p95 = worst.quantile(95)
        print(
            f"  {name}: worst list p95 {ms(p95)} ms ({worst_query}) = {p95 / TARGET_LIST_P95:.2f}{TIMES} "
            f"target < {ms(TARGET_LIST_P95)} ms: {verdict(p95 < TARGET_LIST_P95)}"
        )
    for name, result in results.items():
        print(
            f"  ({name}: store filled in {result.fill_seconds:.1f} s, "
            f"server started in {result.start_seconds:.1f} s)"
        )


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000, help="one-task jobs per submission batch")
    parser.add_argument("--store-jobs", type=int, default=100_000, help="ended jobs written into the store")
    parser.add_argument("--concurrency", type=int, default=16, help="submissions in flight (async)")
    parser.add_argument("--list-samples", type=int, default=200, help="requests per list query")
    parser.add_argument("--event-jobs", type=int, default=100, help="jobs timed on the event stream")
    postgres = parser.add_mutually_exclusive_group()
    postgres.add_argument("--database-url", help="PostgreSQL server to use (a scratch database on it)")
    postgres.add_argument(
        "--postgres", action="store_true", help="start a throwaway cluster (the default without a URL)"
    )
    postgres.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    for option in ("jobs", "store_jobs", "concurrency", "list_samples", "event_jobs"):
        if getattr(args, option) < 2:
            parser.error(f"--{option.replace('_', '-')} must be at least 2")
    return args


@contextmanager
def postgres_server(args: argparse.Namespace) -> Iterator[str | None]:
    """The PostgreSQL server URL to measure on, if any: given, or a throwaway cluster."""
    if args.no_postgres:
        yield None
    elif args.database_url:
        yield args.database_url
    else:
        print("  … starting a throwaway PostgreSQL cluster", file=sys.stderr, flush=True)
        # Not in a private temporary folder: the server runs as the postgres user and must reach it.
        with throwaway_cluster(Path(tempfile.gettempdir()) / f"runyard-api-bench-pg-{os.getpid()}") as url:
            yield url


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)
    began = time.perf_counter()
    print(f"runyard server benchmark, {time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}")
    print(f"at start: {load_line()} (the machine is shared: read the figures with it)", flush=True)
    results: dict[str, Result] = {}
    with postgres_server(args) as postgres_url:
        results["SQLite"] = run_backend("SQLite", None, args)
        if postgres_url is not None:
            with scratch_postgres(postgres_url) as url:
                results["PostgreSQL"] = run_backend("PostgreSQL", url, args)
    print_submissions(results, args.jobs)
    print_listing(results, args.store_jobs, args.list_samples)
    print_events(results, args.event_jobs)
    print_targets(results)
    print(f"\nat end: {load_line()}; whole run {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

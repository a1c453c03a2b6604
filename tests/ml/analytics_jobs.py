"""A store of a few hundred ended and live jobs for Job Analytics tests, and their expected answers.

The jobs are written straight into the store of a running server (as ``bench/api.py`` fills one):
the scheduler, which loads live jobs only when it starts, leaves them as they are, so every test
can compare the API's answers with what :data:`JOBS` says they must be.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from runyard.formats.mapping import to_mapping
from runyard.model import JobStatus, Script, ScriptExecutable, Task, TaskStatus, Workflow
from runyard.scheduler.submission import prepare_job
from runyard.store.database import connect
from runyard.store.jobs import insert_jobs
from support.server import LiveServer, backend_server

COUNT = 300
NAMES = ["Train_Model", "Train-bert", "ETL_nightly", "report 100%", "a_b"]
PROJECTS = [None, "ml", "ops", "ml-x"]
STATUSES = [JobStatus.FINISHED] * 4 + [
    JobStatus.FAILED, JobStatus.KILLED, JobStatus.CANCELED,
    JobStatus.IN_ERROR, JobStatus.RUNNING, JobStatus.PENDING,
]  # fmt: skip
FORMULA = "=cmd|' /C calc'!A0"
#: Texts that are numbers and texts that are not (an exponent beyond a double's, too long, words).
SCORES = ["+1.5", ".5", " 2 ", "1e999", "abc", "1" + "0" * 45, "-3e-2", "9" * 90]


@dataclass
class StoredJob:
    """What a test expects of one job."""

    id: int
    name: str
    owner: str
    project: str | None
    status: JobStatus
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    failed_task: bool
    values: dict[str, Any] = field(default_factory=dict)
    """``variables.K``, ``results.T``, ``result_map.K`` as the table shows them."""

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass
class AnalyticsStore:
    server: LiveServer
    alice: tuple[str, str]
    """(name, token) of the user owning two jobs in three; bob owns the rest."""
    bob: tuple[str, str]
    jobs: list[StoredJob]

    def of(self, owner: str) -> list[StoredJob]:
        return [job for job in self.jobs if job.owner == owner]


def _workflow() -> Workflow:
    script = ScriptExecutable(Script("cpython", code="pass"))
    return Workflow(
        name="Analytics",
        tasks=[Task(name="Train", executable=script), Task(name="Report", executable=script)],
    )


def fill(url: str, alice: str, bob: str, now: float) -> list[StoredJob]:
    """Write :data:`COUNT` jobs; job ``i`` was submitted ``3 i`` hours before ``now``."""
    engine = connect(url)
    stored: list[StoredJob] = []
    try:
        states = []
        for i in range(COUNT):
            status = STATUSES[i % len(STATUSES)]
            job = prepare_job(_workflow(), owner=alice if i % 3 else bob, now=now)
            job.name, job.project_name, job.status = (
                NAMES[i % len(NAMES)],
                PROJECTS[i % len(PROJECTS)],
                status,
            )
            job.submitted_at = now - i * 3 * 3600
            job.started_at = (
                None if status in (JobStatus.PENDING, JobStatus.CANCELED) else job.submitted_at + 1
            )
            ended = not status.is_alive and job.started_at is not None
            job.finished_at = job.started_at + (i % 13) * 10 + 1 if ended and job.started_at else None
            job.variables = {
                "LR": f"{(i % 10) / 100}", "EPOCHS": str(i % 7), "MODE": "fast" if i % 2 else "slow",
                "NOTE": FORMULA if i % 25 == 0 else "ok", "SCORE": SCORES[i % len(SCORES)],
            }  # fmt: skip
            failed_task = status is JobStatus.FINISHED and i % 7 == 0
            train, report = job.tasks["Train"], job.tasks["Report"]
            if status is JobStatus.FINISHED:
                job.result_map = {"accuracy": 0.5 + (i % 50) / 100, "big": 10**150 if i % 8 == 0 else i}
                train.status, train.result_json = TaskStatus.FINISHED, round(1 / (i + 1), 6)
                report.status = TaskStatus.FAULTY if failed_task else TaskStatus.FINISHED
                report.result_json = None if failed_task else {"rows": i}
            states.append((job, to_mapping(job.workflow)))
            values = {f"variables.{k}": v for k, v in job.variables.items()}
            values |= {f"result_map.{k}": v for k, v in job.result_map.items()}
            values |= {
                f"results.{t.name}": t.result_json for t in (train, report) if t.result_json is not None
            }
            stored.append(StoredJob(
                0, job.name, job.owner, job.project_name, status, job.submitted_at, job.started_at,
                job.finished_at, failed_task, values,
            ))  # fmt: skip
        with engine.begin() as connection:
            insert_jobs(connection, states)
        for (job, _), expected in zip(states, stored, strict=True):
            expected.id = job.id
    finally:
        engine.dispose()
    return stored


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AnalyticsStore]:
    with backend_server(request, tmp_path_factory.mktemp("server")) as server:
        alice, bob = server.new_user(prefix="alice"), server.new_user(prefix="bob")
        url = server.database_url or f"sqlite:///{server.data_dir / 'runyard.db'}"
        jobs = fill(url, alice[0], bob[0], time.time())
        yield AnalyticsStore(server, alice, bob, jobs)

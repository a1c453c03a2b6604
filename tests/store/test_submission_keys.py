"""Idempotency keys are stored with their job, in one transaction: a crash keeps both or neither (a
server killed between storing a job and its key made a retry submit the job again)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from runyard.formats.mapping import to_mapping
from runyard.model import Script, ScriptExecutable, Task, Workflow
from runyard.scheduler.state import JobState
from runyard.scheduler.submission import prepare_job
from runyard.store import jobs as store
from runyard.store.database import connect
from runyard.store.schema import jobs, users
from runyard.store.submission_keys import job_of_key


def _job(owner: str, key: str | None) -> JobState:
    task = Task(name="T", executable=ScriptExecutable(Script(language="cpython", code="pass")))
    job = prepare_job(Workflow(name="Keyed", tasks=[task]), owner=owner, now=time.time())
    job.submission_key = key
    return job


class _Crash(Exception):
    pass


def test_a_key_is_stored_with_its_job_or_not_at_all(database_url: str) -> None:
    engine = connect(database_url)
    key = f"trial-{time.time()}"
    owner = f"alice-{time.time_ns()}"
    with engine.begin() as connection:
        connection.execute(
            sa.insert(users).values(name=owner, password_hash="-", role="user", created_at=0.0)
        )
    with pytest.raises(_Crash), engine.begin() as connection:
        crashed = _job(owner, key)
        store.insert_jobs(connection, [(crashed, to_mapping(crashed.workflow))])
        raise _Crash  # the transaction never commits: neither the job nor its key remains
    with engine.connect() as connection:
        assert job_of_key(connection, owner, key, now=time.time()) is None
        assert connection.execute(sa.select(jobs.c.id).where(jobs.c.id == crashed.id)).first() is None
    keyed, plain = _job(owner, key), _job(owner, None)
    with engine.begin() as connection:
        store.insert_jobs(
            connection, [(plain, to_mapping(plain.workflow)), (keyed, to_mapping(keyed.workflow))]
        )
    with engine.connect() as connection:
        found = job_of_key(connection, owner, key, now=time.time())
        assert found is not None and found.id == keyed.id
        assert job_of_key(connection, "someone-else", key, now=time.time()) is None
    engine.dispose()

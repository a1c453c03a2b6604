"""Execution records: an execution recorded twice keeps its first record, and the store carries on."""

from __future__ import annotations

import logging
import time

import pytest
import sqlalchemy as sa

from runyard.formats.mapping import to_mapping
from runyard.model import Script, ScriptExecutable, Task, Workflow
from runyard.scheduler.submission import prepare_job
from runyard.store import jobs as store
from runyard.store.database import connect
from runyard.store.schema import executions


def _record(outcome: str) -> store.ExecutionRecord:
    return store.ExecutionRecord(0, 1, "local-1", outcome, 1.0, 2.0, "", None)


def test_an_execution_recorded_twice_keeps_the_first_record(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = connect(database_url)
    task = Task(name="T", executable=ScriptExecutable(Script(language="cpython", code="pass")))
    job = prepare_job(Workflow(name="Twice", tasks=[task]), owner="alice", now=time.time())
    with engine.begin() as connection:
        store.insert_jobs(connection, [(job, to_mapping(job.workflow))])
        job_id = job.id
        store.record_executions(connection, job_id, [_record("killed"), _record("finished")])
    with caplog.at_level(logging.WARNING), engine.begin() as connection:
        store.record_executions(connection, job_id, [_record("node_lost")])
    with engine.connect() as connection:
        outcomes = connection.execute(sa.select(executions.c.outcome)).scalars().all()
    engine.dispose()
    assert outcomes == ["killed"]
    assert "recorded twice" in caplog.text

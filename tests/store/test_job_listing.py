"""Listing jobs as stored, on SQLite and PostgreSQL: the sort orders (the same on both, jobs not started
last either way), the name index, counts by status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from runyard.store.database import connect
from runyard.store.job_listing import JobFilter, JobOrder, count_statuses, find_jobs
from runyard.store.schema import jobs, metadata

#: (name, owner, status, started_at)
JOBS = [("b", "alice", "FINISHED", 10.0), ("a", "alice", "PENDING", None), ("c", "bob", "RUNNING", 5.0)]


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = connect(database_url)
    common = {
        "priority": "normal",
        "on_task_error": "none",
        "max_number_of_execution": 1,
        "task_retry_delay": 0.0,
        "submitted_at": 1.0,
        "workflow": {},
        "variables": {},
        "generic_information": {},
        "result_map": {},
        "next_number": 1,
    }
    with engine.begin() as connection:
        for number, (name, owner, status, started) in enumerate(JOBS, 1):
            row = {
                **common,
                "id": number,
                "name": name,
                "owner": owner,
                "status": status,
                "started_at": started,
            }
            connection.execute(sa.insert(jobs).values(row))
    yield engine
    engine.dispose()


def names(engine: sa.Engine, order: JobOrder, where: JobFilter | None = None) -> list[str]:
    with engine.connect() as connection:
        found = find_jobs(connection, where or JobFilter(), limit=10, offset=0, order=order)
    return [job["name"] for job in found.jobs]


def test_the_migrations_create_the_declared_job_indexes(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in differences if "ix_jobs" in repr(d)] == []


def test_sorted_by_any_column_then_by_id_jobs_not_started_last(engine: sa.Engine) -> None:
    assert names(engine, JobOrder()) == ["c", "a", "b"]
    assert names(engine, JobOrder("name", descending=False)) == ["a", "b", "c"]
    assert names(engine, JobOrder("name")) == ["c", "b", "a"]
    assert names(engine, JobOrder("started_at", descending=False)) == ["c", "b", "a"]
    assert names(engine, JobOrder("started_at")) == ["b", "c", "a"]
    assert names(engine, JobOrder("owner", descending=False), JobFilter(owner="alice")) == ["b", "a"]
    with pytest.raises(ValueError, match="workflow"):
        names(engine, JobOrder("workflow"))


def test_counts_by_status_leave_the_status_filter_aside(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        assert count_statuses(connection, JobFilter(statuses=("RUNNING",))) == {
            "FINISHED": 1,
            "PENDING": 1,
            "RUNNING": 1,
        }
        assert count_statuses(connection, JobFilter(owner="alice")) == {"FINISHED": 1, "PENDING": 1}

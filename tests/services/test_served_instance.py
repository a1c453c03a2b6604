"""Which instance a job serves, asked by the API for every helper call of a job token, while the
automation records the job: whenever the recording commits, the answer is the instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runyard.auth.users import add_user
from runyard.services.instances import (
    JobSubmission,
    PendingAction,
    add_job_submission,
    insert_instance,
    instance_of_job,
    update_instance,
)
from runyard.store.database import connect
from runyard.store.submission_keys import remember_key

JOB, KEY = 7, "runyard-service-action-0123"


@pytest.fixture
def store(tmp_path: Path) -> sa.Engine:
    """An instance whose start is pending under ``KEY``, and job ``JOB`` stored under that key."""
    engine = connect(f"sqlite:///{tmp_path / 'runyard.db'}")
    with engine.begin() as connection:
        add_user(connection, "alice", "a long enough password")
        instance = insert_instance(
            connection, service_id="S", bucket="b", owner="alice", status="VOID", icon=None, variables={}
        )
        pending = PendingAction(KEY, "b/Start", "VOID -> RUNNING", None, 1.0)
        update_instance(connection, instance, transition="VOID -> RUNNING", pending_action=pending)
        remember_key(connection, "alice", KEY, JOB, now=1.0)
    return engine


def _record(engine: sa.Engine) -> None:
    """What the automation does once the job is stored: in one transaction, the pending action cleared
    and the submission added."""
    with engine.begin() as connection:
        update_instance(connection, 1, pending_action=None, transition_job_id=JOB)
        add_job_submission(connection, 1, JobSubmission(JOB, "b/Start", "VOID -> RUNNING", None, 1.0))


def test_the_job_is_the_instances_before_during_and_after_its_recording(store: sa.Engine) -> None:
    with store.connect() as connection:
        assert instance_of_job(connection, JOB) == 1  # pending
        assert instance_of_job(connection, JOB + 1) is None  # another job
    # The recording commits between the lookup's statements (each reads what is committed when it runs).
    recorded = False

    def between(*_: Any) -> None:
        nonlocal recorded
        if not recorded:
            recorded = True
            _record(store)

    with store.connect() as connection:
        sa.event.listen(connection, "after_cursor_execute", between)
        assert instance_of_job(connection, JOB) == 1
    assert recorded
    with store.connect() as connection:
        assert instance_of_job(connection, JOB) == 1  # recorded

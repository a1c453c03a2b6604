"""Idempotency keys of submissions: a retry with the key of an earlier submission gets its job.

A key belongs to its owner (another user's same key is another key) and is kept ``KEY_TTL`` seconds.
A key whose job was removed is free again.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from runyard.store.schema import jobs, submission_keys

#: How long a key names its job: a day covers any client's retries.
KEY_TTL = 24 * 3600.0


@dataclass(frozen=True)
class KeyedJob:
    id: int
    name: str
    status: str


def job_of_key(connection: sa.Connection, owner: str, key: str, *, now: float) -> KeyedJob | None:
    """The job ``owner`` submitted with ``key``, if the key is still kept and the job exists (still
    ``owner``'s: SQLite may give a removed job's id to another job)."""
    c = submission_keys.c
    row = connection.execute(
        sa.select(jobs.c.id, jobs.c.name, jobs.c.status)
        .join(submission_keys, c.job_id == jobs.c.id)
        .where(c.owner == owner, c.key == key, c.created_at > now - KEY_TTL, jobs.c.owner == owner)
    ).first()
    return None if row is None else KeyedJob(row.id, row.name, row.status)


def remember_key(connection: sa.Connection, owner: str, key: str, job_id: int, *, now: float) -> None:
    """Record that ``key`` submitted ``job_id`` (replacing a stale use of it); old keys are swept."""
    c = submission_keys.c
    connection.execute(sa.delete(submission_keys).where(c.created_at <= now - KEY_TTL))
    connection.execute(sa.delete(submission_keys).where(c.owner == owner, c.key == key))
    connection.execute(sa.insert(submission_keys).values(owner=owner, key=key, job_id=job_id, created_at=now))

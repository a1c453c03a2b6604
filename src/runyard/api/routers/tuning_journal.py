"""The tuning journal of an AutoML job: its tuner task appends the study's changes, trial by trial, and
reads them back when it runs again after a restart (:mod:`runyard.ml.automl.journal`).

Only the job's own job token writes (no user, no other job: the journal is the tuner's state, and
a forged entry would steer its search). The owner, an admin and the job's token read it.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from runyard.api.deps import EngineDep
from runyard.api.errors import ApiError
from runyard.api.routers.jobs import JobId, check_job_access
from runyard.api.security import CurrentUser
from runyard.client.tuning import MAX_BATCH
from runyard.errors import ConflictError
from runyard.store.tuning_journal import append_entries, journal_length, read_entries

router = APIRouter(prefix="/jobs", tags=["jobs"])


class JournalAppend(BaseModel):
    start: int = Field(ge=0, description="The number of the first entry: the journal's length")
    entries: list[dict[str, Any]] = Field(max_length=MAX_BATCH)


class JournalPage(BaseModel):
    entries: list[dict[str, Any]]
    length: int
    """The journal's length when read: more entries follow this page if ``start + len(entries) < length``."""


@router.get("/{job_id}/tuning-journal", response_model=JournalPage)
def read_journal(
    job_id: JobId,
    user: CurrentUser,
    engine: EngineDep,
    start: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JournalPage:
    """Entries from ``start`` on (at most 1,000 per page)."""
    check_job_access(engine, user, job_id)
    with engine.connect() as connection:
        return JournalPage(
            entries=read_entries(connection, job_id, start), length=journal_length(connection, job_id)
        )


@router.post("/{job_id}/tuning-journal", response_model=JournalPage)
def append_journal(job_id: JobId, batch: JournalAppend, user: CurrentUser, engine: EngineDep) -> JournalPage:
    """Append entries (409 unless ``start`` is the journal's length); only the job's own token may."""
    check_job_access(engine, user, job_id)
    if user.job != job_id:
        raise ApiError(403, "forbidden", f"only the tasks of job {job_id} write its tuning journal")
    try:
        with engine.begin() as connection:
            length = append_entries(connection, job_id, batch.start, batch.entries)
    except sa.exc.IntegrityError:  # another writer took these numbers first
        raise ConflictError(f"the tuning journal of job {job_id} changed: read it again") from None
    return JournalPage(entries=[], length=length)

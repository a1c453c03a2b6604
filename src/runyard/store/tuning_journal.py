"""The tuning journal of an AutoML job: the log entries of its optuna study, numbered from 0, in order.

The job's tuner task writes them through the API (:mod:`runyard.api.routers.tuning_journal`) and
reads them back after a restart of the server, so its search resumes where it was. Each batch says
at which number it starts; a batch that does not start at the journal's end is refused, so a stale
writer (an execution given up for lost that still runs) can never interleave its entries with its
successor's. The rows go with their job (foreign key, ``ON DELETE CASCADE``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from runyard.client.tuning import MAX_BATCH
from runyard.errors import ConflictError, InvalidRequestError
from runyard.store.schema import tuning_journal

MAX_ENTRIES = 100_000
"""Entries per job: a study of 1,000 trials of 10 parameters writes about 15,000."""
MAX_ENTRY_BYTES = 65_536
"""One entry as JSON; the largest is a CMA-ES strategy, split by the tuner past 60,000 bytes."""


def journal_length(connection: sa.Connection, job_id: int) -> int:
    count = connection.execute(
        sa.select(sa.func.count()).select_from(tuning_journal).where(tuning_journal.c.job_id == job_id)
    ).scalar()
    return int(count or 0)


def read_entries(connection: sa.Connection, job_id: int, start: int, limit: int = MAX_BATCH) -> list[Any]:
    """Entries ``start``, ``start + 1``… (at most ``limit``)."""
    c = tuning_journal.c
    rows = connection.execute(
        sa.select(c.entry)
        .where(c.job_id == job_id, c.number >= start)
        .order_by(c.number)
        .limit(min(limit, MAX_BATCH))
    )
    return [json.loads(row.entry) for row in rows]


def append_entries(connection: sa.Connection, job_id: int, start: int, entries: Sequence[Any]) -> int:
    """Append ``entries`` as numbers ``start``…; returns the new length. ``ConflictError`` unless
    ``start`` is the journal's length; ``InvalidRequestError`` over a bound."""
    if len(entries) > MAX_BATCH:
        raise InvalidRequestError(f"at most {MAX_BATCH} journal entries per request, got {len(entries)}")
    texts = [json.dumps(entry, separators=(",", ":")) for entry in entries]
    for number, text in enumerate(texts, start):
        if len(text.encode()) > MAX_ENTRY_BYTES:
            raise InvalidRequestError(f"journal entry {number} is larger than {MAX_ENTRY_BYTES} bytes")
    length = journal_length(connection, job_id)
    if start != length:
        raise ConflictError(f"the tuning journal of job {job_id} has {length} entries, not {start}")
    if length + len(texts) > MAX_ENTRIES:
        raise InvalidRequestError(f"a tuning journal holds at most {MAX_ENTRIES} entries")
    if texts:
        connection.execute(
            sa.insert(tuning_journal),
            [{"job_id": job_id, "number": n, "entry": t} for n, t in enumerate(texts, start)],
        )
    return length + len(texts)

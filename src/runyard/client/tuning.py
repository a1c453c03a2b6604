"""The tuning journal of an AutoML job (its study's changes by trial), kept on the server by its tuner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runyard.client.documents import TuningJournalPage
from runyard.client.transport import Call, json_body, operation, segment

MAX_BATCH = 1_000
"""Entries per append or read page: the server's bound (a tuner task reads it here, without the store's
imports)."""


class TuningApi:
    @operation
    def read_tuning_journal(self, job_id: int, start: int = 0) -> Call[TuningJournalPage]:
        """``{"entries": [...], "length": N}``: entries from ``start`` on (``MAX_BATCH`` a page at most)."""
        return Call("GET", _journal(job_id), json_body, params={"start": start})

    @operation
    def append_tuning_journal(self, job_id: int, start: int, entries: Sequence[dict[str, Any]]) -> Call[int]:
        """Append ``entries`` as numbers ``start``…, the journal's length (``ApiError`` 409 otherwise);
        only the job's own tasks may. Returns the new length."""
        body = {"start": start, "entries": list(entries)}
        return Call("POST", _journal(job_id), lambda response: int(response.json()["length"]), json=body)


def _journal(job_id: int) -> str:
    return f"/jobs/{segment(job_id)}/tuning-journal"

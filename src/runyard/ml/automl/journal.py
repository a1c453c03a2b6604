"""The tuner's optuna study, kept in the platform's database: an optuna ``JournalStorage`` whose log lives
in the tuner job's tuning journal (``/jobs/{id}/tuning-journal``), written through the REST API with the
job's token (task processes never open the database).

A restarted tuner task reads the whole log back and optuna rebuilds the study from it: trials, their
parameters, values and attributes, and what samplers keep in the study (QMC's sample counter, Grid's
grid). Only this job's tuner writes its journal, one execution at a time, so after the first read the
backend answers reads from the entries it holds; an append that does not start at the server's end of
the journal (another execution wrote since) is refused by the server, and this tuner stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend

from runyard.client import ApiError, Client
from runyard.ml.errors import TaskInputError
from runyard.store.tuning_journal import MAX_BATCH


class ServerJournal(BaseJournalBackend):
    """The log of a job's study, as optuna's journal backend."""

    def __init__(self, client: Client, job_id: int) -> None:
        self._client = client
        self._job_id = job_id
        self._entries: list[dict[str, Any]] = []
        while True:
            page = client.read_tuning_journal(job_id, len(self._entries))
            self._entries.extend(page["entries"])
            if not page["entries"] or len(self._entries) >= page["length"]:
                return

    def __len__(self) -> int:
        return len(self._entries)

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        return self._entries[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        for first in range(0, len(logs), MAX_BATCH):
            batch = logs[first : first + MAX_BATCH]
            try:
                self._client.append_tuning_journal(self._job_id, len(self._entries), batch)
            except ApiError as error:
                if error.status != 409:
                    raise
                raise TaskInputError(
                    "Multi_Tuners_AutoML", f"another execution writes this tuner's journal: {error}"
                ) from None
            self._entries.extend(batch)


def job_storage(client: Client, job_id: int) -> JournalStorage:
    """optuna storage on the tuning journal of job ``job_id``."""
    return JournalStorage(ServerJournal(client, job_id))

"""The tuner's optuna study, kept in the platform's database: an optuna ``JournalStorage`` whose log lives
in the tuner job's tuning journal (``/jobs/{id}/tuning-journal``), written through the REST API with the
job's token (task processes never open the database).

A restarted tuner task reads the whole log back and optuna rebuilds the study from it: trials, their
parameters, values and attributes, and what samplers keep in the study (QMC's sample counter, Grid's
grid). Only this job's tuner writes its journal, one execution at a time, so the backend answers reads
from the entries it holds, and sends what optuna appends when the driver says so, in one request instead
of one per optuna write: :meth:`ServerJournal.flush` waits for it (the study's creation, its seed and run
id, before any sample), :meth:`ServerJournal.flush_later` sends it while the samples run (a batch whose
record a crash loses is drawn again the same, and its jobs are found again by their keys).
An append that does not start at the server's end of the journal (another execution wrote since) is
refused by the server, and this tuner stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend

from runyard.client import ApiError, Client
from runyard.client.tuning import MAX_BATCH
from runyard.ml.errors import TaskInputError


class ServerJournal(BaseJournalBackend):
    """The log of a job's study, as optuna's journal backend."""

    def __init__(self, client: Client, job_id: int) -> None:
        self._client = client
        self._job_id = job_id
        self._sending: Future[None] | None = None
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="tuning-journal")
        self._entries: list[dict[str, Any]] = []
        while True:
            page = client.read_tuning_journal(job_id, len(self._entries))
            self._entries.extend(page["entries"])
            if not page["entries"] or len(self._entries) >= page["length"]:
                break
        self._sent = len(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        return self._entries[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self._entries.extend(logs)

    def flush(self) -> None:
        """Send the entries appended since the last flush, and wait until they are stored."""
        self.flush_later()
        self.wait()

    def flush_later(self) -> None:
        """Start sending the entries appended so far (after the sending under way, if any)."""
        self.wait()
        end = len(self._entries)  # optuna appends from this thread only: the sender sends up to here
        self._sending = self._sender.submit(self._send, end)

    def wait(self) -> None:
        """Until what was sent is stored; raises what sending it raised."""
        sending, self._sending = self._sending, None
        if sending is not None:
            sending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._sender.shutdown()

    def _send(self, end: int) -> None:
        while self._sent < end:
            batch = self._entries[self._sent : min(end, self._sent + MAX_BATCH)]
            try:
                self._client.append_tuning_journal(self._job_id, self._sent, batch)
            except ApiError as error:
                if error.status != 409:
                    raise
                raise TaskInputError(
                    "Multi_Tuners_AutoML", f"another execution writes this tuner's journal: {error}"
                ) from None
            self._sent += len(batch)


def job_storage(client: Client, job_id: int) -> tuple[JournalStorage, ServerJournal]:
    """optuna storage on the tuning journal of job ``job_id``, and its backend (to flush)."""
    journal = ServerJournal(client, job_id)
    return JournalStorage(journal), journal

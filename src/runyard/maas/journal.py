"""Bounded logs kept in memory and appended to a JSON-lines file by a background thread.

The trace, the stored predictions and the drift results are journals: a request only appends to a
deque (no disk I/O on the request path); :class:`Flusher` writes what is new every
``FLUSH_INTERVAL`` seconds and once more on shutdown. The file is rewritten with the entries kept
when it grows beyond four times their number, so it stays bounded too.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from runyard.maas.defaults import FLUSH_INTERVAL
from runyard.maas.files import write_atomically

log = logging.getLogger(__name__)
Entry = dict[str, Any]


class Journal:
    """The last ``kept`` entries of one log, persisted in ``path``."""

    def __init__(self, path: Path, kept: int) -> None:
        self.path = path
        self._kept = kept
        self._entries: deque[Entry] = deque(maxlen=kept)
        self._pending: deque[Entry] = deque()
        self._lines = 0
        self._lock = threading.Lock()
        if path.exists():
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    self._lines += 1
                    try:
                        self._entries.append(json.loads(line))
                    except json.JSONDecodeError:  # a line cut by a crash
                        continue

    def append(self, entry: Entry) -> None:
        """Keep ``entry`` (written to disk at the next flush)."""
        self._entries.append(entry)
        self._pending.append(entry)

    def latest(self, limit: int | None = None) -> list[Entry]:
        """The entries kept, newest first, at most ``limit``."""
        return list(islice(reversed(self._entries.copy()), limit))

    def flush(self) -> None:
        """Append the entries not yet written; compact the file when it has grown too long."""
        with self._lock:
            fresh = _drain(self._pending)
            if not fresh:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._lines + len(fresh) > 4 * self._kept:
                kept = list(self._entries)
                write_atomically(self.path, _lines(kept).encode())
                self._lines = len(kept)
                return
            with self.path.open("a", encoding="utf-8") as out:
                out.write(_lines(fresh))
            self._lines += len(fresh)


class Flusher:
    """A daemon thread flushing ``journals`` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, journals: Iterable[Journal], interval: float = FLUSH_INTERVAL) -> None:
        self._journals = list(journals)
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maas-journal-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and flush one last time."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        self._flush_all()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self._flush_all()

    def _flush_all(self) -> None:
        for journal in self._journals:
            try:
                journal.flush()
            except OSError:
                log.exception("could not write %s", journal.path)


def _drain(pending: deque[Entry]) -> list[Entry]:
    drained: list[Entry] = []
    while pending:
        drained.append(pending.popleft())
    return drained


def _lines(entries: list[Entry]) -> str:
    return "".join(json.dumps(entry, default=str) + "\n" for entry in entries)

"""What a running server holds besides its routes: settings, tokens, the trace and background threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from runyard.maas.defaults import MAX_NAME_LENGTH, TRACE_KEPT
from runyard.maas.errors import RequestRefused
from runyard.maas.journal import Flusher, Journal
from runyard.maas.settings import ServerSettings
from runyard.maas.tokens import Caller, TokenStore


@dataclass
class Operation:
    """One traced operation; its handler fills in the model and version once it knows them."""

    model: str | None = None
    version: int | None = None
    outcome: str = "ok"


class ServerState:
    """The state of one instance, kept under ``settings.state_dir``; :meth:`start` and :meth:`stop`
    run its background threads (the server's lifespan calls them)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.tokens = TokenStore(settings.state_dir / "tokens.json", settings.master_token)
        self.trace = Journal(settings.state_dir / "trace.jsonl", TRACE_KEPT)
        self.journals = [self.trace]
        self._flusher: Flusher | None = None

    def record(
        self, caller: Caller, action: str, model: str | None, version: int | None, outcome: str
    ) -> None:
        """Trace one operation (when tracing is on)."""
        if self.settings.trace:
            self.trace.append(
                {
                    "time": now(),
                    "user": caller.user,
                    "token": caller.token_id,
                    "action": action,
                    "model_name": model,
                    "model_version": version,
                    "outcome": outcome,
                }
            )

    @contextmanager
    def operation(self, caller: Caller, action: str, model: object = None) -> Iterator[Operation]:
        """Trace the operation run in the ``with`` block: its outcome, or why it was refused. ``model`` is
        the name as sent (kept when text, cut to the longest valid name) until the handler sets it."""
        done = Operation(model[:MAX_NAME_LENGTH] if isinstance(model, str) else None)
        try:
            yield done
        except RequestRefused as error:
            self.record(caller, action, done.model, done.version, f"refused ({error.status}): {error}")
            raise
        self.record(caller, action, done.model, done.version, done.outcome)

    def start(self) -> None:
        self._flusher = Flusher(self.journals)
        self._flusher.start()

    def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.stop()
            self._flusher = None


def now() -> str:
    """The current time, UTC, ISO 8601 (as the trace and the answers show it)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")

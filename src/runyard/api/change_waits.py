"""Requests that wait for a change (a task waiting for a signal, or for a channel key to change) without
polling the store: they hold an ``asyncio`` future per thing watched, which the route making the change
resolves after its commit.

Use: ``with waits.watch(key) as changed:`` read the state; if it is not what the caller waits for,
``await waits.until(changed, timeout)``; read again. Watching before reading is what makes a change
between the read and the wait impossible to miss. Changes are made by this process only (the API's
routes), so nothing crosses processes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

MAX_WAIT_SECONDS = 20.0
"""Longest wait of one request: under the SDK's 30 s answer timeout; callers ask again."""


class ChangeWaits:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[Hashable, set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]] = {}

    def changed(self, key: Hashable) -> None:
        """Wake every request watching ``key`` (from any thread)."""
        with self._lock:
            waiters = self._waiting.pop(key, set())
        for loop, future in waiters:
            loop.call_soon_threadsafe(_resolve, future)

    @contextmanager
    def watch(self, key: Hashable) -> Iterator[asyncio.Future[None]]:
        """A future resolved at the next change of ``key`` (call from the event loop)."""
        loop = asyncio.get_running_loop()
        entry = (loop, loop.create_future())
        with self._lock:
            self._waiting.setdefault(key, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                waiters = self._waiting.get(key)
                if waiters is not None:
                    waiters.discard(entry)
                    if not waiters:
                        del self._waiting[key]

    @staticmethod
    async def until(changed: asyncio.Future[None], timeout: float) -> bool:
        """Whether ``changed`` came within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(asyncio.shield(changed), max(0.0, timeout))
        except TimeoutError:
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)

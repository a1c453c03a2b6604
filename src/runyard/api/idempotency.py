"""The ``Idempotency-Key`` header of submissions: a client that lost the answer retries safely.

The same key from the same user gets the same job (201, same id, no second job), also when the
retry arrives while the first request is still being served; keys are kept a day
(:mod:`runyard.store.submission_keys`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Header

MAX_LENGTH = 255

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_LENGTH,
        pattern=r"^[\x21-\x7e]+$",
        description="Any printable ASCII without spaces: a retry with the same key gets the same job",
    ),
]


class KeyLocks:
    """One submission at a time per user and key, so that two concurrent retries make one job."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, owner: str, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get((owner, key), (asyncio.Lock(), 0))
        self._locks[(owner, key)] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[(owner, key)]
            if users == 1:
                del self._locks[(owner, key)]
            else:
                self._locks[(owner, key)] = (lock, users - 1)

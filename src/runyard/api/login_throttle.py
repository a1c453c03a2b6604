"""Login attempts per user name and per client address: too many answer 429 before any hashing.

An attempt counts from the moment it is admitted (so a burst of concurrent guesses counts in full
before the first one is checked) and is forgiven when it succeeds: only failures and attempts still
being checked fill the window. The name limit stops guessing one account's password from many
addresses; the address limit stops one client guessing across many names. Its price: anyone can
keep a name's logins refused by failing them, though the account's sessions and job tokens keep
working (the usual trade-off; see ``docs/server.md``).

Client addresses are the peers the server sees: behind a reverse proxy they are all the proxy's.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from runyard.api.errors import ApiError

WINDOW_SECONDS = 300.0
#: Above this many names and addresses tracked, expired ones are dropped on the next attempt.
_SWEEP_ABOVE = 10_000


@dataclass(frozen=True)
class Attempt:
    name: str
    address: str
    at: float


class LoginThrottle:
    def __init__(
        self,
        *,
        per_name: int,
        per_address: int,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"name": per_name, "address": per_address}
        self._window = window
        self._clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def admit(self, name: str, address: str) -> Attempt:
        """Count an attempt; 429 (with ``Retry-After``) when the name or the address is over its limit."""
        now = self._clock()
        if len(self._seen) > _SWEEP_ABOVE:
            for key in [k for k, times in self._seen.items() if self._expire(times, now)]:
                del self._seen[key]
        keys = (("name", name), ("address", address))
        for key in keys:
            times = self._seen.setdefault(key, deque())
            self._expire(times, now)
            if len(times) >= self._limits[key[0]]:
                wait = max(1, math.ceil(times[0] + self._window - now))
                subject = "user name" if key[0] == "name" else "client address"
                raise ApiError(
                    429,
                    "too_many_requests",
                    f"too many failed logins for this {subject}: try again in {wait} s",
                    {"retry_after": wait},
                    headers={"Retry-After": str(wait)},
                )
        for key in keys:
            self._seen[key].append(now)
        return Attempt(name, address, now)

    def forgive(self, attempt: Attempt) -> None:
        """The attempt succeeded: it no longer counts."""
        for key in (("name", attempt.name), ("address", attempt.address)):
            times = self._seen.get(key)
            if times is not None and attempt.at in times:
                times.remove(attempt.at)

    def _expire(self, times: deque[float], now: float) -> bool:
        """Drop the attempts older than the window; whether none is left."""
        while times and times[0] <= now - self._window:
            times.popleft()
        return not times

"""API tokens: one issued per ``get_token`` call, kept as SHA-256 hashes in the state folder.

A token is 32 random bytes, so a plain hash suffices (nothing to brute-force); checking one is a hash
and a dictionary lookup. Only the instance's master token (``MAAS_MASTER_TOKEN``) may issue tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from runyard.maas.defaults import MAX_TOKENS
from runyard.maas.errors import Unauthorized
from runyard.maas.files import write_atomically


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the token's user and a short id of the token (for the trace)."""

    user: str
    token_id: str


class TokenStore:
    """The tokens of one instance, persisted in ``path``."""

    def __init__(self, path: Path, master_token: str) -> None:
        self._path = path
        self._master = master_token.encode()
        self._lock = threading.Lock()
        self._users: dict[str, tuple[str, float]] = {}
        if path.exists():
            saved = json.loads(path.read_text())
            self._users = {digest: (user, issued) for digest, user, issued in saved}

    def is_master(self, token: str | None) -> bool:
        """Whether ``token`` is the instance's master token (compared in constant time)."""
        return token is not None and hmac.compare_digest(token.encode(), self._master)

    def issue(self, user: str) -> str:
        """A new token for ``user``; the oldest tokens are forgotten beyond ``MAX_TOKENS``."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            users = dict(self._users)
            users[_digest(token)] = (user, time.time())
            for stale in sorted(users, key=lambda d: users[d][1])[: max(0, len(users) - MAX_TOKENS)]:
                del users[stale]
            write_atomically(self._path, json.dumps([[d, u, t] for d, (u, t) in users.items()]).encode())
            self._users = users
        return token

    def caller(self, token: str | None) -> Caller:
        """The caller ``token`` belongs to; :class:`Unauthorized` when it is missing or unknown."""
        if not token:
            raise Unauthorized("a token is required: Authorization: Bearer <token> (see get_token)")
        digest = _digest(token)
        found = self._users.get(digest)
        if found is None:
            raise Unauthorized("unknown token")
        return Caller(found[0], digest[:12])

    def users(self) -> dict[str, int]:
        """Each user and how many tokens it holds."""
        counts: dict[str, int] = {}
        for user, _ in self._users.values():
            counts[user] = counts.get(user, 0) + 1
        return counts


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

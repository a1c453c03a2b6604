"""Signed tokens: ``<prefix><base64 "number:owner">.<HMAC-SHA256>``, checked by their signature alone.

Nothing is stored per token: whoever checks one then asks the store whether what it names (a job, a
service instance) is still alive, so the token dies with it. Each kind of token has its own prefix
and its own key, kept in the data folder: a token of one kind is never valid as another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import ClassVar, Self


class SignedTokens:
    """Tokens naming a number (a job's, an instance's id) and its owner; subclasses set :attr:`PREFIX`."""

    PREFIX: ClassVar[str]

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_file(cls, path: Path) -> Self:
        """The key in ``path``, created (32 random bytes, mode 0600) on first use."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(secrets.token_bytes(32))
        return cls(path.read_bytes())

    def issue(self, number: int, owner: str) -> str:
        payload = f"{number}:{owner}".encode()
        encoded = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{self.PREFIX}{encoded}.{self._sign(payload)}"

    def verify(self, token: str) -> tuple[int, str] | None:
        """``(number, owner)`` when ``token`` was issued with this key, else ``None``."""
        if not token.startswith(self.PREFIX):
            return None
        encoded, _, signature = token[len(self.PREFIX) :].partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            number, _, owner = payload.decode().partition(":")
            identifier = int(number)
        except (ValueError, UnicodeDecodeError):
            return None
        if not owner or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        return identifier, owner

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

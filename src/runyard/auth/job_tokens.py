"""Job tokens: what a task uses to call the API as its job's owner, while the job is alive.

ProActive hands tasks the scheduler session (``schedulerapi``); runyard gives each task a token
``job-<base64 "id:owner">.<HMAC-SHA256>`` signed with a key kept in the data folder. Nothing is stored
per token: it is checked by its signature, then by the job being alive, so it dies with the job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

PREFIX = "job-"


class JobTokens:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_file(cls, path: Path) -> JobTokens:
        """The key in ``path``, created (32 random bytes, mode 0600) on first use."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(secrets.token_bytes(32))
        return cls(path.read_bytes())

    def issue(self, job_id: int, owner: str) -> str:
        payload = f"{job_id}:{owner}".encode()
        encoded = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{PREFIX}{encoded}.{self._sign(payload)}"

    def verify(self, token: str) -> tuple[int, str] | None:
        """``(job id, owner)`` when ``token`` was issued with this key, else ``None``."""
        if not token.startswith(PREFIX):
            return None
        encoded, _, signature = token[len(PREFIX) :].partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            job, _, owner = payload.decode().partition(":")
            job_id = int(job)
        except (ValueError, UnicodeDecodeError):
            return None
        if not owner or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        return job_id, owner

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

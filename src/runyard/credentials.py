"""Third-party credentials: per-user named secrets, encrypted at rest, given to scripts as ``credentials``.

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256) under one key kept in the data folder
(``credentials.key``, mode 0600); the database alone does not reveal them. Only the scheduler
decrypts, when it starts a task of the owner.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from runyard.errors import InvalidRequestError, NotFoundError, StoreError
from runyard.store.schema import credentials

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@:-]{0,254}$")
MAX_VALUE_BYTES = 64 * 1024


class Vault:
    def __init__(self, key_file: Path) -> None:
        self._fernet = Fernet(_key(key_file))

    def put(self, connection: sa.Connection, owner: str, name: str, value: str) -> bool:
        """Store (or replace) a secret; ``True`` if it is new."""
        if not NAME_PATTERN.match(name):
            raise InvalidRequestError(
                f"invalid credential name {name!r}: a letter or '_', then letters, digits or _.@:-"
            )
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise InvalidRequestError(f"a credential value is at most {MAX_VALUE_BYTES} bytes")
        secret = self._fernet.encrypt(value.encode())
        key = (credentials.c.owner == owner) & (credentials.c.name == name)
        replaced = connection.execute(sa.update(credentials).where(key).values(secret=secret)).rowcount
        if not replaced:
            connection.execute(
                sa.insert(credentials).values(owner=owner, name=name, secret=secret, created_at=time.time())
            )
        return not replaced

    def names(self, connection: sa.Connection, owner: str) -> list[str]:
        rows = connection.execute(
            sa.select(credentials.c.name).where(credentials.c.owner == owner).order_by(credentials.c.name)
        )
        return [row.name for row in rows]

    def delete(self, connection: sa.Connection, owner: str, name: str) -> None:
        key = (credentials.c.owner == owner) & (credentials.c.name == name)
        if not connection.execute(sa.delete(credentials).where(key)).rowcount:
            raise NotFoundError(f"no credential {name!r}")

    def reveal(self, connection: sa.Connection, owner: str) -> dict[str, str]:
        """Every secret of ``owner`` in clear, for their tasks' ``credentials`` binding."""
        rows = connection.execute(
            sa.select(credentials.c.name, credentials.c.secret).where(credentials.c.owner == owner)
        )
        try:
            return {row.name: self._fernet.decrypt(row.secret).decode() for row in rows}
        except InvalidToken:
            raise StoreError(
                "stored credentials do not match the key in credentials.key (was the key file replaced?)"
            ) from None


def _key(path: Path) -> bytes:
    """The key in ``path``, created (readable by the owner only) on first use."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile: use theirs
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as f:
        f.write(key)
    return key

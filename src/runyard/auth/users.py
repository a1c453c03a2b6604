"""Accounts: a name, a role and an argon2 hash of the password (the password itself is never kept)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from runyard.errors import ConflictError, InvalidRequestError, NotFoundError
from runyard.store.schema import users

Role = Literal["admin", "user"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def add_user(connection: sa.Connection, name: str, password: str, *, admin: bool = False) -> User:
    """Create an account; ``ConflictError`` if the name is taken."""
    _check_name(name)
    _check_password(password)
    if get_user(connection, name) is not None:
        raise ConflictError(f"user {name!r} exists already")
    role: Role = "admin" if admin else "user"
    connection.execute(
        sa.insert(users).values(
            name=name, password_hash=_hasher.hash(password), role=role, created_at=time.time()
        )
    )
    return User(name, role)


def set_password(connection: sa.Connection, name: str, password: str) -> None:
    _check_password(password)
    done = connection.execute(
        sa.update(users).where(users.c.name == name).values(password_hash=_hasher.hash(password))
    )
    if done.rowcount == 0:
        raise NotFoundError(f"no user {name!r}")


def remove_user(connection: sa.Connection, name: str) -> None:
    """Delete an account and its sessions (their rows cascade)."""
    if connection.execute(sa.delete(users).where(users.c.name == name)).rowcount == 0:
        raise NotFoundError(f"no user {name!r}")


def get_user(connection: sa.Connection, name: str) -> User | None:
    row = connection.execute(sa.select(users.c.name, users.c.role).where(users.c.name == name)).first()
    return User(row.name, row.role) if row is not None else None


def list_users(connection: sa.Connection) -> list[User]:
    rows = connection.execute(sa.select(users.c.name, users.c.role).order_by(users.c.name))
    return [User(row.name, row.role) for row in rows]


def authenticate(connection: sa.Connection, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs, else ``None`` (same answer for an unknown name)."""
    # A name no account can have (a NUL, say, which PostgreSQL text cannot even hold) is not looked up.
    row = (
        connection.execute(sa.select(users).where(users.c.name == name)).first()
        if NAME_PATTERN.match(name)
        else None
    )
    if row is None:
        _hasher.hash(password)  # as slow as a real check: the answer time does not tell names apart
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row.name, row.role)


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise InvalidRequestError(
            f"invalid user name {name!r}: up to 64 letters, digits or ._@- (first a letter or digit)"
            "starting with a letter or digit"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequestError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")

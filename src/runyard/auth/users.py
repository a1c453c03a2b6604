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
from runyard.store.schema import sessions, users

Role = Literal["admin", "user"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 8

#: argon2id at argon2-cffi's defaults (RFC 9106's low-memory profile: 3 passes over 64 MiB, 4 lanes).
_hasher = PasswordHasher()


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash the passwords set from now on in this process (and the unknown names' stand-in checks) with
    ``hasher``; returns the one it replaces. For tests only: they lower the cost of the many accounts they
    make (docs/server.md, Passwords); a password is always checked at the cost it was hashed with."""
    global _hasher
    replaced, _hasher = _hasher, hasher
    return replaced


@dataclass(frozen=True)
class User:
    """Who a request acts for: a user's session, or a task's job token (``job`` is then its job)."""

    name: str
    role: Role
    job: int | None = None
    """The job whose token made the request: it may only do what tasks need (see runyard.api.task_scope)."""

    @property
    def is_admin(self) -> bool:
        """An admin's session: a job token never has an admin's rights, even when its owner is one."""
        return self.role == "admin" and self.job is None


def add_user(connection: sa.Connection, name: str, password: str, *, admin: bool = False) -> User:
    """Create an account; ``ConflictError`` if the name is taken."""
    _check_name(name)
    _check_password(password)
    if get_user(connection, name) is not None:
        raise ConflictError(f"user {name!r} exists already")
    role: Role = "admin" if admin else "user"
    connection.execute(
        sa.insert(users).values(
            name=name,
            password_hash=_hasher.hash(password),
            role=role,
            created_at=time.time(),
            account_number=_next_account_number(connection),
        )
    )
    return User(name, role)


def account_number(connection: sa.Connection, name: str) -> int:
    """The number of the OS account ``name``'s tasks run as (``runyard.nodes.accounts``); users made
    before numbers existed get one now."""
    query = sa.select(users.c.account_number).where(users.c.name == name)
    number = connection.execute(query).scalar_one_or_none()
    if number is None:
        if get_user(connection, name) is None:
            raise NotFoundError(f"no user {name!r}")
        number = _next_account_number(connection)
        connection.execute(sa.update(users).where(users.c.name == name).values(account_number=number))
    return int(number)


def _next_account_number(connection: sa.Connection) -> int:
    """One more than the highest taken (the column is unique: a concurrent taker fails, not shares)."""
    highest = sa.select(sa.func.coalesce(sa.func.max(users.c.account_number), 0))
    return int(connection.execute(highest).scalar_one()) + 1


def set_password(connection: sa.Connection, name: str, password: str) -> None:
    """Change a password and revoke every session of the account: whoever held one must log in anew."""
    _check_password(password)
    done = connection.execute(
        sa.update(users).where(users.c.name == name).values(password_hash=_hasher.hash(password))
    )
    if done.rowcount == 0:
        raise NotFoundError(f"no user {name!r}")
    connection.execute(sa.delete(sessions).where(sessions.c.user_name == name))


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

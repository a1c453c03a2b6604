"""Sessions: a random token given once at login; only its SHA-256 is stored, with an expiry."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from runyard.auth.users import User
from runyard.store.schema import sessions, users


def open_session(connection: sa.Connection, user: User, *, ttl: float, now: float) -> str:
    """A new token for ``user``, valid ``ttl`` seconds; expired sessions are swept on the way."""
    token = secrets.token_urlsafe(32)
    connection.execute(sa.delete(sessions).where(sessions.c.expires_at <= now))
    connection.execute(
        sa.insert(sessions).values(
            token_hash=_digest(token), user_name=user.name, created_at=now, expires_at=now + ttl
        )
    )
    return token


def session_user(connection: sa.Connection, token: str, *, now: float) -> tuple[User, float] | None:
    """The user a live token belongs to and when it expires, else ``None`` (unknown, revoked, expired)."""
    row = connection.execute(
        sa.select(users.c.name, users.c.role, sessions.c.expires_at)
        .join(sessions, sessions.c.user_name == users.c.name)
        .where(sessions.c.token_hash == _digest(token), sessions.c.expires_at > now)
    ).first()
    return (User(row.name, row.role), row.expires_at) if row is not None else None


def close_session(connection: sa.Connection, token: str) -> bool:
    """Revoke a token; ``False`` if it was not a live one."""
    return bool(
        connection.execute(sa.delete(sessions).where(sessions.c.token_hash == _digest(token))).rowcount
    )


def _digest(token: str) -> str:
    # A token has 256 random bits: a fast hash is enough (argon2 is for guessable passwords).
    return hashlib.sha256(token.encode()).hexdigest()

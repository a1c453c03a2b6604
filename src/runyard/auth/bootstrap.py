"""The first admin: created at the first start of an empty store, with a random password."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from runyard.auth.users import add_user, list_users

FIRST_ADMIN = "admin"


def ensure_first_admin(connection: sa.Connection) -> str | None:
    """Create ``admin`` if there is no user at all; returns its password (to print once) or ``None``."""
    if list_users(connection):
        return None
    password = secrets.token_urlsafe(12)
    add_user(connection, FIRST_ADMIN, password, admin=True)
    return password

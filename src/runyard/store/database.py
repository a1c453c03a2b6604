"""Opening the store: engine per URL (SQLite WAL by default, PostgreSQL by URL) and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from runyard.errors import StoreError

_MIGRATIONS = Path(__file__).parent / "migrations"

_SETUP_LOCK = int.from_bytes(b"runyard")
"""PostgreSQL advisory lock key of a store's set-up (its migrations, first admin, built-in buckets)."""


def connect(url: str) -> sa.Engine:
    """An engine on ``url`` with its schema migrated to the newest revision."""
    try:
        engine = sa.create_engine(url, **_engine_options(url))
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        with engine.begin() as connection:
            setting_up(connection)
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(f"cannot open the store at {_safe(url)}: {error}") from error
    return engine


def setting_up(connection: sa.Connection) -> None:
    """Hold the store's set-up lock until ``connection``'s transaction ends: servers started at once on
    one fresh PostgreSQL database set it up one after the other (each would otherwise find the tables,
    the first admin or a built-in bucket absent, create it, and fail on the other's). Nothing on SQLite,
    whose file one server holds."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_SETUP_LOCK)))


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False}}
    return {"pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return repr(url)  # not a URL: nothing in it can be a parsed password

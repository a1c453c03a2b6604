"""Notifications as stored, on SQLite and PostgreSQL: the migration, bounds, the newest kept per owner,
the rate of a source, and every change confined to the owner's own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from runyard.errors import InvalidRequestError, NotFoundError, RateLimitedError
from runyard.store import notifications as store
from runyard.store.database import connect
from runyard.store.notifications import Draft
from runyard.store.schema import metadata, users

DRIFT = Draft("drift", "Drift on model m1", "ADWIN saw a change", {"feature": "x", "value": 0.5})


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = connect(database_url)
    with engine.begin() as connection:
        for name in ("alice", "bob"):
            connection.execute(
                sa.insert(users).values(name=name, password_hash="-", role="user", created_at=0.0)
            )
    yield engine
    engine.dispose()


def test_the_migration_creates_the_declared_table(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in differences if "notifications" in repr(d)] == []


def test_add_list_read_delete_the_owners_own(engine: sa.Engine) -> None:
    now = time.time()
    with engine.begin() as connection:
        first = store.add_notification(
            connection, "alice", DRIFT, source="service-instance:7", now=now, service_instance_id=7
        )
        store.add_notification(connection, "alice", Draft("note", "Hi"), source="user:alice", now=now)
        store.add_notification(connection, "bob", Draft("note", "Bob's"), source="user:bob", now=now)
    assert (first.owner, first.details, first.service_instance_id, first.read_at) == (
        "alice",
        DRIFT.details,
        7,
        None,
    )
    with engine.begin() as connection:
        listed = store.list_notifications(connection, "alice")
        assert [n.title for n in listed] == ["Hi", "Drift on model m1"]  # newest first
        assert store.count_unread(connection, "alice") == 2
        with pytest.raises(NotFoundError):
            store.mark_read(connection, "bob", first.id, now=now)
        with pytest.raises(NotFoundError):
            store.delete_notification(connection, "bob", first.id)
        read = store.mark_read(connection, "alice", first.id, now=now + 1)
        assert store.mark_read(connection, "alice", first.id, now=now + 5).read_at == read.read_at == now + 1
        assert [n.title for n in store.list_notifications(connection, "alice", unread=True)] == ["Hi"]
        assert store.list_notifications(connection, "alice", after_id=listed[0].id) == []
        assert [n.id for n in store.list_notifications(connection, "alice", before_id=listed[0].id)] == [
            first.id
        ]
        store.delete_notification(connection, "alice", first.id)
        assert [n.title for n in store.list_notifications(connection, "alice")] == ["Hi"]
        connection.execute(sa.delete(users).where(users.c.name == "bob"))
        assert store.list_notifications(connection, "bob") == []  # gone with their owner


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (Draft("drift", "t" * (store.MAX_TITLE + 1)), "title has 201 characters"),
        (Draft("drift", "ok", "m" * (store.MAX_MESSAGE + 1)), "message has 4001"),
        (Draft("drift", "ok", details={"x": "d" * store.MAX_DETAILS_BYTES}), "at most 16384"),
        (Draft("drift", "ok", details={"x": float("nan")}), "not storable JSON"),
        (Draft("no spaces", "ok"), "invalid kind"),
        (Draft("drift", "nul\x00"), "NUL"),
        (Draft("drift", "   "), "empty"),
    ],
)
def test_bounds(engine: sa.Engine, draft: Draft, reason: str) -> None:
    with engine.begin() as connection, pytest.raises(InvalidRequestError, match=reason):
        store.add_notification(connection, "alice", draft, source="user:alice", now=time.time())


def test_a_nul_in_the_details_is_stored(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        stored = store.add_notification(
            connection,
            "alice",
            Draft("drift", "ok", details={"a\x00": "b\x00"}),
            source="user:alice",
            now=1.0,
        )
    with engine.connect() as connection:
        assert (
            store.list_notifications(connection, "alice")[0].details == stored.details == {"a\x00": "b\x00"}
        )


def test_the_newest_are_kept(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_PER_OWNER", 3)
    with engine.begin() as connection:
        for number in range(5):
            store.add_notification(
                connection, "alice", Draft("n", f"n{number}"), source=f"s{number}", now=1.0
            )
        store.add_notification(connection, "bob", Draft("n", "bob"), source="user:bob", now=1.0)
    with engine.connect() as connection:
        assert [n.title for n in store.list_notifications(connection, "alice")] == ["n4", "n3", "n2"]
        assert [n.title for n in store.list_notifications(connection, "bob")] == ["bob"]


def test_a_source_has_a_rate(engine: sa.Engine) -> None:
    start = 1000.0
    with engine.begin() as connection:
        for number in range(store.RATE):
            store.add_notification(
                connection, "alice", DRIFT, source="service-instance:1", now=start + number / 10
            )
        with pytest.raises(RateLimitedError) as refused:
            store.add_notification(connection, "alice", DRIFT, source="service-instance:1", now=start + 30)
        assert refused.value.retry_after == 30
        store.add_notification(connection, "alice", DRIFT, source="service-instance:2", now=start + 30)
        store.add_notification(connection, "alice", DRIFT, source="service-instance:1", now=start + 60.05)

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from catalog.helpers import ADMIN, ALICE, BOB
from runyard import catalog
from runyard.auth import add_user
from runyard.errors import ConflictError, ForbiddenError, InvalidRequestError, NotFoundError


def test_a_created_bucket_is_owned_by_its_creator_and_empty(connection: sa.Connection) -> None:
    before = time.time()
    bucket = catalog.create_bucket(connection, ALICE, "my-bucket_1.0", public=True)
    assert (bucket.name, bucket.owner, bucket.public, bucket.object_count) == (
        "my-bucket_1.0",
        "alice",
        True,
        0,
    )
    assert before <= bucket.created_at <= time.time()
    assert catalog.get_bucket(connection, ALICE, "my-bucket_1.0") == bucket


def test_a_bucket_name_is_taken_once(connection: sa.Connection) -> None:
    catalog.create_bucket(connection, ALICE, "shared")
    with pytest.raises(ConflictError, match="not available"):
        catalog.create_bucket(connection, BOB, "shared")


@pytest.mark.parametrize("name", ["", "-dash", ".hidden", "a/b", "sp ace", "x" * 129, "caf\u00e9", "nul\x00"])
def test_bad_bucket_names_are_refused(connection: sa.Connection, name: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid bucket name"):
        catalog.create_bucket(connection, ALICE, name)
    with pytest.raises(InvalidRequestError):
        catalog.get_bucket(connection, ALICE, name)


def test_a_private_bucket_is_invisible_to_other_users_but_not_to_admins(connection: sa.Connection) -> None:
    catalog.create_bucket(connection, ALICE, "secret")
    catalog.create_bucket(connection, ALICE, "open", public=True)
    with pytest.raises(NotFoundError, match="no bucket 'secret'"):
        catalog.get_bucket(connection, BOB, "secret")
    assert catalog.get_bucket(connection, BOB, "open").owner == "alice"
    assert catalog.get_bucket(connection, ADMIN, "secret").owner == "alice"
    assert [b.name for b in catalog.list_buckets(connection, BOB)] == ["open"]
    assert [b.name for b in catalog.list_buckets(connection, ALICE)] == ["open", "secret"]
    assert [b.name for b in catalog.list_buckets(connection, ADMIN)] == ["open", "secret"]


def test_only_the_owner_or_an_admin_may_delete_a_bucket(connection: sa.Connection) -> None:
    catalog.create_bucket(connection, ALICE, "open", public=True)
    catalog.create_bucket(connection, ALICE, "secret")
    with pytest.raises(ForbiddenError, match="belongs to 'alice'"):
        catalog.delete_bucket(connection, BOB, "open")
    with pytest.raises(NotFoundError):
        catalog.delete_bucket(connection, BOB, "secret")
    catalog.delete_bucket(connection, ADMIN, "open")
    catalog.delete_bucket(connection, ALICE, "secret")
    assert catalog.list_buckets(connection, ADMIN) == []
    with pytest.raises(NotFoundError):
        catalog.delete_bucket(connection, ALICE, "secret")


def test_a_bucket_holding_objects_is_deleted_only_when_forced(connection: sa.Connection) -> None:
    catalog.create_bucket(connection, ALICE, "full")
    catalog.put_object(connection, ALICE, "full", "a", b"x", kind="Text")
    catalog.put_object(connection, ALICE, "full", "a", b"y")
    catalog.put_object(connection, ALICE, "full", "b", b"z", kind="Text", tags=["t"])
    assert catalog.get_bucket(connection, ALICE, "full").object_count == 2
    with pytest.raises(ConflictError, match="holds 2 objects"):
        catalog.delete_bucket(connection, ALICE, "full")
    catalog.delete_bucket(connection, ALICE, "full", force=True)
    catalog.create_bucket(connection, ALICE, "full")  # nothing of the old bucket is left behind
    assert catalog.list_objects(connection, ALICE, "full").total == 0
    with pytest.raises(NotFoundError):
        catalog.get_object(connection, ALICE, "full", "a")


def test_only_an_admin_may_create_a_bucket_for_another_user(connection: sa.Connection) -> None:
    with pytest.raises(ForbiddenError, match="only an admin"):
        catalog.create_bucket(connection, ALICE, "gift", owner="bob")
    with pytest.raises(InvalidRequestError, match="no such user"):
        catalog.create_bucket(connection, ADMIN, "gift", owner="nobody")
    with pytest.raises(InvalidRequestError, match="no such user"):
        catalog.create_bucket(connection, ADMIN, "gift", owner="bad\x00name")
    add_user(connection, "bob", "password-of-bob")
    assert catalog.create_bucket(connection, ADMIN, "gift", owner="bob").owner == "bob"
    assert catalog.create_bucket(connection, ALICE, "own", owner="alice").owner == "alice"
    assert [b.name for b in catalog.list_buckets(connection, BOB)] == ["gift"]


def test_buckets_are_filtered_by_owner_name_and_kind(connection: sa.Connection) -> None:
    catalog.create_bucket(connection, ALICE, "alice-scripts", public=True)
    catalog.create_bucket(connection, BOB, "bob-workflows", public=True)
    catalog.create_bucket(connection, BOB, "bob_empty", public=True)
    catalog.put_object(connection, ALICE, "alice-scripts", "s", b"echo", kind="Script/task")
    catalog.put_object(connection, BOB, "bob-workflows", "w", b"<xml/>", kind="Calendar/psa")

    def names(**filters: str) -> list[str]:
        return [b.name for b in catalog.list_buckets(connection, BOB, **filters)]

    assert names(owner="bob") == ["bob-workflows", "bob_empty"]
    assert names(name="bob*") == ["bob-workflows", "bob_empty"]
    assert names(name="bob_*") == ["bob_empty"]  # '_' is a character, not a wildcard
    assert names(name="*SCRIPTS") == ["alice-scripts"]  # case does not matter
    assert names(kind="script") == ["alice-scripts"]
    assert names(kind="Calendar") == ["bob-workflows"]
    assert names(kind="Calendar/psa") == ["bob-workflows"]
    assert names(kind="Cal") == []  # whole segments only
    with pytest.raises(InvalidRequestError, match="control characters"):
        names(owner="a\x00")

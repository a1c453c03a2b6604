from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from catalog.helpers import ADMIN, ALICE, BOB, WORKFLOW_XML, WORKFLOW_YAML
from runyard import catalog
from runyard.errors import ForbiddenError, NotFoundError


@pytest.fixture
def bucket(connection: sa.Connection) -> str:
    catalog.create_bucket(connection, ALICE, "history", public=True)
    return "history"


def test_every_update_is_a_numbered_revision_with_author_message_and_time(
    connection: sa.Connection, bucket: str
) -> None:
    start = time.time()
    catalog.put_object(connection, ALICE, bucket, "s", b"v1", kind="Script/task", commit_message="one")
    catalog.put_object(connection, ADMIN, bucket, "s", b"v2", commit_message="two")
    catalog.put_object(connection, ALICE, bucket, "s", b"v3", commit_message="three")
    revisions = catalog.list_revisions(connection, BOB, bucket, "s")
    assert [(r.revision, r.author, r.commit_message) for r in revisions] == [
        (3, "alice", "three"),
        (2, "root", "two"),
        (1, "alice", "one"),
    ]
    times = [r.commit_time for r in reversed(revisions)]
    assert start <= times[0] <= times[1] <= times[2] <= time.time()
    assert catalog.get_revision(connection, BOB, bucket, "s", 2) == revisions[1]
    assert catalog.get_object(connection, BOB, bucket, "s") == revisions[0]
    assert [catalog.read_raw(connection, BOB, bucket, "s", n).data for n in (1, 2, 3)] == [
        b"v1",
        b"v2",
        b"v3",
    ]


def test_restoring_commits_a_copy_of_the_old_revision(connection: sa.Connection, bucket: str) -> None:
    catalog.put_object(
        connection,
        ALICE,
        bucket,
        "w",
        WORKFLOW_XML,
        kind="Workflow/standard",
        tags=["old"],
        commit_message="xml",
    )
    catalog.put_object(
        connection,
        ALICE,
        bucket,
        "w",
        WORKFLOW_YAML,
        content_type="text/yaml",
        tags=[],
        commit_message="yaml",
    )
    restored = catalog.restore_revision(connection, ADMIN, bucket, "w", 1)
    first = catalog.get_revision(connection, ALICE, bucket, "w", 1)
    assert (restored.revision, restored.commit_message, restored.author) == (3, "restored revision 1", "root")
    assert (
        restored.kind,
        restored.content_type,
        restored.project_name,
        restored.tags,
        restored.metadata,
    ) == (
        first.kind,
        first.content_type,
        first.project_name,
        first.tags,
        first.metadata,
    )
    assert catalog.read_raw(connection, ALICE, bucket, "w") == catalog.read_raw(
        connection, ALICE, bucket, "w", 1
    )
    assert catalog.get_object(connection, ALICE, bucket, "w") == restored
    assert [r.revision for r in catalog.list_revisions(connection, ALICE, bucket, "w")] == [3, 2, 1]


def test_unknown_revisions_are_not_found(connection: sa.Connection, bucket: str) -> None:
    catalog.put_object(connection, ALICE, bucket, "s", b"v1", kind="Text")
    with pytest.raises(NotFoundError, match="history/s has no revision 2"):
        catalog.get_revision(connection, ALICE, bucket, "s", 2)
    with pytest.raises(NotFoundError, match="has no revision 0"):
        catalog.read_raw(connection, ALICE, bucket, "s", 0)
    with pytest.raises(NotFoundError, match="has no revision 7"):
        catalog.restore_revision(connection, ALICE, bucket, "s", 7)
    with pytest.raises(NotFoundError, match="no object 'ghost'"):
        catalog.get_revision(connection, ALICE, bucket, "ghost", 1)
    with pytest.raises(NotFoundError, match="no object 'ghost'"):
        catalog.list_revisions(connection, ALICE, bucket, "ghost")
    with pytest.raises(NotFoundError, match="no bucket"):
        catalog.list_revisions(connection, ALICE, "nowhere", "s")


def test_only_writers_may_restore(connection: sa.Connection, bucket: str) -> None:
    catalog.put_object(connection, ALICE, bucket, "s", b"v1", kind="Text")
    catalog.put_object(connection, ALICE, bucket, "s", b"v2")
    with pytest.raises(ForbiddenError):
        catalog.restore_revision(connection, BOB, bucket, "s", 1)
    assert catalog.get_object(connection, ALICE, bucket, "s").revision == 2

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.helpers import ADMIN, ALICE, BOB, BROKEN_WORKFLOW, WORKFLOW_XML, WORKFLOW_YAML
from runyard import catalog
from runyard.errors import ForbiddenError, InvalidRequestError, NotFoundError, WorkflowError


@pytest.fixture
def bucket(connection: sa.Connection) -> str:
    catalog.create_bucket(connection, ALICE, "lab", public=True)
    return "lab"


def test_putting_a_new_name_creates_the_object_at_revision_1(connection: sa.Connection, bucket: str) -> None:
    revision = catalog.put_object(
        connection,
        ALICE,
        bucket,
        "clean.sh",
        b"rm -rf $localspace/tmp",
        kind="Script/clean",
        content_type="text/x-sh",
        project_name="Utilities",
        tags=["cleanup", "bash, linux", "cleanup", " "],
        commit_message="first",
    )
    assert (revision.revision, revision.kind, revision.content_type) == (1, "Script/clean", "text/x-sh")
    assert (revision.project_name, revision.tags) == ("Utilities", ("bash", "cleanup", "linux"))
    assert (revision.author, revision.commit_message, revision.builtin, revision.metadata) == (
        "alice",
        "first",
        False,
        None,
    )
    assert catalog.get_object(connection, BOB, bucket, "clean.sh") == revision
    assert catalog.read_raw(connection, BOB, bucket, "clean.sh") == catalog.CatalogContent(
        b"rm -rf $localspace/tmp", "text/x-sh"
    )


def test_a_new_object_needs_a_kind_and_later_revisions_keep_what_is_not_given(
    connection: sa.Connection, bucket: str
) -> None:
    with pytest.raises(InvalidRequestError, match="a kind is needed"):
        catalog.put_object(connection, ALICE, bucket, "s", b"print(1)")
    catalog.put_object(
        connection,
        ALICE,
        bucket,
        "s",
        b"print(1)",
        kind="Script/task",
        content_type="text/x-python",
        tags=["a"],
    )
    second = catalog.put_object(connection, ALICE, bucket, "s", b"print(2)", project_name="P")
    assert (second.revision, second.kind, second.content_type, second.tags) == (
        2,
        "Script/task",
        "text/x-python",
        ("a",),
    )
    third = catalog.put_object(connection, ALICE, bucket, "s", b"print(3)", tags=[], project_name="")
    assert (third.revision, third.tags, third.project_name) == (3, (), None)
    assert catalog.read_raw(connection, ALICE, bucket, "s").data == b"print(3)"
    assert catalog.read_raw(connection, ALICE, bucket, "s", 1).data == b"print(1)"


def test_a_content_type_is_guessed_when_none_was_ever_given(connection: sa.Connection, bucket: str) -> None:
    def content_type(name: str, data: bytes, kind: str) -> str:
        return catalog.put_object(connection, ALICE, bucket, name, data, kind=kind).content_type

    assert content_type("text", b"hello", "Text") == "text/plain"
    assert content_type("blob", b"\xff\xfe\x00", "Binary") == "application/octet-stream"
    assert content_type("wx", WORKFLOW_XML, "Workflow/standard") == "application/xml"
    assert content_type("wy", WORKFLOW_YAML, "Workflow/standard") == "application/yaml"


def test_a_workflow_object_carries_its_metadata_and_project(connection: sa.Connection, bucket: str) -> None:
    revision = catalog.put_object(connection, ALICE, bucket, "Train", WORKFLOW_XML, kind="Workflow/standard")
    assert revision.project_name == "Models"
    assert revision.tags == ("demo", "ml")
    assert revision.metadata is not None
    assert revision.metadata.name == "Train"
    assert revision.metadata.tasks == ("Prepare", "Fit")
    assert revision.metadata.generic_information == {"workflow.icon": "/icons/train.png"}
    epochs = revision.metadata.variables[0]
    assert (epochs.name, epochs.value, epochs.model, epochs.group, epochs.advanced) == (
        "EPOCHS",
        "10",
        "PA:Integer[1,100]",
        "Training",
        True,
    )
    assert catalog.get_object(connection, BOB, bucket, "Train").metadata == revision.metadata
    explicit = catalog.put_object(connection, ALICE, bucket, "Train", WORKFLOW_XML, project_name="Mine")
    assert explicit.project_name == "Mine"


@pytest.mark.parametrize("content", [BROKEN_WORKFLOW, b"", b"\xff\xfe not text", b"<job", b"- a\n- b\n"])
def test_a_malformed_workflow_is_refused_and_nothing_is_stored(
    connection: sa.Connection, bucket: str, content: bytes
) -> None:
    with pytest.raises(WorkflowError) as refused:
        catalog.put_object(connection, ALICE, bucket, "Bad", content, kind="Workflow/psa")
    assert refused.value.problems
    assert all(p.source == "lab/Bad" for p in refused.value.problems)
    with pytest.raises(NotFoundError):
        catalog.get_object(connection, ALICE, bucket, "Bad")
    catalog.put_object(connection, ALICE, bucket, "Good", WORKFLOW_YAML, kind="Workflow/standard")
    with pytest.raises(WorkflowError):
        catalog.put_object(connection, ALICE, bucket, "Good", content)  # the kind kept is a workflow kind
    assert catalog.get_object(connection, ALICE, bucket, "Good").revision == 1


def test_the_broken_workflow_problem_names_the_missing_dependency(
    connection: sa.Connection, bucket: str
) -> None:
    with pytest.raises(WorkflowError, match="Nowhere"):
        catalog.put_object(connection, ALICE, bucket, "Bad", BROKEN_WORKFLOW, kind="Workflow/standard")


def test_only_the_owner_or_an_admin_may_write(connection: sa.Connection, bucket: str) -> None:
    catalog.create_bucket(connection, ALICE, "private")
    with pytest.raises(ForbiddenError):
        catalog.put_object(connection, BOB, bucket, "x", b"x", kind="Text")
    with pytest.raises(NotFoundError):
        catalog.put_object(connection, BOB, "private", "x", b"x", kind="Text")
    assert catalog.put_object(connection, ADMIN, bucket, "x", b"x", kind="Text").author == "root"
    with pytest.raises(ForbiddenError):
        catalog.delete_object(connection, BOB, bucket, "x")
    with pytest.raises(NotFoundError):
        catalog.read_raw(connection, BOB, "private", "x")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "a b"}, "invalid object name"),
        ({"name": ""}, "invalid object name"),
        ({"kind": "Workflow//psa"}, "invalid kind"),
        ({"kind": "/Script"}, "invalid kind"),
        ({"kind": "K" * 256}, "invalid kind"),
        ({"content_type": "text"}, "invalid content type"),
        ({"content_type": "text/plain\r\nX-Evil: 1"}, "invalid content type"),
        ({"project_name": "p\x00"}, "control characters"),
        ({"tags": ["t" * 256]}, "longer than 255"),
        ({"tags": [str(n) for n in range(65)]}, "at most 64"),
        ({"commit_message": "m" * 10_001}, "commit message"),
        ({"commit_message": "nul\x00"}, "NUL"),
    ],
)
def test_bad_values_are_refused(
    connection: sa.Connection, bucket: str, change: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {"name": "obj", "kind": "Script/task", **change}
    name = str(values.pop("name"))
    with pytest.raises(InvalidRequestError, match=message):
        catalog.put_object(connection, ALICE, bucket, name, b"echo", **values)  # type: ignore[arg-type]
    assert catalog.list_objects(connection, ALICE, bucket).total == 0


def test_objects_are_listed_by_name_with_filters_on_their_latest_revision(
    connection: sa.Connection, bucket: str
) -> None:
    put = catalog.put_object
    put(connection, ALICE, bucket, "Train", WORKFLOW_XML, kind="Workflow/standard")
    put(connection, ALICE, bucket, "Greet", WORKFLOW_YAML, kind="Workflow/psa", tags=["demo"])
    put(connection, ALICE, bucket, "pre_script", b"echo", kind="Script/pre", content_type="text/x-sh")
    put(connection, ALICE, bucket, "old", b"echo", kind="Script/task", tags=["demo"])
    put(connection, ALICE, bucket, "old", b"echo", tags=[])  # the latest revision no longer has the tag

    def names(**filters: str) -> list[str]:
        return [r.name for r in catalog.list_objects(connection, BOB, bucket, **filters).items]  # type: ignore[arg-type]

    assert names() == ["Greet", "Train", "old", "pre_script"]
    assert names(kind="Workflow") == ["Greet", "Train"]
    assert names(kind="workflow/PSA") == ["Greet"]
    assert names(kind="Script/") == ["old", "pre_script"]
    assert names(kind="Work") == []
    assert names(tag="demo") == ["Greet", "Train"]
    assert names(content_type="text/x-sh") == ["pre_script"]
    assert names(project_name="Models") == ["Train"]
    assert names(name="*r*") == ["Greet", "Train", "pre_script"]
    assert names(name="pre_*") == ["pre_script"]
    assert names(name="GREET") == ["Greet"]
    assert names(name="%") == []
    latest = catalog.list_objects(connection, BOB, bucket, name="old").items[0]
    assert (latest.revision, latest.tags) == (2, ())


def test_listing_pages(connection: sa.Connection, bucket: str) -> None:
    for n in range(5):
        catalog.put_object(connection, ALICE, bucket, f"o{n}", b"x", kind="Text")
    page = catalog.list_objects(connection, ALICE, bucket, limit=2, offset=3)
    assert ([r.name for r in page.items], page.total) == (["o3", "o4"], 5)
    for limit, offset in [(0, 0), (1001, 0), (10, -1)]:
        with pytest.raises(InvalidRequestError, match="limit"):
            catalog.list_objects(connection, ALICE, bucket, limit=limit, offset=offset)
    with pytest.raises(InvalidRequestError, match="control characters"):
        catalog.list_objects(connection, ALICE, bucket, tag="\x00")


def test_unknown_buckets_and_objects_are_not_found(connection: sa.Connection, bucket: str) -> None:
    with pytest.raises(NotFoundError, match="no bucket 'nowhere'"):
        catalog.list_objects(connection, ALICE, "nowhere")
    with pytest.raises(NotFoundError, match="no object 'ghost' in bucket 'lab'"):
        catalog.get_object(connection, ALICE, bucket, "ghost")
    with pytest.raises(NotFoundError):
        catalog.read_raw(connection, ALICE, bucket, "ghost")
    with pytest.raises(NotFoundError):
        catalog.delete_object(connection, ALICE, bucket, "ghost")


def test_deleting_an_object_deletes_its_revisions(connection: sa.Connection, bucket: str) -> None:
    catalog.put_object(connection, ALICE, bucket, "gone", b"1", kind="Text", tags=["t"])
    catalog.put_object(connection, ALICE, bucket, "gone", b"2")
    catalog.delete_object(connection, ALICE, bucket, "gone")
    with pytest.raises(NotFoundError):
        catalog.list_revisions(connection, ALICE, bucket, "gone")
    again = catalog.put_object(connection, ALICE, bucket, "gone", b"3", kind="Text")
    assert (again.revision, again.tags) == (1, ())

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

import runyard
from catalog.helpers import ADMIN, ALICE, WORKFLOW_YAML
from runyard import catalog
from runyard.errors import ForbiddenError, InvalidRequestError

PACKAGE = Path(runyard.__file__).parent


def test_basic_examples_are_loaded_once_as_a_public_bucket(connection: sa.Connection) -> None:
    written = catalog.load_builtin_buckets(connection)
    assert sorted(w for w in written if w.startswith("basic-examples/")) == [
        "basic-examples/Branch",
        "basic-examples/Hello",
        "basic-examples/Loop",
        "basic-examples/Native_Task_Linux",
        "basic-examples/Replicate",
    ]
    bucket = catalog.get_bucket(connection, ALICE, "basic-examples")
    assert (bucket.owner, bucket.public, bucket.object_count) == (catalog.BUILTIN_OWNER, True, 5)
    hello = catalog.get_object(connection, ALICE, "basic-examples", "Hello")
    assert (hello.kind, hello.content_type, hello.author, hello.builtin) == (
        "Workflow/standard",
        "application/yaml",
        catalog.BUILTIN_OWNER,
        True,
    )
    assert hello.metadata is not None and hello.metadata.variables[0].model == "PA:NOT_EMPTY_STRING"
    assert catalog.load_builtin_buckets(connection) == []
    assert catalog.get_object(connection, ALICE, "basic-examples", "Hello").revision == 1


def test_the_basic_examples_are_the_engines_examples() -> None:
    index = json.loads((PACKAGE / "buckets/basic-examples/METADATA.json").read_text())
    shipped = {entry["file"] for entry in index["objects"]}
    assert shipped == {path.name for path in (PACKAGE / "examples").iterdir()}
    for name in shipped:
        assert (PACKAGE / "buckets/basic-examples" / name).read_bytes() == (
            PACKAGE / "examples" / name
        ).read_bytes()


def test_a_builtin_bucket_is_only_writable_by_admins(connection: sa.Connection) -> None:
    catalog.load_builtin_buckets(connection)
    with pytest.raises(ForbiddenError):
        catalog.put_object(connection, ALICE, "basic-examples", "Hello", WORKFLOW_YAML)


def _ship(root: Path, content: bytes, *, kind: str = "Workflow/standard") -> None:
    folder = root / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "greet.yaml").write_bytes(content)
    index = {
        "public": False,
        "objects": [{"name": "Greet", "file": "greet.yaml", "kind": kind, "tags": ["x"]}],
    }
    (folder / "METADATA.json").write_text(json.dumps(index))


def test_a_new_release_replaces_builtin_revisions_but_never_a_users(
    connection: sa.Connection, tmp_path: Path
) -> None:
    _ship(tmp_path, WORKFLOW_YAML)
    assert catalog.load_builtin_buckets(connection, tmp_path) == ["demo/Greet"]
    assert catalog.get_bucket(connection, ADMIN, "demo").public is False

    _ship(tmp_path, WORKFLOW_YAML.replace(b"world", b"release 2"))
    assert catalog.load_builtin_buckets(connection, tmp_path) == ["demo/Greet"]
    latest = catalog.get_object(connection, ADMIN, "demo", "Greet")
    assert (latest.revision, latest.builtin, latest.tags) == (2, True, ("x",))
    assert catalog.load_builtin_buckets(connection, tmp_path) == []

    _ship(tmp_path, WORKFLOW_YAML, kind="Workflow/psa")  # the index alone changed
    assert catalog.load_builtin_buckets(connection, tmp_path) == ["demo/Greet"]

    catalog.put_object(connection, ADMIN, "demo", "Greet", WORKFLOW_YAML.replace(b"world", b"mine"))
    _ship(tmp_path, WORKFLOW_YAML.replace(b"world", b"release 3"))
    assert catalog.load_builtin_buckets(connection, tmp_path) == []
    kept = catalog.get_object(connection, ADMIN, "demo", "Greet")
    assert (kept.revision, kept.author, kept.builtin) == (4, "root", False)
    assert b"mine" in catalog.read_raw(connection, ADMIN, "demo", "Greet").data


def test_a_deleted_builtin_object_comes_back(connection: sa.Connection, tmp_path: Path) -> None:
    _ship(tmp_path, WORKFLOW_YAML)
    catalog.load_builtin_buckets(connection, tmp_path)
    catalog.delete_object(connection, ADMIN, "demo", "Greet")
    assert catalog.load_builtin_buckets(connection, tmp_path) == ["demo/Greet"]


def test_a_broken_index_is_reported(connection: sa.Connection, tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "METADATA.json").write_text('{"objects": [{"name": "x"}]}')
    with pytest.raises(InvalidRequestError, match=r"demo/METADATA\.json"):
        catalog.load_builtin_buckets(connection, tmp_path)

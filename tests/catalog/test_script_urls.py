from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.helpers import ALICE
from runyard import catalog
from runyard.errors import NotFoundError, ScriptError

BASE = "http://127.0.0.1:8080/api/v1/catalog"


@pytest.fixture
def stored(connection: sa.Connection) -> None:
    catalog.create_bucket(connection, ALICE, "scripts")
    catalog.put_object(connection, ALICE, "scripts", "pre.py", b"print('one')", kind="Script/pre")
    catalog.put_object(connection, ALICE, "scripts", "pre.py", b"print('two')")
    catalog.put_object(connection, ALICE, "scripts", "blob", b"\xff\xfe", kind="Binary")


def resolve(connection: sa.Connection, url: str, owner: str = "alice", admin: bool = False) -> str | None:
    return catalog.resolve_script_url(connection, BASE, url, owner, admin)


@pytest.mark.usefixtures("stored")
def test_catalog_raw_urls_resolve_to_the_text_the_owner_may_read(connection: sa.Connection) -> None:
    assert resolve(connection, f"{BASE}/buckets/scripts/resources/pre.py/raw") == "print('two')"
    assert resolve(connection, f"{BASE}/buckets/scripts/resources/pre.py/revisions/1/raw") == "print('one')"
    assert resolve(connection, f"{BASE}/buckets/scripts/resources/pre%2Epy/raw") == "print('two')"
    assert resolve(connection, f"{BASE}/buckets/scripts/resources/pre.py/raw", "root", True) == "print('two')"
    with pytest.raises(NotFoundError, match="no bucket"):
        resolve(connection, f"{BASE}/buckets/scripts/resources/pre.py/raw", "bob")


@pytest.mark.parametrize(
    "url",
    [
        "http://elsewhere:8080/api/v1/catalog/buckets/scripts/resources/pre.py/raw",
        "https://127.0.0.1:8080/api/v1/catalog/buckets/scripts/resources/pre.py/raw",
        "http://127.0.0.1:8080/api/v1/catalogue/buckets/scripts/resources/pre.py/raw",
        f"{BASE}/buckets/scripts/resources/pre.py",
        f"{BASE}/buckets/scripts/resources/pre.py/revisions",
        f"{BASE}/buckets",
        "file:///tmp/pre.py",
        "pre.py",
    ],
)
@pytest.mark.usefixtures("stored")
def test_other_urls_are_left_to_the_node(connection: sa.Connection, url: str) -> None:
    assert resolve(connection, url) is None


@pytest.mark.parametrize(
    "path",
    [
        "buckets/scripts/resources/ghost/raw",
        "buckets/nowhere/resources/pre.py/raw",
        "buckets/scripts/resources/pre.py/revisions/3/raw",
        "buckets/scripts/resources/pre.py/revisions/x/raw",
        "buckets/scripts/resources/bad%20name/raw",
    ],
)
@pytest.mark.usefixtures("stored")
def test_catalog_urls_naming_nothing_are_not_found(connection: sa.Connection, path: str) -> None:
    with pytest.raises(NotFoundError):
        resolve(connection, f"{BASE}/{path}")


@pytest.mark.usefixtures("stored")
def test_binary_content_is_no_script(connection: sa.Connection) -> None:
    with pytest.raises(ScriptError, match="not UTF-8"):
        resolve(connection, f"{BASE}/buckets/scripts/resources/blob/raw")


def test_without_a_catalog_url_nothing_resolves(connection: sa.Connection) -> None:
    assert (
        catalog.resolve_script_url(connection, "", f"{BASE}/buckets/s/resources/p/raw", "alice", False)
        is None
    )

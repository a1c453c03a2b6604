"""Where a visitor lands without a token: ``/``, the API's root, and the API docs working offline."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from runyard import __version__
from support.server import LiveServer, live_server


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The store is not what these tests are about: SQLite only."""
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


def test_without_the_portal_the_root_is_a_page_linking_the_api_docs(sqlite_server: LiveServer) -> None:
    page = httpx.get(f"{sqlite_server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'href="/api/v1/docs"' in page.text and 'href="/api/v1/openapi.json"' in page.text
    assert __version__ in page.text and "without its web portal" in page.text
    assert re.search(r"(?:src|href)=\"(?:https?:)?//", page.text) is None


@pytest.mark.parametrize("path", ["/api/v1", "/api/v1/"])
def test_the_api_root_tells_where_the_docs_are(sqlite_server: LiveServer, path: str) -> None:
    answer = httpx.get(sqlite_server.url + path)
    assert answer.status_code == 200
    assert answer.json() == {
        "name": "runyard",
        "version": __version__,
        "api": "/api/v1",
        "docs": "/api/v1/docs",
        "openapi": "/api/v1/openapi.json",
    }


def test_the_landing_routes_stay_out_of_the_openapi_document(sqlite_server: LiveServer) -> None:
    schema = httpx.get(f"{sqlite_server.api}/openapi.json")
    assert schema.status_code == 200 and schema.json()["info"]["version"] == __version__
    assert not {"/", "/api/v1", "/api/v1/", "/docs", "/docs/start.js"} & set(schema.json()["paths"])


def test_the_api_docs_load_nothing_from_elsewhere(sqlite_server: LiveServer) -> None:
    page = httpx.get(f"{sqlite_server.api}/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy  # no inline script
    assert re.search(r"https?://|//", page.text) is None
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    kinds = {"swagger-ui.css": "text/css", ".js": "javascript", ".png": "image/png"}
    assert {kind for kind in kinds if any(r.endswith(kind) for r in references)} == set(kinds)
    for reference in references:
        assert reference.startswith("/api/v1/docs/"), reference
        answer = httpx.get(sqlite_server.url + reference)
        assert answer.status_code == 200, reference
        assert answer.content
        expected = next(value for kind, value in kinds.items() if reference.endswith(kind))
        assert expected in answer.headers["content-type"], (reference, answer.headers["content-type"])
    start = httpx.get(f"{sqlite_server.api}/docs/start.js").text
    assert '"url": "/api/v1/openapi.json"' in start and '"validatorUrl": null' in start


def test_the_redoc_page_is_off(sqlite_server: LiveServer) -> None:
    assert httpx.get(f"{sqlite_server.api}/redoc").status_code == 404
    assert httpx.get(f"{sqlite_server.url}/redoc").status_code == 404

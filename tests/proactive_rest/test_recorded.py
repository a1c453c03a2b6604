"""Recorded request/response pairs (``recorded/*.json``), built from ProActive's REST interface and DTOs
(``SchedulerRestInterface``, ``JobStateData``, ``JobInfoData``, ``TaskStateData``, ``TaskResultData``,
``JobResultData``, ``UserJobData``, ``RestPage``, ``ExceptionToJson``, ``RMState``), replayed on a server.

Each file holds the request (``{job}``, ``{session}`` and the like filled in from the context below),
the status, and the JSON shape: every field ProActive's DTO has, no other, with placeholders for what
varies (``<int>``, ``<time>`` epoch milliseconds, ``<str>``, ``<str?>`` a string or null, ``<any>``),
or the text (``<regex>…`` for a pattern).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from proactive_rest.conftest import RECORDED, ProActiveSession
from support.server import PASSWORD, LiveServer, backend_server

FILES = sorted(RECORDED.glob("*.json"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Both backends: the listings' filters and pages are the store's queries."""
    with backend_server(request, tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture(scope="module")
def context(server: LiveServer, sessions: list[ProActiveSession]) -> dict[str, str]:
    """A finished job of the first user (its only one), a job of the second user."""
    owner, other = sessions
    job = owner.submit(who="recorded", origin="recorded")
    assert owner.wait(job)["status"] == "FINISHED"
    other_job = other.submit()
    other.wait(other_job)
    return {
        "user": owner.name,
        "password": PASSWORD,
        "session": owner.session_id,
        "job": str(job),
        "other_job": str(other_job),
        "other_session": other.session_id,
    }


def fill(text: str, context: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: context.get(m.group(1), m.group(0)), text)


def mismatches(expected: Any, actual: Any, context: dict[str, str], where: str = "") -> list[str]:
    """Where ``actual`` differs from the recorded shape ``expected``."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        if set(expected) != set(actual):
            return [f"{where}: fields {sorted(set(actual) ^ set(expected))} differ"]
        return [
            m for key in expected for m in mismatches(expected[key], actual[key], context, f"{where}.{key}")
        ]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"]
        return [m for i, e in enumerate(expected) for m in mismatches(e, actual[i], context, f"{where}[{i}]")]
    if isinstance(expected, str) and expected.startswith("<"):
        checks: dict[str, Callable[[Any], bool]] = {
            "<any>": lambda v: True,
            "<int>": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "<time>": lambda v: isinstance(v, int) and v > 1_500_000_000_000,
            "<str>": lambda v: isinstance(v, str),
            "<str?>": lambda v: v is None or isinstance(v, str),
        }
        return [] if checks[expected](actual) else [f"{where}: {actual!r} is not {expected}"]
    if isinstance(expected, str):
        filled: Any = fill(expected.removesuffix(":int"), context)
        if expected.endswith(":int"):
            filled = int(filled)
        return [] if filled == actual else [f"{where}: expected {filled!r}, got {actual!r}"]
    return (
        []
        if expected == actual and type(expected) is type(actual)
        else [f"{where}: {expected!r} != {actual!r}"]
    )


def _files(spec: dict[str, Any], context: dict[str, str]) -> list[tuple[str, Any]]:
    """Multipart parts: ``file`` (a file of ``recorded/``) or ``content``; ``unnamed``: no file name, as
    ProActive's Java client sends them."""
    parts = []
    for name, part in spec.items():
        content = (RECORDED / part["file"]).read_bytes() if "file" in part else fill(part["content"], context)
        filename = None if part.get("unnamed") else f"{name}.xml"
        parts.append((name, (filename, content, part["type"])))
    return parts


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_recorded_exchange(path: Path, server: LiveServer, context: dict[str, str]) -> None:
    recorded = json.loads(path.read_text())
    request = recorded["request"]
    answer = httpx.request(
        request["method"],
        server.url + fill(request["path"], context),
        headers={k: fill(v, context) for k, v in request["headers"].items()},
        data={k: fill(v, context) for k, v in request.get("form", {}).items()} or None,
        files=_files(request["files"], context) if "files" in request else None,
        json=json.loads(fill(json.dumps(request["json"]), context)) if "json" in request else None,
        timeout=30,
    )
    assert answer.status_code == recorded["status"], answer.text
    if "json" in recorded:
        assert answer.headers["content-type"].startswith("application/json")
        assert mismatches(recorded["json"], answer.json(), context) == []
    if "text" in recorded:
        expected = fill(recorded["text"], context)
        if expected.startswith("<regex>"):
            assert re.fullmatch(expected.removeprefix("<regex>"), answer.text), answer.text
        else:
            assert answer.text == expected

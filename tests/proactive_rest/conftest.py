"""A live server per test module (SQLite) and ProActive sessions on it: what ProActive's clients see."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.server import PASSWORD, LiveServer, live_server

RECORDED = Path(__file__).parent / "recorded"
HELLO = (RECORDED / "hello.xml").read_text()
SLEEPER = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Sleeper">
  <taskFlow>
    <task name="Nap"><scriptExecutable><script><code language="cpython">
import time; time.sleep(60)
</code></script></scriptExecutable></task>
  </taskFlow>
</job>"""


def error_of(answer: httpx.Response, status: int, exception: str) -> str:
    """The message of ProActive's ``ExceptionToJson`` (checked: status, fields, class, no stack trace)."""
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"httpErrorCode", "errorMessage", "stackTrace", "exceptionClass"}
    assert body["httpErrorCode"] == status and body["stackTrace"] is None
    assert body["exceptionClass"].endswith(exception), body
    message: str = body["errorMessage"]
    return message


_names = itertools.count(1)


@dataclass
class ProActiveSession:
    """A user logged in through ``POST /rest/scheduler/login``; ``client`` sends the ``sessionid`` header."""

    name: str
    session_id: str
    client: httpx.Client

    def submit(self, workflow: str = HELLO, who: str | None = "world", **generic_information: str) -> int:
        """Submit ``workflow`` (``WHO`` as a matrix parameter unless None) with generic information."""
        answer = self.client.post(
            "/rest/scheduler/submit" if who is None else f"/rest/scheduler/submit;WHO={who}",
            params=generic_information,
            files={"file": ("job.xml", workflow, "application/xml")},
        )
        assert answer.status_code == 200, answer.text
        job_id: int = answer.json()["id"]
        return job_id

    def wait(self, job_id: int, timeout: float = 60) -> dict[str, Any]:
        """``JobInfoData`` once the job has ended (ProActive's clients poll: so do we)."""
        deadline = time.monotonic() + timeout
        while True:
            info: dict[str, Any] = self.client.get(f"/rest/scheduler/jobs/{job_id}/info").json()
            if info["status"] not in ("PENDING", "RUNNING", "STALLED", "PAUSED", "IN_ERROR"):
                return info
            assert time.monotonic() < deadline, f"job {job_id} still {info['status']}"
            time.sleep(0.05)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the package (modules make their own users)."""
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


def proactive_login(server: LiveServer, name: str, password: str = PASSWORD) -> str:
    answer = httpx.post(f"{server.url}/rest/scheduler/login", data={"username": name, "password": password})
    assert answer.status_code == 200, answer.text
    return answer.text


@pytest.fixture(scope="module")
def sessions(server: LiveServer) -> Iterator[list[ProActiveSession]]:
    """Two users, each with a ProActive session (module-wide: tests make their own jobs)."""
    made = []
    for _ in range(2):
        name, _token = server.new_user(prefix=f"pa{next(_names)}x")
        session_id = proactive_login(server, name)
        client = httpx.Client(base_url=server.url, headers={"sessionid": session_id}, timeout=30)
        made.append(ProActiveSession(name, session_id, client))
    yield made
    for session in made:
        session.client.close()

"""Property-based fuzzing of every operation of the OpenAPI document: no input gives a 5xx.

Schemathesis generates valid and invalid requests from ``/api/v1/openapi.json`` and sends them to a
live server with an admin token (the widest reach). Left out: logging out (it would end the token)
and the event streams (they never end by design; ``test_events.py`` covers them).
Every operation is tried; the failures of all of them are reported together.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from support.server import LiveServer

MAX_EXAMPLES = 15
SKIPPED = {
    ("DELETE", "/api/v1/sessions/current"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/jobs/{job_id}/events"),
}


@pytest.mark.timeout(600)  # ~20 s on a quiet machine; hundreds of requests on a loaded one
def test_no_input_gives_a_server_error(server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.api}/openapi.json")
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"the OpenAPI document has an invalid operation: {result.err()}")
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        tried += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,  # the same requests every run: a failure in CI reproduces
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call(base_url=server.url, headers=headers, timeout=30)
            where = f"{case.method} {case.formatted_path} {case.query or ''}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400 and response.headers.get("content-type") == "application/json":
                assert set(response.json()) == {"error", "message", "details"}, f"{where}: {response.text}"

        try:
            check()
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
    assert tried >= 30
    assert not failures, "\n".join(failures)

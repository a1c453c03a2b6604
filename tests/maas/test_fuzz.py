"""Property-based fuzzing of both servers' OpenAPI operations: no input gives a 5xx, every refusal is
``{"error": …}``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from maas.live import MASTER, Live, live
from runyard.maas.dl_server import create_app
from runyard.maas.settings import DLSettings

MAX_EXAMPLES = 10


def fuzz(server: Live, headers: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}api/openapi.json")
    origin = server.url.split("/", 3)[:3]
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"invalid operation in the OpenAPI document: {result.err()}"
        operation = result.ok()
        tried += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call(base_url="/".join(origin), headers=headers, timeout=30)
            where = f"{case.method} {case.formatted_path} {case.query or ''}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400:
                assert set(response.json()) == {"error"}, f"{where}: {response.text[:300]}"

        try:
            check()
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
    assert tried >= 10
    assert not failures, "\n".join(failures)


@pytest.mark.timeout(300)
def test_maas_ml_gives_no_server_error(ml: Live, user: dict[str, str]) -> None:
    fuzz(ml, user)


@pytest.mark.timeout(300)
def test_maas_dl_gives_no_server_error(tmp_path: Path) -> None:
    config = DLSettings(
        state_dir=tmp_path / "state", master_token=MASTER, model_base_path=tmp_path / "models"
    )
    with live(create_app(config)) as server:
        fuzz(server, {"Authorization": f"Bearer {server.token()}"})

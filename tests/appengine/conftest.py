"""The App Engine's tests: Cytomine's corpus (bundles, feature files, schema) and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import LiveServer, live_server

#: Cytomine's files, read where they are (never copied into the project).
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "app-engine"
BUNDLES = CORPUS / "bundles"
FEATURES = CORPUS / "features"

#: The App Engine's uploads limit of the servers here (``app_engine_max_upload_bytes``): twice the
#: rest of the API's (``max_body_bytes``, 16 MiB), small enough to be passed in a test.
UPLOAD_LIMIT = 32 * 2**20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of the module's tests (SQLite)."""
    with live_server(tmp_path_factory.mktemp("server"), app_engine_max_upload_bytes=UPLOAD_LIMIT) as started:
        yield started


def pytest_configure(config: pytest.Config) -> None:
    # run.feature tags its scenarios @Scheduler (upstream runs them with its scheduler): a known mark
    config.addinivalue_line("markers", "Scheduler: a scenario of Cytomine's run.feature (its @Scheduler tag)")

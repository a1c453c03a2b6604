"""Models trained once per session, and MaaS_ML servers on a real uvicorn per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maas import models
from maas.live import MASTER, Live, live
from runyard.maas.ml_server import create_app
from runyard.maas.settings import MLSettings

BASE = "/api/v1/service-instances/7/endpoints/maas-ml-gui/"


@pytest.fixture(scope="session")
def iris() -> models.Iris:
    return models.iris()


@pytest.fixture(scope="session")
def digits() -> models.Digits:
    return models.digits()


@pytest.fixture(scope="module")
def ml(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A MaaS_ML server under a proxied base path, with drift detection on."""
    settings = MLSettings(state_dir=Path(tmp_path_factory.mktemp("ml")), master_token=MASTER, base_path=BASE)
    with live(create_app(settings), BASE) as server:
        yield server


@pytest.fixture(scope="module")
def user(ml: Live) -> dict[str, str]:
    """Headers with a user token of the module's server."""
    return {"Authorization": f"Bearer {ml.token('alice')}"}

"""MaaS_DL over real HTTP: ONNX versions saved and served, rollback under load, the model configuration."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from maas import models
from maas.live import MASTER, Live, bearer, live
from runyard.maas.dl_server import create_app
from runyard.maas.settings import DLSettings


@pytest.fixture(scope="module")
def base_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("dl-state"))


@pytest.fixture(scope="module")
def dl(base_path: Path, state_dir: Path) -> Iterator[Live]:
    settings = DLSettings(state_dir=state_dir, master_token=MASTER, model_base_path=base_path, refresh=0.2)
    with live(create_app(settings)) as server:
        yield server


@pytest.fixture(scope="module")
def headers(dl: Live) -> dict[str, str]:
    return bearer(dl.token())


@pytest.fixture(scope="module")
def onnx_versions(digits: models.Digits) -> list[bytes]:
    return [models.onnx_bytes(model, 64) for model in digits.versions]


def deploy(dl: Live, headers: dict[str, str], name: str, data: bytes, **fields: Any) -> Any:
    files = {"model_file": ("model.onnx", data)}
    return dl.client.post(
        f"{dl.url}api/deploy", headers=headers, files=files, data={"model_name": name, **fields}
    )


def predict(dl: Live, headers: dict[str, str], name: str, instances: Any, **extra: Any) -> Any:
    body = {"model_name": name, "instances": instances, **extra}
    return dl.client.post(f"{dl.url}api/predict", headers=headers, json=body)


def test_deploy_versions_and_predict(
    dl: Live, headers: dict[str, str], digits: models.Digits, onnx_versions: list[bytes], base_path: Path
) -> None:
    assert deploy(dl, headers, "mnist", onnx_versions[0]).json()["model_version"] == 1
    assert (base_path / "mnist" / "1" / "model.onnx").exists()
    images = digits.images[:40]
    first = predict(dl, headers, "mnist", images.tolist())
    assert first.status_code == 200, first.text
    assert first.json()["predictions"] == digits.versions[0].predict(images).tolist()
    assert deploy(dl, headers, "mnist", onnx_versions[1], append="false").json()["model_version"] == 2
    second = predict(dl, headers, "mnist", images.tolist()).json()
    assert (second["model_version"], second["predictions"]) == (
        2,
        digits.versions[1].predict(images).tolist(),
    )
    assert predict(dl, headers, "mnist", images.tolist(), model_version=1).status_code == 404
    served = dl.client.get(f"{dl.url}api/list_deployed_models", headers=headers).json()["model_config_list"]
    assert [(e["name"], e["versions"], e["default_version"]) for e in served] == [("mnist", [2], 2)]
    saved = dl.client.get(f"{dl.url}api/list_saved_models", headers=headers).json()["models"]
    assert {"model_name": "mnist", "versions": [1, 2]} in saved
    # Rows as MaaS_ML takes them work too.
    rows = {"columns": [f"p{i}" for i in range(64)], "rows": images[:3].tolist()}
    as_rows = dl.client.post(
        f"{dl.url}api/predict", headers=headers, json={"model_name": "mnist", "data": rows}
    )
    assert as_rows.json()["predictions"] == second["predictions"][:3]


def test_rollback_under_load_loses_no_request(
    dl: Live, headers: dict[str, str], digits: models.Digits, onnx_versions: list[bytes]
) -> None:
    images = digits.images[:50]
    expected = {i + 1: model.predict(images).tolist() for i, model in enumerate(digits.versions)}
    assert expected[1] != expected[2]
    assert deploy(dl, headers, "rollback", onnx_versions[0]).status_code == 200
    seen: list[tuple[int, int, bool]] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                answer = client.post(
                    f"{dl.url}api/predict",
                    headers=headers,
                    json={"model_name": "rollback", "instances": images.tolist()},
                )
                body = answer.json() if answer.status_code == 200 else {}
                version = body.get("model_version", 0)
                seen.append((answer.status_code, version, body.get("predictions") == expected.get(version)))

    sender = threading.Thread(target=load)

    def answered_by(version: int, count: int = 5) -> None:
        """Wait until the last ``count`` answers came from ``version``."""
        deadline = time.monotonic() + 30
        while [v for _, v, _ in seen[-count:]] != [version] * count:
            assert time.monotonic() < deadline and sender.is_alive(), seen[-count:]
            time.sleep(0.02)

    sender.start()
    try:
        answered_by(1)
        assert deploy(dl, headers, "rollback", onnx_versions[1], append="false").status_code == 200
        answered_by(2)
        form = {"model_name": "rollback", "model_version": 1}
        assert dl.client.post(f"{dl.url}api/redeploy", headers=headers, data=form).status_code == 200
        answered_by(1)
    finally:
        stop.set()
        sender.join()
    assert len(seen) > 10
    assert all(status == 200 and right for status, _, right in seen), [s for s in seen if s[0] != 200][:3]
    versions = [version for _, version, _ in seen]
    switches = [v for i, v in enumerate(versions) if i == 0 or v != versions[i - 1]]
    assert switches == [1, 2, 1]
    served = dl.client.get(f"{dl.url}api/download_model_config", headers=headers).json()["model_config_list"]
    rollback = next(e for e in served if e["name"] == "rollback")
    assert (rollback["versions"], rollback["default_version"]) == ([1, 2], 1)  # redeploy appends by default


def test_undeploy_and_clean_never_removes_served(
    dl: Live, headers: dict[str, str], onnx_versions: list[bytes], base_path: Path
) -> None:
    for data in onnx_versions + onnx_versions[:1]:
        assert deploy(dl, headers, "cleaned", data, append="true").status_code == 200
    undeployed = dl.client.post(
        f"{dl.url}api/undeploy", headers=headers, json={"model_name": "cleaned", "model_version": 2}
    )
    assert undeployed.status_code == 200
    cleaned = dl.client.post(
        f"{dl.url}api/clean_saved_models", headers=headers, data={"model_name": "cleaned"}
    )
    assert cleaned.json()["removed"] == [{"model_name": "cleaned", "model_version": 2}]
    assert sorted(p.name for p in (base_path / "cleaned").iterdir()) == ["1", "3"]
    assert predict(dl, headers, "cleaned", np.zeros((1, 64)).tolist(), model_version=3).status_code == 200
    again = dl.client.post(
        f"{dl.url}api/undeploy", headers=headers, data={"model_name": "cleaned", "model_version": 2}
    )
    assert again.status_code == 404
    gone = dl.client.post(
        f"{dl.url}api/redeploy", headers=headers, data={"model_name": "cleaned", "model_version": 2}
    )
    assert gone.status_code == 404


def test_model_config_upload_download_and_refresh(
    dl: Live, headers: dict[str, str], onnx_versions: list[bytes], base_path: Path, state_dir: Path
) -> None:
    deploy(dl, headers, "configured", onnx_versions[0])
    deploy(dl, headers, "configured", onnx_versions[1], append="false")
    config = {"model_config_list": [{"name": "configured", "versions": [1, 2], "default_version": 1}]}
    uploaded = dl.client.post(f"{dl.url}api/upload_model_config", headers=headers, content=json.dumps(config))
    assert uploaded.status_code == 200, uploaded.text
    entry = next(e for e in uploaded.json()["model_config_list"] if e["name"] == "configured")
    assert entry == {
        "name": "configured",
        "base_path": str(base_path.resolve() / "configured"),
        "versions": [1, 2],
        "default_version": 1,
    }
    assert predict(dl, headers, "configured", np.zeros((1, 64)).tolist()).json()["model_version"] == 1
    yaml_config = b"model_config_list:\n  - name: configured\n    versions: [2]\n"
    files = {"model_config": ("config.yaml", yaml_config)}
    assert dl.client.post(f"{dl.url}api/upload_model_config", headers=headers, files=files).status_code == 200
    served = dl.client.get(f"{dl.url}api/download_model_config", headers=headers).json()["model_config_list"]
    assert [e["name"] for e in served] == ["configured"]  # the configuration lists every served model
    for bad, status in [
        ({"model_config_list": [{"name": "configured", "versions": [7]}]}, 404),
        ({"model_config_list": [{"name": "configured", "versions": [1], "base_path": "/etc"}]}, 400),
        ({"model_config_list": [{"name": "../etc", "versions": [1]}]}, 400),
        ({"models": []}, 400),
    ]:
        refused = dl.client.post(f"{dl.url}api/upload_model_config", headers=headers, content=json.dumps(bad))
        assert refused.status_code == status, refused.text
    assert (
        dl.client.get(f"{dl.url}api/download_model_config", headers=headers).json()["model_config_list"]
        == served
    )
    # Edited on disk, the configuration is served within a refresh period.
    on_disk = {"model_config_list": [{"name": "configured", "versions": [1, 2], "default_version": 2}]}
    (state_dir / "model_config.json").write_text(json.dumps(on_disk))
    deadline = time.monotonic() + 10
    while (
        dl.client.get(f"{dl.url}api/download_model_config", headers=headers).json()["model_config_list"]
        == served
    ):
        assert time.monotonic() < deadline, "the configuration was not re-read"
        time.sleep(0.1)
    assert predict(dl, headers, "configured", np.zeros((1, 64)).tolist(), model_version=1).status_code == 200


def test_refusals(dl: Live, headers: dict[str, str], onnx_versions: list[bytes]) -> None:
    assert deploy(dl, {}, "refused", onnx_versions[0]).status_code == 401
    assert deploy(dl, bearer("nope"), "refused", onnx_versions[0]).status_code == 401
    assert deploy(dl, headers, "refused", models.pickled([1, 2])).status_code == 400
    assert deploy(dl, headers, "refused", b"plain text").status_code == 400
    assert deploy(dl, headers, "../refused", onnx_versions[0]).status_code == 400
    saved = dl.client.get(f"{dl.url}api/list_saved_models", headers=headers).json()["models"]
    assert "refused" not in [m["model_name"] for m in saved]
    deploy(dl, headers, "shape", onnx_versions[0])
    wrong = predict(dl, headers, "shape", [[1.0, 2.0]])
    assert wrong.status_code == 400 and "shape" in wrong.json()["error"]
    ragged = predict(dl, headers, "shape", [[1.0] * 64, [1.0]])
    assert ragged.status_code == 400
    assert predict(dl, headers, "missing", [[1.0] * 64]).status_code == 404
    page = dl.client.get(dl.url, params={"token": headers["Authorization"].removeprefix("Bearer ")})
    assert page.status_code == 200 and "Served models" in page.text
    dl.client.cookies.clear()

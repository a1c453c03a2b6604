"""The two programs as real processes: the startup line, SIGTERM, a restart keeping models and tokens,
HTTPS with the certificate made in the state folder, and a missing master token."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from maas import models
from maas.live import MASTER, bearer
from support.server_process import free_port

BASE = "/api/v1/service-instances/9/endpoints/maas-ml-gui/"


@contextmanager
def program(module: str, *arguments: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """Run ``module``; yield its startup line and URL (from that line); SIGTERM it at the end."""
    environment = {**os.environ, "MAAS_MASTER_TOKEN": MASTER, **(env or {})}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line, process.communicate(timeout=30)
        yield line, line.rsplit(" ", 1)[1]
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def test_a_restart_keeps_models_and_tokens(tmp_path: Path, iris: models.Iris) -> None:
    state = tmp_path / "state"
    arguments = ("--state-dir", str(state), "--base-path", BASE, "--no-drift", "--instance-name", "maas-ml-1")
    rows = {"columns": iris.columns, "rows": iris.rows(5)}
    with program("runyard.maas.ml_server", *arguments) as (line, url):
        assert line.startswith("MaaS_ML listening on http://127.0.0.1:") and url.endswith(BASE)
        token = httpx.post(f"{url}api/get_token", headers=bearer(MASTER), data={"user": "eve"}).json()[
            "token"
        ]
        files = {"model_file": ("model.joblib", models.pickled(iris.model))}
        deployed = httpx.post(
            f"{url}api/deploy", headers=bearer(token), files=files, data={"model_name": "iris"}
        )
        assert deployed.status_code == 200, deployed.text
        before = httpx.post(
            f"{url}api/predict", headers=bearer(token), json={"model_name": "iris", "data": rows}
        )
        assert before.json()["drift"] is None
    assert (state / "trace.jsonl").read_text().count('"action": "predict"') == 1  # flushed on SIGTERM
    assert token not in (state / "tokens.json").read_text()  # kept hashed
    with program("runyard.maas.ml_server", *arguments) as (_, url):
        after = httpx.post(
            f"{url}api/predict", headers=bearer(token), json={"model_name": "iris", "data": rows}
        )
        assert after.status_code == 200, after.text
        assert after.json()["predictions"] == before.json()["predictions"]
        trace = httpx.get(f"{url}api/trace", headers=bearer(token)).json()["trace"]
        assert [e["action"] for e in trace] == ["predict", "predict", "deploy", "get_token"]


def test_https_with_a_self_signed_certificate(tmp_path: Path) -> None:
    arguments = ("--state-dir", str(tmp_path), "--model-base-path", str(tmp_path / "models"), "--https")
    with program("runyard.maas.dl_server", *arguments) as (line, url):
        assert line.startswith("MaaS_DL listening on https://")
        context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "cert.pem"))
        assert httpx.get(f"{url}api/health", verify=context).json()["status"] == "ok"


@pytest.mark.parametrize("token", [None, "short"])
def test_the_master_token_is_required(tmp_path: Path, token: str | None) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "MAAS_MASTER_TOKEN"}
    if token is not None:
        environment["MAAS_MASTER_TOKEN"] = token
    arguments = ["--host", "127.0.0.1", "--port", "0", "--state-dir", str(tmp_path)]
    ended = subprocess.run(
        [sys.executable, "-m", "runyard.maas.ml_server", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ended.returncode == 2
    assert "MAAS_MASTER_TOKEN" in ended.stderr

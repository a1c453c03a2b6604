"""Model serving benchmark: the same iris model served by MaaS_ML (runyard.maas.ml_server), by
``mlflow models serve`` and by a bare FastAPI app, side by side in one run.

The model is a scikit-learn ``LogisticRegression`` fitted on the iris data frame (feature names, as the
machine-learning library fits them), saved once as joblib (MaaS_ML, FastAPI) and as an MLflow model (MLflow,
same scikit-learn version). Each server is a process of its own on 127.0.0.1; the client is this process:

- **single row**: 1,000 sequential ``predict`` requests of one row on one keep-alive connection, p50/p95;
- **throughput**: 8 connections (threads, each its own keep-alive client) sending single-row requests
  for ``--seconds`` seconds, requests per second.

MaaS_ML is measured with drift detection off (the target) and on (detector ADWIN, its cost per request
reported). MLflow is installed by this benchmark in a venv of its own (``--mlflow-venv``, by default
/opt/runyard/mlflow, built once per machine). Targets: MaaS_ML p50 <= 1 ms and >= 3x MLflow's throughput,
drift off. Usage::

    .venv/bin/python bench/serving.py [--requests 1000] [--seconds 5] [--mlflow-venv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from report import load_line, ms, print_table, verdict

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from support.server_process import free_port

MLFLOW = "mlflow==3.17.2"
MASTER = "bench-master-token-0123456789"
CONNECTIONS = 8
FASTAPI_APP = """
import json
import os
import re
import shutil
import joblib
import pandas as pd
from fastapi import FastAPI, Request

model = joblib.load(os.environ["BENCH_MODEL"])
app = FastAPI()

@app.post("/predict")
async def predict(request: Request) -> dict:
    data = (await request.json())["data"]
    return {"predictions": model.predict(pd.DataFrame(data["rows"], columns=data["columns"])).tolist()}
"""


@dataclass
class Served:
    """A running server: where to send a single-row request, and how."""

    name: str
    url: str
    body: dict[str, Any]
    headers: dict[str, str]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="sequential single-row requests")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    parser.add_argument("--mlflow-venv", type=Path, default=Path("/opt/runyard/mlflow"))
    run(parser.parse_args())


def run(options: argparse.Namespace) -> None:
    print(f"Model serving, iris LogisticRegression; {load_line()}")
    mlflow_python = ensure_mlflow(options.mlflow_venv)
    with tempfile.TemporaryDirectory(prefix="runyard-bench-serving-") as scratch:
        folder = Path(scratch)
        frame = load_iris(as_frame=True).frame
        features = frame.drop(columns=["target"])
        model = LogisticRegression(max_iter=500).fit(features, frame["target"])
        joblib.dump(model, folder / "model.joblib")
        subprocess.run(
            [
                str(mlflow_python),
                "-c",
                f"import joblib, mlflow.sklearn; "
                f"mlflow.sklearn.save_model(joblib.load('{folder / 'model.joblib'}'), '{folder / 'mlflow'}')",
            ],
            check=True,
            capture_output=True,
        )
        row = {"columns": list(features.columns), "rows": [features.iloc[0].tolist()]}
        rows = []
        servers: list[Callable[[], Any]] = [
            lambda: maas(folder, row, drift=False),
            lambda: maas(folder, row, drift=True),
            lambda: mlflow(mlflow_python, folder, row),
            lambda: fastapi(folder, row),
        ]
        figures: dict[str, tuple[float, float, float]] = {}
        for start in servers:
            with start() as served:
                check(served, int(model.predict(features.iloc[:1])[0]))
                latencies = sequential(served, options.requests)
                throughput = concurrent(served, options.seconds, folder)
            p50, p95 = statistics.median(latencies), quantile(latencies, 0.95)
            figures[served.name] = (p50, p95, throughput)
            rows.append([served.name, ms(p50), ms(p95), f"{throughput:.0f}"])
    print_table(["server", "p50 ms", "p95 ms", "req/s (8 conn)"], rows)
    maas_p50, _, maas_rate = figures["MaaS_ML (drift off)"]
    drift_p50, _, drift_rate = figures["MaaS_ML (drift on, ADWIN)"]
    mlflow_rate = figures["mlflow models serve"][2]
    print(f"  MaaS_ML / MLflow throughput: {maas_rate / mlflow_rate:.1f}x (target >= 3x)")
    print(f"  MaaS_ML / bare FastAPI throughput: {maas_rate / figures['bare FastAPI'][2]:.2f}x")
    print(f"  drift detection on: p50 {drift_p50 / maas_p50:.2f}x, throughput {drift_rate / maas_rate:.2f}x")
    met = maas_p50 <= 0.001 and maas_rate >= 3 * mlflow_rate
    ratio = maas_rate / mlflow_rate
    print(f"  verdict: {verdict(met)} (p50 {ms(maas_p50)} ms <= 1 ms, throughput {ratio:.1f}x >= 3x)")


def ensure_mlflow(venv: Path) -> Path:
    """MLflow in a venv of its own, with this venv's scikit-learn version; its Python."""
    import sklearn

    python = venv / "bin" / "python"
    wanted = f"{MLFLOW} scikit-learn=={sklearn.__version__}"
    stamp = venv / ".runyard-bench"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    uv = Path(sys.executable).parent / "uv"
    print(f"installing {wanted} in {venv} (once per machine)", flush=True)
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(python), *wanted.split()], check=True
    )
    stamp.write_text(wanted)
    return python


@contextmanager
def maas(folder: Path, row: dict[str, Any], *, drift: bool) -> Iterator[Served]:
    port = free_port()
    argv = [sys.executable, "-m", "runyard.maas.ml_server", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--state-dir", str(folder / f"maas-{drift}"), "--drift" if drift else "--no-drift"]
    with process(argv, {"MAAS_MASTER_TOKEN": MASTER}, f"http://127.0.0.1:{port}/api/health"):
        base = f"http://127.0.0.1:{port}/api"
        with httpx.Client(trust_env=False, timeout=60) as client:
            master = {"Authorization": f"Bearer {MASTER}"}
            token = client.post(f"{base}/get_token", data={"user": "bench"}, headers=master).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            with (folder / "model.joblib").open("rb") as model:
                deployed = client.post(
                    f"{base}/deploy",
                    headers=headers,
                    data={"model_name": "iris", "logging_prediction": "false"},
                    files={
                        "model_file": ("model.joblib", model),
                        "baseline_data": ("baseline.csv", baseline(row)),
                    },
                )
            deployed.raise_for_status()
        body: dict[str, Any] = {"model_name": "iris", "data": row}
        name = "MaaS_ML (drift off)"
        if drift:
            body["detector"] = "ADWIN"
            name = "MaaS_ML (drift on, ADWIN)"
        yield Served(name, f"{base}/predict", body, headers)


def baseline(row: dict[str, Any]) -> bytes:
    frame = load_iris(as_frame=True).frame.drop(columns=["target"])
    return frame[row["columns"]].to_csv(index=False).encode()


@contextmanager
def mlflow(python: Path, folder: Path, row: dict[str, Any]) -> Iterator[Served]:
    port = free_port()
    mlflow_cli = python.parent / "mlflow"
    argv = [str(mlflow_cli), "models", "serve", "-m", str(folder / "mlflow"), "-h", "127.0.0.1"]
    argv += ["-p", str(port), "--env-manager", "local"]
    path = {"PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # it runs its uvicorn
    with process(argv, path, f"http://127.0.0.1:{port}/ping"):
        body = {"dataframe_split": {"columns": row["columns"], "data": row["rows"]}}
        yield Served("mlflow models serve", f"http://127.0.0.1:{port}/invocations", body, {})


@contextmanager
def fastapi(folder: Path, row: dict[str, Any]) -> Iterator[Served]:
    port = free_port()
    (folder / "bare_app.py").write_text(FASTAPI_APP)
    argv = [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--log-level", "warning"]
    environment = {"BENCH_MODEL": str(folder / "model.joblib"), "PYTHONPATH": str(folder)}
    with process(argv, environment, f"http://127.0.0.1:{port}/docs"):
        yield Served("bare FastAPI", f"http://127.0.0.1:{port}/predict", {"data": row}, {})


@contextmanager
def process(argv: list[str], environment: dict[str, str], ready: str) -> Iterator[None]:
    """Run ``argv`` until the block ends; wait until ``ready`` answers 200."""
    with tempfile.TemporaryFile() as log:
        started = subprocess.Popen(
            argv, env={**os.environ, **environment}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while not _answers(ready):
                if started.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"{argv[:4]} did not start: {log.read().decode()[-3000:]}")
                time.sleep(0.2)
            yield
        finally:
            started.terminate()
            started.wait(30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def check(served: Served, expected: int) -> None:
    with httpx.Client(trust_env=False, timeout=30) as client:
        answer = client.post(served.url, json=served.body, headers=served.headers)
    answer.raise_for_status()
    predictions = answer.json()["predictions"]
    if int(predictions[0]) != expected:
        raise RuntimeError(f"{served.name} predicts {predictions}, the model {expected}")


def sequential(served: Served, count: int) -> list[float]:
    with httpx.Client(trust_env=False, timeout=30) as client:
        for _ in range(50):  # warm-up
            client.post(served.url, json=served.body, headers=served.headers)
        times = []
        for _ in range(count):
            began = time.perf_counter()
            answer = client.post(served.url, json=served.body, headers=served.headers)
            times.append(time.perf_counter() - began)
            answer.raise_for_status()
    return times


def concurrent(served: Served, seconds: float, folder: Path) -> float:
    """Requests per second over ``CONNECTIONS`` keep-alive connections for ``seconds``, sent by ApacheBench
    (a C client: Python threads would measure the client's GIL rather than the server)."""
    body = folder / "body.json"
    body.write_text(json.dumps(served.body))
    argv = [ensure_ab(), "-q", "-k", "-c", str(CONNECTIONS), "-t", str(seconds), "-n", "10000000"]
    argv += ["-p", str(body), "-T", "application/json"]
    for name, value in served.headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, served.url], check=True, capture_output=True, text=True).stdout
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    if (failed and int(failed.group(1))) or non_2xx:
        raise RuntimeError(f"{served.name}: requests failed under load:\n{out}")
    rate = re.search(r"Requests per second:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"ApacheBench printed no rate:\n{out}")
    return float(rate.group(1))


def ensure_ab() -> str:
    """ApacheBench, from Debian's apache2-utils (installed once per machine)."""
    found = shutil.which("ab")
    if found is None:
        root = Path(__file__).parents[1]
        subprocess.run(
            ["bash", "-c", "source scripts/lib/debian.sh && apt_install apache2-utils"], cwd=root, check=True
        )
        found = shutil.which("ab")
    if found is None:
        raise RuntimeError("ab (apache2-utils) is not installed")
    return found


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1]


if __name__ == "__main__":
    main()

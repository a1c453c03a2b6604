"""ML pipeline benchmark: ``House_Price_Prediction_using_Linear_Regression`` through runyard against one
plain scikit-learn script doing the same steps, on the same rows.

The data: ``rows`` rows (default 100,000) drawn from the Boston house prices with a little noise (13
features, ``LABEL``), written once as CSV. Measured, each ``REPEATS`` times (median), cold and warm:

- **runyard**: the pipeline from the built-in bucket (its ``from:`` references resolved from the
  package), ``FILE_URL`` set to the CSV, submitted to an embedded platform (``runyard.platform.Platform``,
  SQLite, 2 local nodes, started before the clock) until the job's end: 8 tasks, each a ``fork=false``
  task of the node's worker, which imports pandas and scikit-learn once per job and node; every
  intermediate frame and the model are written to and read from the user space (Parquet, joblib);
- **plain script**: ``python -c SCRIPT`` (a fresh interpreter, imports included, as the pipeline's
  workers pay theirs): read the CSV, split 70/30, fit a linear regression, predict, the metrics, dump
  the model, write 10 predicted rows as CSV and as an HTML preview (the pipeline's ``LIMIT_OUTPUT_VIEW``).

**Cold** is what a server pays per job (its workers are per job: each job imports anew) against a
fresh interpreter; **warm** is a platform whose workers imported already (``runyard run``, where the
workers serve every job) against the same steps in this process, imports done: the pure cost of the
tasks, the Parquet/joblib hand-offs and the scheduling. The difference is the platform's cost.
Target: runyard cold <= 1.5x the plain script. Usage::

    .venv/bin/python bench/ml_pipeline.py [--rows 100000]

``run(rows)`` does the same from Python (``bench/ml.py`` runs every ML benchmark side by side).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from report import load_line, print_table, verdict
from runyard import formats
from runyard.model import JobStatus
from runyard.platform import Platform
from runyard.settings import Settings

TARGET = 1.5
REPEATS = 3
PIPELINE = "house_price_prediction_using_linear_regression.yaml"

PLAIN = """
import sys, json, math
import joblib
import pandas as pd
from sklearn import metrics
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

csv, out = sys.argv[1], sys.argv[2]
frame = pd.read_csv(csv)
train, test = train_test_split(frame, train_size=0.7, random_state=42)
features = [c for c in frame.columns if c != "LABEL"]
model = LinearRegression().fit(train[features], train["LABEL"])
joblib.dump(model, out + "/model.joblib")
predicted = model.predict(test[features])
truth = test["LABEL"]
scores = {"r2": metrics.r2_score(truth, predicted), "mae": metrics.mean_absolute_error(truth, predicted)}
scores["rmse"] = math.sqrt(metrics.mean_squared_error(truth, predicted))
test = test.assign(PREDICTIONS=predicted)
test.head(10).to_csv(out + "/predictions.csv", index=False)  # as the pipeline: LIMIT_OUTPUT_VIEW 10
open(out + "/preview.html", "w").write(test.head(10).to_html(index=False))
print(json.dumps(scores))
"""


def write_rows(rows: int, path: Path) -> None:
    """``rows`` Boston rows drawn with replacement, each number moved by up to 1 %."""
    import numpy as np

    from runyard.ml import datasets

    drawn = datasets.boston().sample(rows, replace=True, random_state=0).reset_index(drop=True)
    drawn = drawn * np.random.default_rng(0).uniform(0.99, 1.01, size=drawn.shape)
    drawn.to_csv(path, index=False)


def time_runyard(platform: Platform, csv: Path) -> tuple[float, float]:
    """Seconds from submission to the end of the pipeline, and its test r2."""
    folder = resources.files("runyard") / "buckets" / "machine-learning-workflows"
    workflow = formats.loads(folder.joinpath(PIPELINE).read_bytes(), source=PIPELINE)
    began = time.perf_counter()
    job = platform.submit(workflow, {"FILE_URL": str(csv), "LABEL_COLUMN": "LABEL"})
    status = platform.wait(job)
    wall = time.perf_counter() - began
    report = platform.report(job)
    tasks = {t["name"]: t for t in report["tasks"]}
    if status is not JobStatus.FINISHED:
        raise RuntimeError(
            f"benchmark job {job} ended {status}: { {n: t['error'] for n, t in tasks.items()} }"
        )
    return wall, float(tasks["Predict_Model"]["result"]["metrics"]["r2"])


def time_plain(csv: Path, out: Path) -> float:
    """A fresh interpreter: imports included."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", PLAIN, str(csv), str(out)], check=True, capture_output=True)
    return time.perf_counter() - began


def time_plain_warm(csv: Path, out: Path) -> float:
    """The same steps in this process, its imports done."""
    code = compile(PLAIN, "<plain>", "exec")
    saved = sys.argv
    sys.argv = ["plain", str(csv), str(out)]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, {"__name__": "warmup"})  # imports, and the first-call costs
            began = time.perf_counter()
            exec(code, {"__name__": "plain"})
            return time.perf_counter() - began
    finally:
        sys.argv = saved


def runyard_cold(folder: Path, csv: Path, repeat: int) -> tuple[float, float]:
    """On a platform just started: the nodes' workers import pandas and scikit-learn during the job."""
    settings = Settings(data_dir=folder / f"platform{repeat}", nodes=2, data_space_roots=None)
    with Platform(settings) as platform:
        return time_runyard(platform, csv)


def run(rows: int = 100_000) -> None:
    print(f"ML pipeline: House_Price_Prediction_using_Linear_Regression on {rows:,} rows; {load_line()}")
    with tempfile.TemporaryDirectory(prefix="runyard-bench-ml-") as scratch:
        folder = Path(scratch)
        csv = folder / "houses.csv"
        write_rows(rows, csv)
        plain = [time_plain(csv, folder) for _ in range(REPEATS)]
        cold = [runyard_cold(folder, csv, n) for n in range(REPEATS)]
        settings = Settings(data_dir=folder / "warm", nodes=2, data_space_roots=None)
        with Platform(settings) as platform:
            time_runyard(platform, csv)  # the workers import, once
            warm = [time_runyard(platform, csv) for _ in range(REPEATS)]
        plain_warm = [time_plain_warm(csv, folder) for _ in range(REPEATS)]
    rows_out = []
    ratios = []
    for label, ours, theirs in (
        ("cold: runyard's workers import / a fresh interpreter", cold, plain),
        ("warm: imports done on both sides", warm, plain_warm),
    ):
        mine = statistics.median(w for w, _ in ours)
        base = statistics.median(theirs)
        ratios.append(mine / base)
        rows_out.append([label, f"{mine:.2f}", f"{base:.2f}", f"{mine / base:.2f}x"])
    print_table(["", "runyard s", "plain script s", "ratio"], rows_out)
    print(f"  runs (s): runyard cold {_runs(cold)}, warm {_runs(warm)}")
    print(f"  runs (s): plain script cold {_runs(plain)}, warm {_runs(plain_warm)}")
    print(f"  test r2 through runyard: {cold[0][1]:.3f}")
    print(f"  cold ratio {ratios[0]:.2f}x (target <= {TARGET}x: {verdict(ratios[0] <= TARGET)})")


def _runs(values: list[tuple[float, float]] | list[float]) -> str:
    return " ".join(f"{v[0] if isinstance(v, tuple) else v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    run(parser.parse_args().rows)


if __name__ == "__main__":
    main()

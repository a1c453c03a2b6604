"""Machine-learning benchmark: the three figures of the machine-learning issue, side by side in one run.

Prints figures and asserts nothing:

- **(a) pipeline** (bench/ml_pipeline.py): ``House_Price_Prediction_using_Linear_Regression`` on
  ``--rows`` rows through runyard against one plain scikit-learn script doing the same steps
  (target: <= 1.5x);
- **(b) tuner** (bench/ml_automl.py): the AutoML tuner's time per trial against optuna alone in process on
  the same objective, beside one job's dispatch cost (target: optuna's own + <= 1 job's dispatch), in wall
  and in CPU time (which other work on the machine moves less), and the tuner's start;
- **(c) analytics** (bench/ml_analytics.py): Job Analytics queries at ``--jobs`` jobs, p50/p95 per query
  (target: p95 < 200 ms).

Usage::

    .venv/bin/python bench/ml.py [--rows 100000] [--trials 40] [--jobs 100000] \\
        [--only pipeline,tuner,analytics]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import ml_analytics
import ml_automl
import ml_pipeline
from report import load_line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the pipeline's data (a)")
    parser.add_argument("--trials", type=int, default=40, help="trials of each tuner run (b)")
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs in the analytics store (c)")
    parser.add_argument("--only", default="pipeline,tuner,analytics", help="a comma-separated subset")
    options = parser.parse_args()
    parts: dict[str, Callable[[], None]] = {
        "pipeline": lambda: ml_pipeline.run(options.rows),
        "tuner": lambda: ml_automl.run(options.trials),
        "analytics": lambda: ml_analytics.run(options.jobs),
    }
    chosen = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(parts))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}: choose among {', '.join(parts)}")
    for letter, name in zip("abc", parts, strict=True):
        if name not in chosen:
            continue
        print(f"\n=== ({letter}) {name} === {load_line()}", flush=True)
        started = time.perf_counter()
        parts[name]()
        print(f"({letter}) {name}: {time.perf_counter() - started:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()

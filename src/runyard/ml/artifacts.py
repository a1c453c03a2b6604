"""The data contract between ML tasks: what travels, where it lives, and how it is described.

Data frames and models are **files** in the owner's user space, one folder per job and task
(``ml/<PA_JOB_ID>/<PA_TASK_NAME>/``): frames as Parquet, models as joblib files with a JSON sidecar.
A task's ``result`` is a JSON-able dict, an *artifact*, that names those files (paths relative to the
user space) and summarises them for people; children find their inputs among their parents'
artifacts by ``kind``. The server stores the result as JSON and never loads the files: only tasks
(user code anyway) read the Parquet and joblib files.

Kinds: ``frame`` (one table), ``split`` (a ``train`` and a ``test`` frame), ``algorithm`` (an
estimator to build: its name and keyword arguments, no file), ``model`` (a fitted estimator, with
the data it was trained from), ``predictions`` (a frame with a ``PREDICTIONS`` column and the
metrics), ``report`` (files written for people: HTML, CSV, JSON, pictures), ``inputs`` (what a
disabled task passes through).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

FRAME = "frame"
SPLIT = "split"
ALGORITHM = "algorithm"
MODEL = "model"
PREDICTIONS = "predictions"
REPORT = "report"
INPUTS = "inputs"

PREDICTION_COLUMN = "PREDICTIONS"
ROOT = "ml"


def task_folder(job: str, task: str) -> PurePosixPath:
    """Where a task's files go, relative to the user space."""
    return PurePosixPath(ROOT, job, task)


def unfold(values: Iterable[Any]) -> list[dict[str, Any]]:
    """The artifacts among parent results, in order, what disabled tasks passed through unfolded."""
    found: list[dict[str, Any]] = []
    for value in values:
        if isinstance(value, dict) and value.get("kind") == INPUTS:
            found.extend(unfold(value.get("items", ())))
        elif isinstance(value, dict) and "kind" in value:
            found.append(value)
    return found


def carried(found: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The artifacts others carry: a model's training data, a report's data."""
    return [a["data"] for a in found if isinstance(a.get("data"), dict)]


def write_frame(
    userspace: Path, folder: Path, name: str, frame: pd.DataFrame, label: str | None
) -> dict[str, Any]:
    """Write ``frame`` as ``folder/name.parquet``; its ``frame`` artifact."""
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    path = folder / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    return describe_frame(frame, path.relative_to(userspace).as_posix(), label)


def describe_frame(frame: pd.DataFrame, path: str, label: str | None) -> dict[str, Any]:
    return {
        "kind": FRAME,
        "path": path,
        "rows": int(frame.shape[0]),
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
        "label": label if label in frame.columns else None,
    }


def read_frame(userspace: Path, artifact: dict[str, Any]) -> pd.DataFrame:
    return pd.read_parquet(_inside(userspace, artifact["path"]))


def write_model(userspace: Path, folder: Path, estimator: Any, sidecar: dict[str, Any]) -> dict[str, Any]:
    """Write ``estimator`` as ``folder/model.joblib``, ``model.json`` beside it; its ``model`` artifact."""
    import joblib  # here: tasks that handle only frames need not pay its import (0.16 s)

    path = folder / "model.joblib"
    joblib.dump(estimator, path)
    sidecar_path = folder / "model.json"
    sidecar_path.write_text(json.dumps(sidecar, indent=2), encoding="utf-8")
    return {
        "kind": MODEL,
        "path": path.relative_to(userspace).as_posix(),
        "sidecar": sidecar_path.relative_to(userspace).as_posix(),
        **sidecar,
    }


def read_model(userspace: Path, artifact: dict[str, Any]) -> Any:
    """The fitted estimator (a joblib load: only ever done in a task, i.e. in user code)."""
    import joblib

    return joblib.load(_inside(userspace, artifact["path"]))


def _inside(userspace: Path, relative: str) -> Path:
    """``relative`` under the user space; refused if it leads out of it."""
    root = userspace.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"artifact path {relative!r} leads out of the user space")
    return path

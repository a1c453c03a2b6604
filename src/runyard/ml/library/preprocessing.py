"""Data preprocessing (§12.2.3): tasks that take a frame and give a frame (``Split_Data`` gives a split).

``COLUMNS_NAME`` is a comma-separated list of columns; ``Rename_Columns`` takes a JSON object
``{"old": "new"}``; ``Append_Data`` and ``Merge_Data`` take their two frames in ``depends`` order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder, RobustScaler, StandardScaler

from runyard.ml import artifacts
from runyard.ml.task import Task, library_task

SCALERS: dict[str, Callable[[], Any]] = {"RobustScaler": RobustScaler, "StandardScaler": StandardScaler}


def _frame(task: Task) -> tuple[pd.DataFrame, str | None]:
    found = task.need(artifacts.FRAME, artifacts.PREDICTIONS)  # predictions are a frame too
    return task.read_frame(found), found.get("label")


def _give(task: Task, frame: pd.DataFrame, label: str | None, what: str) -> dict[str, Any]:
    task.show(what, frame)
    return task.write_frame("data", frame, label if label in frame.columns else None)


def _two_frames(task: Task) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    frames = [a for a in task.inputs() if a["kind"] in (artifacts.FRAME, artifacts.PREDICTIONS)]
    if len(frames) < 2:
        raise task.fail(f"needs two parent tasks giving a frame, got {len(frames)}")
    return task.read_frame(frames[0]), task.read_frame(frames[1]), frames[0].get("label")


def _columns(task: Task, frame: pd.DataFrame) -> list[str]:
    names = task.names("COLUMNS_NAME")
    if not names:
        raise task.fail("COLUMNS_NAME is empty: give the columns, separated by commas")
    task.check_columns(frame, names, "COLUMNS_NAME")
    return names


@library_task
def split_data(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    size = task.number("TRAIN_SIZE", 0.7, low=0.0, high=1.0)
    if frame.shape[0] < 2:
        raise task.fail(f"cannot split {frame.shape[0]} row(s) into a train and a test part")
    try:
        train, test = train_test_split(frame, train_size=size, random_state=42)
    except ValueError as error:
        raise task.fail(f"TRAIN_SIZE {size}: {error}") from None
    print(f"{task.name}: {train.shape[0]} rows to train, {test.shape[0]} to test")
    return {
        "kind": artifacts.SPLIT,
        "label": label,
        "train_size": size,
        "train": task.write_frame("train", train, label),
        "test": task.write_frame("test", test, label),
    }


@library_task
def append_data(task: Task) -> dict[str, Any]:
    first, other, label = _two_frames(task)
    return _give(task, pd.concat([first, other], ignore_index=True, sort=False), label, "appended data")


@library_task
def merge_data(task: Task) -> dict[str, Any]:
    left, right, label = _two_frames(task)
    column = task.required("REF_COLUMN")
    task.check_columns(left, [column], "REF_COLUMN")
    task.check_columns(right, [column], "REF_COLUMN")
    return _give(task, left.merge(right, on=column), label, "merged data")


@library_task
def drop_columns(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    return _give(task, frame.drop(columns=_columns(task, frame)), label, "remaining columns")


@library_task
def filter_columns(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    return _give(task, frame[_columns(task, frame)], label, "kept columns")


@library_task
def drop_nans(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    kept = frame.replace([np.inf, -np.inf], np.nan).dropna(axis=0, how="any")
    print(f"{task.name}: {frame.shape[0] - kept.shape[0]} row(s) with a missing value dropped")
    return _give(task, kept, label, "rows without missing values")


@library_task
def fill_nans(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    value = task.number("FILL_MAP", 0.0)
    return _give(task, frame.fillna(value), label, f"missing values filled with {value:g}")


@library_task
def encode_data(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    encoded = frame.copy()
    codes = {}
    for column in _columns(task, frame):
        encoder = LabelEncoder()
        encoded[column] = encoder.fit_transform(frame[column].astype(str))
        codes[column] = {str(c): i for i, c in enumerate(encoder.classes_)}
    artifact = _give(task, encoded, label, "encoded data")
    artifact["encodings"] = codes
    return artifact


@library_task
def scale_data(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    name = task.choice("SCALER_NAME", "RobustScaler", list(SCALERS))
    if task.names("COLUMNS_NAME"):
        columns = _columns(task, frame)
    else:
        columns = [c for c in frame.select_dtypes("number").columns if c != label]
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise task.fail(
            f"COLUMNS_NAME: {', '.join(map(repr, text))} not numeric: encode them first (Encode_Data)"
        )
    scaled = frame.copy()
    scaled[columns] = SCALERS[name]().fit_transform(frame[columns])
    return _give(task, scaled, label, f"data scaled by {name}")


@library_task
def rename_columns(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    renames = task.json_object("COLUMNS_NAME")
    if not renames:
        raise task.fail('COLUMNS_NAME is empty: give the renamings as JSON, e.g. {"old": "new"}')
    task.check_columns(frame, list(renames), "COLUMNS_NAME")
    label = str(renames.get(label, label)) if label else label
    return _give(
        task, frame.rename(columns={k: str(v) for k, v in renames.items()}), label, "renamed columns"
    )


@library_task
def query_data(task: Task) -> dict[str, Any]:
    frame, label = _frame(task)
    query = task.required("QUERY")
    try:
        selected = frame.query(query)
    except Exception as error:  # pandas raises many kinds for a bad expression
        raise task.fail(f"QUERY {query!r}: {type(error).__name__}: {str(error).splitlines()[0]}") from None
    artifact = _give(task, selected, label, f"rows where {query}")
    form = task.choice("FILTERED_FILE_OUPUT", "CSV", ("CSV", "HTML"), upper=True)
    artifact["files"] = [task.write_table(selected, "filtered", form)]
    return artifact

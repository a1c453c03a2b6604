"""Feature extraction (§12.2.4): ``Summarize_Data``, ``Feature_Vector_Extractor``,
``Tsfresh_Features_Extraction`` (refused: TSFRESH is not installed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import PolynomialFeatures

from runyard.ml import artifacts
from runyard.ml.task import Task, library_task

MODEL_TYPES = ("KMeans", "PolynomialFeatures")
TSFRESH_REFUSAL = "TSFRESH is not installed in runyard: Tsfresh_Features_Extraction cannot run here"


def _frame(task: Task) -> pd.DataFrame:
    return task.read_frame(task.need(artifacts.FRAME, artifacts.PREDICTIONS))


@library_task
def summarize_data(task: Task) -> dict[str, Any]:
    """One row per value of ``REF_COLUMN``: the mean, spread and range of each numeric column; then
    ``GLOBAL_MODEL_TYPE`` KMeans adds a ``CLUSTER`` of the groups, PolynomialFeatures their
    degree-2 products."""
    frame = _frame(task)
    column = task.required("REF_COLUMN")
    task.check_columns(frame, [column], "REF_COLUMN")
    model = task.choice("GLOBAL_MODEL_TYPE", "KMeans", MODEL_TYPES)
    numeric = frame.select_dtypes("number").drop(columns=[column], errors="ignore")
    numeric = numeric.replace([np.inf, -np.inf], np.nan)  # a summary of what is known
    if numeric.shape[1] == 0:
        raise task.fail("the data has no numeric column to summarize")
    summary = numeric.groupby(frame[column]).agg(["mean", "std", "min", "max"]).fillna(0.0)
    summary.columns = [f"{c}_{s}" for c, s in summary.columns]
    if model == "KMeans":
        clusters = KMeans(n_clusters=min(3, len(summary)), random_state=42, n_init="auto")
        summary["CLUSTER"] = clusters.fit_predict(summary)
    else:
        expanded = PolynomialFeatures(degree=2, include_bias=False).set_output(transform="pandas")
        summary = expanded.fit_transform(summary)
    summary = summary.reset_index()
    task.show(f"summary by {column}", summary)
    return task.write_frame("data", summary, None)


@library_task
def feature_vector_extractor(task: Task) -> dict[str, Any]:
    """One row per ``SESSION_COLUMN`` value: how often each pattern (``PATTERN_COLUMN``) occurs, and the
    number of distinct values of each ``COUNT_VARIABLES`` column."""
    frame = _frame(task)
    session = task.required("SESSION_COLUMN")
    pattern = task.text("PATTERN_COLUMN", "id_pattern")
    counted = task.names("COUNT_VARIABLES")
    task.check_columns(frame, [session], "SESSION_COLUMN")
    parts = []
    if task.flag("PATTERNS_COUNT_FEATURES", True):
        task.check_columns(frame, [pattern], "PATTERN_COLUMN")
        counts = pd.crosstab(frame[session], frame[pattern])
        counts.columns = [f"pattern_{c}" for c in counts.columns]
        parts.append(counts)
    if counted:
        task.check_columns(frame, counted, "COUNT_VARIABLES")
        distinct = frame.groupby(session)[counted].nunique()
        distinct.columns = [f"distinct_{c}" for c in distinct.columns]
        parts.append(distinct)
    if not parts:
        raise task.fail("nothing to extract: set PATTERNS_COUNT_FEATURES to true or name COUNT_VARIABLES")
    vectors = pd.concat(parts, axis=1).fillna(0).reset_index()
    task.show("feature vectors", vectors)
    return task.write_frame("data", vectors, None)


@library_task
def tsfresh_features_extraction(task: Task) -> dict[str, Any]:
    raise task.fail(TSFRESH_REFUSAL)

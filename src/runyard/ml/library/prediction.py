"""``Predict_Model`` (§12.2.12): predict with a model on a split's test part or a frame, and measure.

Its artifact holds the metrics as JSON, for ``runyard result`` and charts: ``accuracy``, ``f1``,
``precision``, ``recall`` (weighted) for classifiers; ``r2``, ``mae``, ``rmse``, ``mse`` for
regressors; ``clusters``, ``silhouette`` (and ``adjusted_rand`` against a label) for clustering;
``anomalies`` and ``anomaly_ratio`` for anomaly detectors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as sk

from runyard.ml import artifacts
from runyard.ml.library.algorithms import ANOMALY, CLASSIFICATION, CLUSTERING, REGRESSION
from runyard.ml.task import Task, library_task


def measure(
    task_type: str, features: pd.DataFrame, truth: pd.Series | None, predicted: np.ndarray
) -> dict[str, Any]:
    """The metrics of ``predicted`` (against ``truth`` where the family has one)."""
    found: dict[str, Any] = {"rows": len(predicted)}
    if task_type == CLASSIFICATION and truth is not None:
        found["accuracy"] = sk.accuracy_score(truth, predicted)
        for name, score in (
            ("f1", sk.f1_score),
            ("precision", sk.precision_score),
            ("recall", sk.recall_score),
        ):
            found[name] = score(truth, predicted, average="weighted", zero_division=0)
    elif task_type == REGRESSION and truth is not None:
        found["r2"] = sk.r2_score(truth, predicted)
        found["mae"] = sk.mean_absolute_error(truth, predicted)
        found["mse"] = sk.mean_squared_error(truth, predicted)
        found["rmse"] = math.sqrt(found["mse"])
    elif task_type == CLUSTERING:
        clusters = len(set(predicted.tolist()))
        found["clusters"] = clusters
        if 1 < clusters < len(predicted):
            found["silhouette"] = sk.silhouette_score(features, predicted)
        if truth is not None:
            found["adjusted_rand"] = sk.adjusted_rand_score(truth, predicted)
    elif task_type == ANOMALY:
        anomalies = int((predicted == -1).sum())
        found["anomalies"] = anomalies
        found["anomaly_ratio"] = anomalies / max(len(predicted), 1)
    return {k: float(v) if isinstance(v, np.floating) else v for k, v in found.items()}


@library_task
def predict_model(task: Task) -> dict[str, Any]:
    task.no_gpu()
    model = task.need(artifacts.MODEL)
    data = task.need(artifacts.SPLIT, artifacts.FRAME)
    test = data["test"] if data["kind"] == artifacts.SPLIT else data
    frame = task.read_frame(test)
    features = model.get("features") or [c for c in frame.columns if c != model.get("label")]
    task.check_columns(frame, features, "the model's features")
    label = task.text("LABEL_COLUMN") or model.get("label") or test.get("label")
    if label and label not in frame.columns:
        label = None  # new data without the answer: predictions only
    estimator = task.read_model(model)
    try:
        predicted = np.asarray(estimator.predict(frame[features]))
    except (ValueError, TypeError) as error:
        raise task.fail(f"the model cannot predict on this data: {str(error).splitlines()[0]}") from None
    if predicted.ndim > 1:
        predicted = predicted.ravel()
    task_type = model.get("task_type", "other")
    metrics = measure(task_type, frame[features], frame[label] if label else None, predicted)
    out = frame.copy()
    out[artifacts.PREDICTION_COLUMN] = predicted
    task.show("predictions", out)
    print(f"{task.name}: {task_type} metrics {metrics}")
    artifact = task.write_frame("predictions", out, label)
    artifact.update(
        kind=artifacts.PREDICTIONS, task_type=task_type, algorithm=model.get("algorithm"), metrics=metrics
    )
    return artifact

"""``Train_Model`` (§12.2.11): fit the estimator of an algorithm task on a frame or a split's train part."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.preprocessing import LabelEncoder

from runyard.ml import artifacts
from runyard.ml.library.algorithms import ALGORITHMS, ANOMALY, CLASSIFICATION, CLUSTERING, REGRESSION
from runyard.ml.task import Task, library_task

SUPERVISED_NEEDS_LABEL = "LABEL_COLUMN is empty and the data has no label: name the column to predict"


def features_and_label(
    task: Task, data: dict[str, Any], frame: pd.DataFrame, task_type: str
) -> tuple[list[str], str | None]:
    """The feature columns and the label column of ``frame`` for a ``task_type`` estimator."""
    label = task.text("LABEL_COLUMN") or data.get("label")
    if label:
        task.check_columns(frame, [label], "LABEL_COLUMN")
    elif task_type not in (CLUSTERING, ANOMALY):
        raise task.fail(SUPERVISED_NEEDS_LABEL)
    features = [c for c in frame.columns if c not in (label, artifacts.PREDICTION_COLUMN)]
    text = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise task.fail(
            f"column(s) {', '.join(map(repr, text[:10]))} not numeric: encode them first (Encode_Data)"
        )
    if label and task_type == REGRESSION and not pd.api.types.is_numeric_dtype(frame[label]):
        raise task.fail(
            f"LABEL_COLUMN {label!r} is not numeric ({frame[label].dtype}): a regressor needs numbers"
        )
    if frame.shape[0] == 0:
        raise task.fail("the training data has no rows")
    return features, label


@library_task
def train_model(task: Task) -> dict[str, Any]:
    task.no_gpu()
    algorithm = task.need(artifacts.ALGORITHM)
    data = task.need(artifacts.SPLIT, artifacts.FRAME)
    train = data["train"] if data["kind"] == artifacts.SPLIT else data
    frame = task.read_frame(train)
    task_type = algorithm["task_type"]
    known = ALGORITHMS.get(algorithm.get("algorithm", ""))
    if known is None or task_type not in known.classes:
        raise task.fail(f"unknown algorithm {algorithm.get('algorithm')!r} ({task_type})")
    features, label = features_and_label(task, data, frame, task_type)
    supervised = bool(label) and task_type not in (CLUSTERING, ANOMALY)
    encoder = None
    if supervised and known.numeric_classes and task_type == CLASSIFICATION:
        encoder = LabelEncoder().fit(frame[label])
    try:
        with known.fitting() as extra:
            estimator = known.build(task_type, {**algorithm.get("parameters", {}), **extra})
            if supervised:
                estimator.fit(
                    frame[features], frame[label] if encoder is None else encoder.transform(frame[label])
                )
            else:
                estimator.fit(frame[features])
    except (ValueError, TypeError) as error:
        raise task.fail(f"{known.name} cannot be fitted: {str(error).splitlines()[0]}") from None
    sidecar = {
        "algorithm": known.name,
        "estimator": known.classes[task_type],
        "task_type": task_type,
        "parameters": algorithm.get("parameters", {}),
        "features": features,
        "label": label,
        "train_rows": int(frame.shape[0]),
    }
    classes = getattr(estimator, "classes_", None) if encoder is None else encoder.classes_
    if classes is not None:
        sidecar["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
    print(
        f"{task.name}: {known.name} fitted on {frame.shape[0]} rows, {len(features)} features, label {label}"
    )
    fitted = _fitted(estimator) if encoder is None else DecodedLabels(estimator, encoder)
    model = artifacts.write_model(task.userspace, task.folder(), fitted, sidecar)
    model["data"] = data
    return model


class DecodedLabels:
    """A fitted pipeline predicting encoded labels, answering with the original ones (TPOT encodes
    text labels before its search)."""

    def __init__(self, pipeline: Any, encoder: Any) -> None:
        self.pipeline = pipeline
        self.encoder = encoder
        self.classes_ = encoder.classes_

    def predict(self, x: Any) -> Any:
        return self.encoder.inverse_transform(self.pipeline.predict(x))

    def predict_proba(self, x: Any) -> Any:
        return self.pipeline.predict_proba(x)


def _fitted(estimator: Any) -> Any:
    """What to save: TPOT's best pipeline rather than the search object (which holds its cluster)."""
    pipeline = getattr(estimator, "fitted_pipeline_", None)
    if pipeline is None:
        return estimator
    encoder = getattr(estimator, "label_encoder_", None)
    return pipeline if encoder is None else DecodedLabels(pipeline, encoder)

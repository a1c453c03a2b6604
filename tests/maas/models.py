"""Tiny models and data sets the MaaS tests train once per session."""

from __future__ import annotations

import io
from dataclasses import dataclass
from warnings import catch_warnings, simplefilter

import joblib
import numpy as np
import pandas as pd
from skl2onnx import to_onnx
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

DRIFT_COLUMNS = ["a", "b", "c", "d"]
DRIFT_MEANS = np.array([5.0, -3.0, 100.0, 0.5])
DRIFT_STDS = np.array([1.0, 2.0, 15.0, 0.1])


@dataclass(frozen=True)
class Iris:
    frame: pd.DataFrame
    """The features, with their names."""
    model: LogisticRegression
    """Fitted on ``frame`` (so it knows the feature names)."""
    array_model: LogisticRegression
    """Fitted on the bare array."""

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def rows(self, count: int) -> list[list[float]]:
        rows: list[list[float]] = self.frame.to_numpy()[:: max(1, len(self.frame) // count)][:count].tolist()
        return rows


def iris() -> Iris:
    frame, target = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=1000).fit(frame, target)
    array_model = LogisticRegression(max_iter=1000).fit(frame.to_numpy(), target)
    return Iris(frame, model, array_model)


def pickled(model: object, *, compress: int = 0) -> bytes:
    out = io.BytesIO()
    joblib.dump(model, out, compress=compress)
    return out.getvalue()


def onnx_bytes(model: object, features: int) -> bytes:
    """``model`` converted to ONNX (float input of ``features`` columns, labels as the first output)."""
    sample = np.zeros((1, features), dtype=np.float32)
    converted = to_onnx(model, sample, options={id(model): {"zipmap": False}}, target_opset=17)
    data: bytes = converted.SerializeToString()
    return data


@dataclass(frozen=True)
class Digits:
    images: np.ndarray
    versions: list[MLPClassifier]
    """Two MLPs that disagree on some of the first images (so answers tell the versions apart)."""


def digits() -> Digits:
    images, target = load_digits(return_X_y=True)
    images = images[:600] / 16.0
    target = target[:600]
    small = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    wide = MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=1)
    with catch_warnings():
        simplefilter("ignore")  # ConvergenceWarning: not converged on purpose, to disagree
        small.fit(images, target)
        wide.fit(images, target)
    return Digits(images.astype(np.float32), [small, wide])


def drift_frame(rows: int, seed: int, shifted: str | None = None) -> pd.DataFrame:
    """Normal columns with the ``DRIFT_*`` means and deviations; ``shifted`` moved by three deviations."""
    values = np.random.default_rng(seed).normal(DRIFT_MEANS, DRIFT_STDS, size=(rows, len(DRIFT_COLUMNS)))
    frame = pd.DataFrame(values, columns=DRIFT_COLUMNS)
    if shifted is not None:
        frame[shifted] += 3 * DRIFT_STDS[DRIFT_COLUMNS.index(shifted)]
    return frame

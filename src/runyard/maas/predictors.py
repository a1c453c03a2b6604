"""Deployed models behind one interface: a scikit-learn estimator, or an ONNX Runtime session.

Both answer ``predict(table)`` with a JSON-ready list equal to the model's own output on those rows.
A scikit-learn model fitted on a data frame gets a data frame with its feature names (else it warns);
one fitted on an array gets the float array as is. A plain estimator fitted on a data frame, holding
no fitted sub-estimator that knows feature names (not a pipeline), is also kept as a shallow copy
without ``feature_names_in_``: the columns put in its order by name here, it scores the float array
directly, several times faster on one row. A failure inside the model is the client's problem (400),
reported with the model's message.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort
import pandas as pd

from runyard.maas.errors import RequestRefused
from runyard.maas.tables import Table

_ONNX_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}


class Predictor(Protocol):
    """A loaded model."""

    format: str
    features: list[str] | None
    """The columns the model expects, by name, when it knows them."""

    def predict(self, table: Table) -> list[Any]: ...


class SklearnPredictor:
    """An object with a ``predict`` method (a scikit-learn estimator or pipeline, usually)."""

    format = "sklearn"

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        names = getattr(estimator, "feature_names_in_", None)
        self.features = None if names is None else [str(name) for name in names]
        count = getattr(estimator, "n_features_in_", None)
        self.n_features = count if isinstance(count, int) else None
        self._on_arrays = None if self.features is None else _without_feature_names(estimator)

    def predict(self, table: Table) -> list[Any]:
        model_input: Any
        model = self.estimator
        if self.features is not None and self._on_arrays is not None and table.numbers is not None:
            model, model_input = self._on_arrays, _ordered(table, self.features)
        elif self.features is not None:
            model_input = _frame(table, self.features)
        else:
            if self.n_features is not None and len(table.columns) != self.n_features:
                raise RequestRefused(
                    f"the model takes {self.n_features} columns, {len(table.columns)} were sent"
                )
            model_input = table.numbers if table.numbers is not None else np.array(table.rows, dtype=object)
        try:
            output = model.predict(model_input)
        except Exception as error:  # the model's own failure on these rows
            raise RequestRefused(
                f"the model could not score these rows: {type(error).__name__}: {error}"
            ) from None
        return np.asarray(output).tolist()  # type: ignore[no-any-return]


class OnnxPredictor:
    """An ONNX model with one input: rows (or instances) in, its first output out."""

    format = "onnx"
    features: list[str] | None = None

    def __init__(self, session: ort.InferenceSession) -> None:
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise RequestRefused(
                f"the ONNX model has {len(inputs)} inputs: only models with one input are served"
            )
        dtype = _ONNX_TYPES.get(inputs[0].type)
        if dtype is None:
            raise RequestRefused(
                f"the ONNX model's input is a {inputs[0].type}: float, double or int64 expected"
            )
        self.session = session
        self.dtype = dtype
        self.input = inputs[0].name
        self.shape: list[int | str | None] = list(inputs[0].shape)
        self.output = session.get_outputs()[0].name

    def predict(self, table: Table) -> list[Any]:
        if table.numbers is None:
            raise RequestRefused("an ONNX model scores numbers only")
        return self.run(table.numbers)

    def run(self, array: np.ndarray) -> list[Any]:
        """The first output on ``array``, whose shape must fit the model's input."""
        fixed = [(i, dim) for i, dim in enumerate(self.shape) if isinstance(dim, int) and i > 0]
        if array.ndim != len(self.shape) or any(array.shape[i] != dim for i, dim in fixed):
            expected = ["n" if i == 0 else d if isinstance(d, int) else "*" for i, d in enumerate(self.shape)]
            raise RequestRefused(f"the model takes an input of shape {expected}, not {list(array.shape)}")
        try:
            output = self.session.run([self.output], {self.input: array.astype(self.dtype, copy=False)})[0]
        except Exception as error:  # onnxruntime's own failure on these values
            raise RequestRefused(f"the model could not score these rows: {error}") from None
        return output.tolist() if isinstance(output, np.ndarray) else list(output)


def onnx_session(data: bytes) -> ort.InferenceSession:
    """An ONNX Runtime session (one thread: small models answer fastest so) on the model ``data``."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _without_feature_names(estimator: Any) -> Any:
    """A shallow copy of ``estimator`` that scores arrays without warning, or None when there is none."""
    attributes = vars(estimator) if hasattr(estimator, "__dict__") else {}
    if "feature_names_in_" not in attributes or any(_knows_names(v) for v in attributes.values()):
        return None
    stripped = copy.copy(estimator)
    del stripped.feature_names_in_
    return stripped if getattr(stripped, "feature_names_in_", None) is None else None


def _knows_names(value: Any) -> bool:
    """Whether ``value`` is, or lists, a fitted estimator with feature names (of a meta-estimator)."""
    values = value if isinstance(value, list | tuple) else [value]
    return any(hasattr(v, "feature_names_in_") and hasattr(v, "get_params") for v in values)


def _check_columns(table: Table, features: list[str]) -> None:
    missing = [name for name in features if name not in table.columns]
    unknown = [name for name in table.columns if name not in features]
    if missing or unknown:
        raise RequestRefused(f"the model takes the columns {features}: missing {missing}, unknown {unknown}")


def _ordered(table: Table, features: list[str]) -> np.ndarray:
    """The table's numbers, columns in the order the model was fitted with."""
    assert table.numbers is not None
    if list(table.columns) == features:
        return table.numbers
    _check_columns(table, features)
    return table.numbers[:, [table.columns.index(name) for name in features]]


def _frame(table: Table, features: list[str]) -> pd.DataFrame:
    """The table's columns in the order the model was fitted with."""
    if list(table.columns) == features:
        source = table.numbers if table.numbers is not None else table.rows
        return pd.DataFrame(source, columns=features)
    _check_columns(table, features)
    order = [table.columns.index(name) for name in features]
    if table.numbers is not None:
        return pd.DataFrame(table.numbers[:, order], columns=features)
    return pd.DataFrame([[row[i] for i in order] for row in table.rows], columns=features)

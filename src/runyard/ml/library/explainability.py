"""``Model_Explainability`` (§12.2.13): SHAP values and partial dependence plots, written as pictures.

Pictures go to the task's folder: ``shap_importance.png`` (mean |SHAP| per feature),
``shap_row_<N>.png`` (one row's SHAP values: pink raises the prediction, blue lowers it),
``pdp_<feature>.png`` (by default for the two most important features) and ``pdp2d_<a>_<b>.png``.
matplotlib draws without a display (Agg) and keeps its cache in the task's working folder (its
localspace), which a sandboxed task may write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runyard.ml import artifacts
from runyard.ml.library.algorithms import CLASSIFICATION
from runyard.ml.library.training import features_and_label
from runyard.ml.task import Task, library_task

BACKGROUND_ROWS = 50
"""Rows the SHAP explainer draws its baseline from."""
EXPLAINED_ROWS = 30
"""Rows whose SHAP values are computed."""
PINK, BLUE = "#ff0051", "#008bfb"


def _figure() -> Any:
    os.environ.setdefault("MPLCONFIGDIR", str(Path.cwd() / ".matplotlib"))
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.cwd() / ".numba"))
    from matplotlib.figure import Figure  # no pyplot: no global state, no display

    return Figure(figsize=(7, 4.5), layout="constrained")


def _explained_class(estimator: Any, frame: pd.DataFrame, task_type: str) -> int | None:
    """Of a classifier, the class whose probability is explained: the one predicted for the first row."""
    if task_type != CLASSIFICATION or not hasattr(estimator, "predict_proba"):
        return None
    return int(np.argmax(estimator.predict_proba(frame.iloc[:1])[0]))


def _shap_values(estimator: Any, frame: pd.DataFrame, target: int | None) -> np.ndarray:
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.cwd() / ".numba"))
    import shap

    background = frame.sample(min(BACKGROUND_ROWS, len(frame)), random_state=0)
    explained = frame.iloc[:EXPLAINED_ROWS]
    try:  # the model's own explainer (exact and fast for trees and linear models)
        values = np.asarray(shap.Explainer(estimator, background, seed=0)(explained).values)
        return values[:, :, target or 0] if values.ndim == 3 else values
    except Exception:  # SHAP's errors for a model it cannot open are of many kinds
        pass

    def predict(x: Any) -> Any:
        rows = pd.DataFrame(x, columns=frame.columns)
        return estimator.predict(rows) if target is None else estimator.predict_proba(rows)[:, target]

    explainer = shap.Explainer(predict, background.to_numpy(), seed=0)
    return np.asarray(explainer(explained.to_numpy(), silent=True).values)


def _bars(path: Path, names: list[str], values: np.ndarray, title: str, signed: bool) -> None:
    order = np.argsort(np.abs(values))[-15:]
    figure = _figure()
    axes = figure.subplots()
    colors = [PINK if v > 0 else BLUE for v in values[order]] if signed else BLUE
    axes.barh([names[i] for i in order], values[order], color=colors)
    axes.set_title(title)
    axes.set_xlabel("SHAP value" if signed else "mean |SHAP value|")
    figure.savefig(path, dpi=90)


def _partial(
    path: Path, estimator: Any, frame: pd.DataFrame, features: list[Any], target: int | None
) -> None:
    from sklearn.inspection import PartialDependenceDisplay

    figure = _figure()
    axes = figure.subplots()
    classes = getattr(estimator, "classes_", None)
    # scikit-learn names the class only of a multi-class model (a binary one shows the positive class).
    label = classes[target] if target is not None and classes is not None and len(classes) > 2 else None
    # Floats: scikit-learn refuses partial dependence over integer columns.
    PartialDependenceDisplay.from_estimator(estimator, frame.astype(float), features, ax=axes, target=label)
    if label is not None:
        axes.set_title(f"class {label}")
    figure.savefig(path, dpi=90)


@library_task
def model_explainability(task: Task) -> dict[str, Any]:
    model = task.need(artifacts.MODEL)
    data = task.need(artifacts.SPLIT, artifacts.FRAME)
    frame = task.read_frame(data["test"] if data["kind"] == artifacts.SPLIT else data)
    task_type = model.get("task_type", "other")
    features, _ = features_and_label(task, {"label": model.get("label")}, frame, task_type)
    features = model.get("features") or features
    x = frame[features]
    row = task.integer("SHAP_ROW_SHOW", 0)
    if not 0 <= row < min(len(x), EXPLAINED_ROWS):
        raise task.fail(
            f"SHAP_ROW_SHOW {row} is not a row of the explained data (0 to {min(len(x), EXPLAINED_ROWS) - 1})"
        )
    one_d = task.names("FEATURE_PARTIAL_PLOTS")
    two_d = task.names("FEATURE_PARTIAL2D_PLOTS")
    task.check_columns(x, one_d, "FEATURE_PARTIAL_PLOTS")
    task.check_columns(x, two_d, "FEATURE_PARTIAL2D_PLOTS")
    if two_d and len(two_d) != 2:
        raise task.fail(f"FEATURE_PARTIAL2D_PLOTS must name two features, not {len(two_d)}")
    estimator = task.read_model(model)
    folder = task.folder()
    target = _explained_class(estimator, x, task_type)
    values = _shap_values(estimator, x, target)
    importance = np.abs(values).mean(axis=0)
    if not one_d:  # the two features that matter most
        one_d = [features[i] for i in np.argsort(-importance)[:2]]
    pictures = [folder / "shap_importance.png", folder / f"shap_row_{row}.png"]
    _bars(pictures[0], features, importance, "Feature importance (SHAP)", signed=False)
    _bars(
        pictures[1], features, values[row], f"Row {row}: what raises (pink) and lowers (blue) it", signed=True
    )
    for feature in one_d:
        pictures.append(folder / f"pdp_{feature}.png")
        _partial(pictures[-1], estimator, x, [feature], target)
    if two_d:
        pictures.append(folder / f"pdp2d_{two_d[0]}_{two_d[1]}.png")
        _partial(pictures[-1], estimator, x, [tuple(two_d)], target)
    ranking = sorted(zip(features, importance.tolist(), strict=True), key=lambda p: -p[1])
    print(f"{task.name}: features by mean |SHAP value|: {ranking[:10]}")
    return {
        "kind": artifacts.REPORT,
        "files": [p.relative_to(task.userspace).as_posix() for p in pictures],
        "importance": dict(ranking),
        "data": data,
    }

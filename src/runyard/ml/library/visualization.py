"""The tasks of the ``data-visualization`` bucket (PML guide §12.4): bind or start a Visdom or Tensorboard
service instance, act on it, and draw in it.

A start task passes on, as job variables, what the tasks after it need: the instance's ``INSTANCE_ID``
and ``INSTANCE_NAME``, and ``VISDOM_ENDPOINT`` (Visdom) or ``TENSORBOARD_ENDPOINT`` and
``TENSORBOARD_LOG_PATH``, the folder it shows (Tensorboard). Drawing tasks post to Visdom's HTTP API
(:mod:`runyard.ml.visdom`) or write TensorBoard event files; every window is named after the job
(``<job id>-…``), so that jobs sharing an instance keep their own.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd
from tensorboardX import SummaryWriter

from runyard.client.documents import ServiceInstance
from runyard.ml import artifacts, services
from runyard.ml.automl.tensorboard import log_folder
from runyard.ml.task import Task, library_task
from runyard.ml.visdom import Visdom, bar, heatmap, line, scatter
from runyard.services import psa

#: More distinct predicted values than this: the predictions are a regression's.
MAX_CLASSES = 20


@library_task
def visdom_service_start(task: Task) -> dict[str, Any]:
    instance = _bind_or_start(task, "Visdom", "visdom-server", {})
    task.pass_on(VISDOM_ENDPOINT=services.endpoint_url(instance))
    return task.passthrough()


@library_task
def tensorboard_service_start(task: Task) -> dict[str, Any]:
    mount = {"MOUNT_LOG_PATH": task.text("MOUNT_LOG_PATH")} if task.text("MOUNT_LOG_PATH") else {}
    instance = _bind_or_start(task, "Tensorboard", "tensorboard-server", mount)
    with psa.client() as api:
        folder = log_folder(api, str(instance["label"]), "")
    task.pass_on(TENSORBOARD_ENDPOINT=services.endpoint_url(instance), TENSORBOARD_LOG_PATH=str(folder))
    return task.passthrough()


@library_task
def visdom_plots(task: Task) -> dict[str, Any]:
    """Examples of the plots Visdom shows: text, lines, scatter, bars, heatmap, histogram."""
    x = np.linspace(0, 4 * math.pi, 60)
    sin, cos = np.sin(x).tolist(), np.cos(x).tolist()
    clusters = np.random.default_rng(0).normal(size=(2, 100, 2)) + np.array([[[0, 0]], [[3, 3]]])
    plots = {
        "Lines": [line(x.tolist(), sin, "sin", markers=False), line(x.tolist(), cos, "cos", markers=False)],
        "Scatter": [
            scatter(c[:, 0].tolist(), c[:, 1].tolist(), f"cluster {i}") for i, c in enumerate(clusters)
        ],
        "Bars": [bar(["a", "b", "c"], [3, 5, 2], "2025"), bar(["a", "b", "c"], [4, 1, 6], "2026")],
        "Heatmap": [heatmap(np.outer(sin[:12], cos[:10]).round(3).tolist(), range(10), range(12))],
        "Histogram": [{"type": "histogram", "x": clusters[0, :, 0].tolist()}],
    }
    with Visdom(task.required("VISDOM_ENDPOINT")) as visdom:
        visdom.text(
            f"{task.job}-text", "<h3>Visdom plots</h3>drawn by runyard's <b>Visdom_Plots</b>", title="Text"
        )
        for title, traces in plots.items():
            visdom.plot(f"{task.job}-{title.lower()}", traces, title=title)
    print(
        f"{task.name}: drew windows {task.job}-text, " + ", ".join(f"{task.job}-{t.lower()}" for t in plots)
    )
    return task.passthrough()


@library_task
def visdom_visualize_results(task: Task) -> dict[str, Any]:
    """The predictions of ``Predict_Model`` in Visdom: with classes, their counts (actual and predicted),
    the confusion matrix and the scores of ``TARGETED_CLASS``; with numbers, actual against predicted."""
    found = task.need(artifacts.PREDICTIONS)
    frame = task.read_frame(found)
    label = found.get("label")
    predicted = frame[artifacts.PREDICTION_COLUMN]
    actual = frame[label] if label and label in frame.columns else None
    with Visdom(task.required("VISDOM_ENDPOINT")) as visdom:
        win = f"{task.job}-results"
        if predicted.nunique() > MAX_CLASSES and pd.api.types.is_numeric_dtype(predicted):
            _regression(visdom, win, actual, predicted)
        else:
            _classification(task, visdom, win, actual, predicted)
    print(f"{task.name}: drew the predictions of {len(frame)} rows in windows {win}-*")
    return task.passthrough()


def _classification(
    task: Task, visdom: Visdom, win: str, actual: pd.Series | None, predicted: pd.Series
) -> None:
    classes = sorted({*predicted.astype(str), *([] if actual is None else actual.astype(str))})
    counts = [bar(classes, [int((predicted.astype(str) == c).sum()) for c in classes], "predicted")]
    if actual is not None:
        counts.insert(0, bar(classes, [int((actual.astype(str) == c).sum()) for c in classes], "actual"))
        matrix = pd.crosstab(actual.astype(str), predicted.astype(str)).reindex(
            index=classes, columns=classes, fill_value=0
        )
        visdom.plot(
            f"{win}-confusion",
            [heatmap(matrix.to_numpy().tolist(), classes, classes)],
            title="Confusion matrix",
            layout={"xaxis": {"title": "predicted"}, "yaxis": {"title": "actual"}},
        )
    visdom.plot(f"{win}-counts", counts, title="Rows per class")
    target = task.text("TARGETED_CLASS")
    if target:
        if target not in classes:
            raise task.fail(
                f"TARGETED_CLASS {target!r} is not a class of the predictions ({', '.join(classes)})"
            )
        visdom.text(f"{win}-target", _scores(target, actual, predicted), title=f"Class {target}")


def _scores(target: str, actual: pd.Series | None, predicted: pd.Series) -> str:
    """The HTML of the target's pane (the class name comes from the data: escaped)."""
    hits, name = predicted.astype(str) == target, html.escape(target)
    if actual is None:
        return f"{int(hits.sum())} of {len(predicted)} rows predicted as <b>{name}</b>"
    truth = actual.astype(str) == target
    both = int((hits & truth).sum())
    precision = both / int(hits.sum()) if hits.any() else 0.0
    recall = both / int(truth.sum()) if truth.any() else 0.0
    return f"<b>{name}</b>: precision {precision:.3f}, recall {recall:.3f}, {int(truth.sum())} rows of it"


def _regression(visdom: Visdom, win: str, actual: pd.Series | None, predicted: pd.Series) -> None:
    if actual is None:
        visdom.plot(f"{win}-predicted", [{"type": "histogram", "x": predicted.tolist()}], title="Predictions")
        return
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    visdom.plot(
        f"{win}-actual-vs-predicted",
        [
            scatter(actual.tolist(), predicted.tolist(), "rows"),
            line([low, high], [low, high], "exact", markers=False),
        ],
        title="Actual and predicted",
        layout={"xaxis": {"title": "actual"}, "yaxis": {"title": "predicted"}},
    )
    residuals = (predicted - actual).tolist()
    visdom.plot(f"{win}-residuals", [{"type": "histogram", "x": residuals}], title="Residuals")


@library_task
def tensorboard_plots(task: Task) -> dict[str, Any]:
    """Example TensorBoard scalars, a histogram and a text, in run ``plots-<job id>`` of the folder
    ``TENSORBOARD_LOG_PATH``."""
    run = f"plots-{task.job}"
    writer = SummaryWriter(logdir=f"{task.required('TENSORBOARD_LOG_PATH')}/{run}")
    try:
        rng = np.random.default_rng(0)
        for step in range(50):
            writer.add_scalar("loss", math.exp(-step / 10) + 0.02 * rng.random(), step)
            writer.add_scalar("accuracy", 1 - math.exp(-step / 8), step)
            writer.add_histogram("weights", rng.normal(step / 25, 1, 200), step)
        writer.add_text("about", "drawn by runyard's Tensorboard_Plots", 0)
    finally:
        writer.close()
    print(f"{task.name}: wrote run {run}")
    return task.passthrough()


def _bind_or_start(task: Task, service: str, default_name: str, extra: dict[str, str]) -> ServiceInstance:
    values = {
        "INSTANCE_NAME": task.text("INSTANCE_NAME") or default_name,
        "PROXYFIED": str(task.flag("PROXYFIED", False)).lower(),
        "ENGINE": task.text("ENGINE") or "process",
        **extra,
    }
    service = task.text("SERVICE_ID") or service
    with psa.client() as api:
        instance = services.bind_or_start(api, service, values, parent_job_id=task.job_id)
    task.pass_on(INSTANCE_ID=str(instance["id"]), INSTANCE_NAME=values["INSTANCE_NAME"])
    print(f"{task.name}: {service} instance {instance['id']} ({values['INSTANCE_NAME']}) runs")
    return instance

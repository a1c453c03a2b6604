"""Public data sets (§12.2.1): ``Load_Iris_Dataset``, ``Load_Boston_Dataset``."""

from __future__ import annotations

from typing import Any

from runyard.ml import datasets
from runyard.ml.task import Task, library_task


def _load(task: Task, name: str) -> dict[str, Any]:
    frame = datasets.LOADERS[name]()
    task.show(f"the {name} data set", frame)
    return task.write_frame("data", frame, datasets.LABEL)


@library_task
def load_iris_dataset(task: Task) -> dict[str, Any]:
    return _load(task, "iris")


@library_task
def load_boston_dataset(task: Task) -> dict[str, Any]:
    return _load(task, "boston")

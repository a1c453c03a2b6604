"""AutoML tasks (§12.2.5), connected to ``Train_Model`` like the algorithm tasks.

``TPOT_Classifier`` / ``TPOT_Regressor`` name a TPOT 1.x search (``GENERATIONS``, ``SCORING``,
``CV``, ``VERBOSITY``; ``INPUT_VARIABLES`` adds any other TPOT argument, e.g. ``max_time_mins``);
``Train_Model`` runs the search and saves the best pipeline found. ``AutoSklearn_*`` refuse:
auto-sklearn does not build on Python 3.11.
"""

from __future__ import annotations

from typing import Any

from runyard.ml.library.algorithms import ALGORITHMS, CLASSIFICATION, REGRESSION, algorithm_artifact
from runyard.ml.task import Task, library_task

AUTOSKLEARN_REFUSAL = (
    "auto-sklearn is not available in runyard: it does not build on Python 3.11 (it needs an old "
    "scikit-learn and the pyrfr extension); use TPOT_Classifier / TPOT_Regressor instead"
)


def _tpot(task: Task, name: str, task_type: str, scoring: str) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "generations": task.integer("GENERATIONS", 3),
        "scorers": [task.text("SCORING", scoring)],
        "cv": task.integer("CV", 5),
        "verbose": task.integer("VERBOSITY", 1),
        "max_time_mins": 5,
        **task.json_object("INPUT_VARIABLES"),
    }
    return algorithm_artifact(task, ALGORITHMS[name], task_type, parameters)


@library_task
def tpot_classifier(task: Task) -> dict[str, Any]:
    return _tpot(task, "TPOT_Classifier", CLASSIFICATION, "accuracy")


@library_task
def tpot_regressor(task: Task) -> dict[str, Any]:
    return _tpot(task, "TPOT_Regressor", REGRESSION, "neg_mean_squared_error")


@library_task
def autosklearn_classifier(task: Task) -> dict[str, Any]:
    raise task.fail(AUTOSKLEARN_REFUSAL)


@library_task
def autosklearn_regressor(task: Task) -> dict[str, Any]:
    raise task.fail(AUTOSKLEARN_REFUSAL)

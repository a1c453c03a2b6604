"""Algorithm tasks (§12.2.6-12.2.10): each names an estimator and its keyword arguments
(``INPUT_VARIABLES``, a JSON object), for ``Train_Model`` to build and fit.

An algorithm task writes no file: its artifact is the estimator's name, family and arguments. The
estimator class comes from this module's table only, never from a name found in a result.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from runyard.ml import artifacts
from runyard.ml.task import Task, TaskFunction, library_task

CLASSIFICATION = "classification"
REGRESSION = "regression"
CLUSTERING = "clustering"
ANOMALY = "anomaly"
TYPES = {"Classification": CLASSIFICATION, "Regression": REGRESSION}
"""``TYPE`` of the ensemble tasks."""


@dataclass(frozen=True)
class Algorithm:
    """One algorithm task: its estimator class per task type, arguments it always gets, and what its
    fit needs around it (``fitting`` gives extra arguments for the time of the fit)."""

    name: str
    classes: dict[str, str]
    defaults: dict[str, Any] = field(default_factory=dict)
    fitting: Callable[[], AbstractContextManager[dict[str, Any]]] = lambda: contextlib.nullcontext({})
    numeric_classes: bool = False
    """The classifier wants classes 0..n-1 (XGBoost): text labels are encoded for it."""

    def build(self, task_type: str, parameters: dict[str, Any]) -> Any:
        module, _, name = self.classes[task_type].rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        return cls(**{**self.defaults, **parameters})


@contextlib.contextmanager
def _threads_only() -> Iterator[dict[str, Any]]:
    """TPOT 1.x evaluates on a Dask cluster, by default of worker *processes*, which a task process
    cannot spawn safely: give it a cluster of one worker thread instead."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield {"client": client}


def _one(name: str, task_type: str, path: str, **defaults: Any) -> Algorithm:
    return Algorithm(name, {task_type: path}, defaults)


def _tpot(name: str, task_type: str, path: str) -> Algorithm:
    return Algorithm(name, {task_type: path}, {"n_jobs": 1, "random_state": 42}, _threads_only)


def _ensemble(name: str, classifier: str, regressor: str, **defaults: Any) -> Algorithm:
    return Algorithm(name, {CLASSIFICATION: classifier, REGRESSION: regressor}, defaults)


ALGORITHMS = {
    a.name: a
    for a in (
        _one("Gaussian_Naive_Bayes", CLASSIFICATION, "sklearn.naive_bayes.GaussianNB"),
        _one("Logistic_Regression", CLASSIFICATION, "sklearn.linear_model.LogisticRegression", max_iter=1000),
        _one("Support_Vector_Machines", CLASSIFICATION, "sklearn.svm.SVC"),
        _one("Bayesian_Ridge_Regression", REGRESSION, "sklearn.linear_model.BayesianRidge"),
        _one("Linear_Regression", REGRESSION, "sklearn.linear_model.LinearRegression"),
        _one("Support_Vector_Regression", REGRESSION, "sklearn.svm.SVR"),
        _one("Isolation_Forest", ANOMALY, "sklearn.ensemble.IsolationForest", random_state=42),
        _one("One_Class_SVM", ANOMALY, "sklearn.svm.OneClassSVM"),
        _one("K_Means", CLUSTERING, "sklearn.cluster.KMeans", random_state=42, n_init="auto"),
        _one("Mean_Shift", CLUSTERING, "sklearn.cluster.MeanShift"),
        _ensemble("AdaBoost", "sklearn.ensemble.AdaBoostClassifier", "sklearn.ensemble.AdaBoostRegressor"),
        _ensemble(
            "CatBoost",
            "catboost.CatBoostClassifier",
            "catboost.CatBoostRegressor",
            verbose=False,
            allow_writing_files=False,
            thread_count=1,
        ),
        _ensemble(
            "Gradient_Boosting",
            "sklearn.ensemble.GradientBoostingClassifier",
            "sklearn.ensemble.GradientBoostingRegressor",
        ),
        _ensemble(
            "Random_Forest",
            "sklearn.ensemble.RandomForestClassifier",
            "sklearn.ensemble.RandomForestRegressor",
            random_state=42,
        ),
        Algorithm(
            "XGBoost",
            {CLASSIFICATION: "xgboost.XGBClassifier", REGRESSION: "xgboost.XGBRegressor"},
            {"n_jobs": 1},
            numeric_classes=True,
        ),
        _tpot("TPOT_Classifier", CLASSIFICATION, "tpot.TPOTClassifier"),
        _tpot("TPOT_Regressor", REGRESSION, "tpot.TPOTRegressor"),
    )
}


def algorithm_artifact(
    task: Task, algorithm: Algorithm, task_type: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    """Check that the estimator accepts ``parameters``; the ``algorithm`` artifact."""
    try:
        algorithm.build(task_type, parameters)
    except (TypeError, ValueError) as error:
        raise task.fail(f"INPUT_VARIABLES {parameters}: {error}") from None
    print(f"{task.name}: {algorithm.classes[task_type]} with {parameters or 'its default arguments'}")
    return {
        "kind": artifacts.ALGORITHM,
        "algorithm": algorithm.name,
        "estimator": algorithm.classes[task_type],
        "task_type": task_type,
        "parameters": parameters,
    }


def _task(algorithm: Algorithm) -> TaskFunction:
    def body(task: Task) -> dict[str, Any]:
        if len(algorithm.classes) == 1:
            task_type = next(iter(algorithm.classes))
        else:
            task_type = TYPES[task.choice("TYPE", "Classification", list(TYPES))]
        return algorithm_artifact(task, algorithm, task_type, task.json_object("INPUT_VARIABLES"))

    body.__name__ = body.__qualname__ = algorithm.name.lower()
    body.__doc__ = f"The ``{algorithm.name}`` task."
    return library_task(body)


gaussian_naive_bayes = _task(ALGORITHMS["Gaussian_Naive_Bayes"])
logistic_regression = _task(ALGORITHMS["Logistic_Regression"])
support_vector_machines = _task(ALGORITHMS["Support_Vector_Machines"])
bayesian_ridge_regression = _task(ALGORITHMS["Bayesian_Ridge_Regression"])
linear_regression = _task(ALGORITHMS["Linear_Regression"])
support_vector_regression = _task(ALGORITHMS["Support_Vector_Regression"])
isolation_forest = _task(ALGORITHMS["Isolation_Forest"])
one_class_svm = _task(ALGORITHMS["One_Class_SVM"])
k_means = _task(ALGORITHMS["K_Means"])
mean_shift = _task(ALGORITHMS["Mean_Shift"])
adaboost = _task(ALGORITHMS["AdaBoost"])
catboost = _task(ALGORITHMS["CatBoost"])
gradient_boosting = _task(ALGORITHMS["Gradient_Boosting"])
random_forest = _task(ALGORITHMS["Random_Forest"])
xgboost = _task(ALGORITHMS["XGBoost"])

"""The tutorial's flow (§3) in-process: data -> split -> algorithm -> Train_Model -> Predict_Model."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pandas as pd
import pytest

from runyard.ml.library import algorithms, data_io, datasets, prediction, preprocessing, training
from runyard.ml.library.algorithms import ALGORITHMS, ANOMALY, CLASSIFICATION, CLUSTERING, REGRESSION

from .conftest import Call


def test_tutorial_flow_regression(call: Call, userspace: Path) -> None:
    data = call(datasets.load_boston_dataset)
    split = call(preprocessing.split_data, data, TRAIN_SIZE="0.6")
    assert (split["train"]["rows"], split["test"]["rows"]) == (303, 203)
    scores = {}
    for algorithm in (algorithms.linear_regression, algorithms.support_vector_regression):
        model = call(training.train_model, call(algorithm), split, LABEL_COLUMN="LABEL")
        assert call(data_io.download_model, model)["download"] == model["path"]
        predicted = call(prediction.predict_model, model, split, LABEL_COLUMN="LABEL")
        scores[model["algorithm"]] = predicted["metrics"]
        page = call(data_io.preview_results, predicted)
        assert "<table" in (userspace / page["html"]).read_text()
    assert scores["Linear_Regression"]["r2"] > 0.6
    assert set(scores["Support_Vector_Regression"]) >= {"r2", "mae", "rmse", "mse"}
    sidecar = json.loads((userspace / model["sidecar"]).read_text())
    assert sidecar["features"][:2] == ["CRIM", "ZN"] and sidecar["label"] == "LABEL"
    assert sidecar["task_type"] == REGRESSION


def test_iris_classification_any_parent_order(call: Call) -> None:
    split = call(preprocessing.split_data, call(datasets.load_iris_dataset))
    model = call(
        training.train_model, split, call(algorithms.logistic_regression, INPUT_VARIABLES='{"C": 2}')
    )
    first = call(prediction.predict_model, model, split)
    second = call(prediction.predict_model, split, model)
    assert first["metrics"] == second["metrics"]
    assert first["metrics"]["accuracy"] > 0.9
    assert set(first["metrics"]) == {"rows", "accuracy", "f1", "precision", "recall"}
    assert json.loads(json.dumps(first)) == first  # the result is JSON for the API
    wrong = call(preprocessing.query_data, first, QUERY="LABEL != PREDICTIONS")  # predictions are a frame
    assert wrong["rows"] == round(45 * (1 - first["metrics"]["accuracy"]))


def test_predict_model_on_new_data_without_label(call: Call, userspace: Path, tmp_path: Path) -> None:
    split = call(preprocessing.split_data, call(datasets.load_iris_dataset))
    model = call(training.train_model, call(algorithms.gaussian_naive_bayes), split)
    new = tmp_path / "new.csv"
    pd.DataFrame({"sepal length (cm)": [5.1], "sepal width (cm)": [3.5], "petal length (cm)": [1.4],
                  "petal width (cm)": [0.2]}).to_csv(new, index=False)  # fmt: skip
    frame = call(data_io.import_data, FILE_URL=str(new))
    predicted = call(prediction.predict_model, model, frame)
    assert predicted["metrics"] == {"rows": 1}
    assert pd.read_parquet(userspace / predicted["path"])["PREDICTIONS"].tolist() == ["setosa"]


DATA = {CLASSIFICATION: "iris", REGRESSION: "boston", CLUSTERING: "iris", ANOMALY: "breast_cancer"}
EXPECTED = {
    CLASSIFICATION: "accuracy",
    REGRESSION: "r2",
    CLUSTERING: "silhouette",
    ANOMALY: "anomalies",
}
SMALL = {
    "CatBoost": '{"iterations": 30}',
    "XGBoost": '{"n_estimators": 20}',
    "Random_Forest": '{"n_estimators": 20}',
    "Gradient_Boosting": '{"n_estimators": 20}',
    "AdaBoost": '{"n_estimators": 20}',
    "Mean_Shift": '{"bandwidth": 1.0}',
}
CASES = [
    (name, task_type)
    for name, algorithm in ALGORITHMS.items()
    for task_type in algorithm.classes
    if not name.startswith("TPOT")
]


@pytest.mark.parametrize(("name", "task_type"), CASES, ids=[f"{n}-{t}" for n, t in CASES])
def test_every_algorithm_trains_and_predicts(call: Call, name: str, task_type: str) -> None:
    function = getattr(algorithms, name.lower())
    kind = "Regression" if task_type == REGRESSION else "Classification"
    data = call(data_io.import_data, FILE_URL=f"dataset:{DATA[task_type]}")
    split = call(preprocessing.split_data, data)
    small = SMALL.get(name, "{}")  # fewer trees: the test is about the contract, not the scores
    model = call(training.train_model, call(function, TYPE=kind, INPUT_VARIABLES=small), split)
    metrics = call(prediction.predict_model, model, split)["metrics"]
    assert EXPECTED[task_type] in metrics
    if task_type == CLASSIFICATION:
        assert metrics["accuracy"] > 0.8
    if task_type == REGRESSION and name != "Support_Vector_Regression":  # SVR needs scaled data
        assert metrics["r2"] > 0.5


def test_a_model_file_imported_predicts(call: Call, userspace: Path) -> None:
    split = call(preprocessing.split_data, call(datasets.load_iris_dataset))
    trained = call(training.train_model, call(algorithms.random_forest), split)
    (userspace / "mine").mkdir()
    joblib.dump(joblib.load(userspace / trained["path"]), userspace / "mine" / "model.pkl")
    imported = call(data_io.import_model, MODEL_URL="userspace:mine/model.pkl", LABEL_COLUMN="LABEL")
    assert imported["task_type"] == CLASSIFICATION and imported["features"] == trained["features"]
    assert call(prediction.predict_model, imported, split)["metrics"]["accuracy"] > 0.9


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")
def test_tpot_searches_and_its_best_pipeline_predicts(call: Call) -> None:
    from runyard.ml.library import automl_tasks

    split = call(preprocessing.split_data, call(datasets.load_iris_dataset))
    search = call(
        automl_tasks.tpot_classifier,
        GENERATIONS="1",
        CV="2",
        VERBOSITY="0",
        INPUT_VARIABLES='{"population_size": 4, "max_time_mins": 0.3, "max_eval_time_mins": 0.1}',
    )
    model = call(training.train_model, search, split)
    assert call(prediction.predict_model, model, split)["metrics"]["accuracy"] > 0.8

"""Each task on bad input fails with one line naming the task and what is wrong, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runyard.ml.errors import TaskInputError
from runyard.ml.library import (
    algorithms,
    automl_tasks,
    data_io,
    datasets,
    explainability,
    features,
    prediction,
    preprocessing,
    training,
)
from runyard.scripts import ScriptFailure

from .conftest import Call, make_call

# (task function, parents (names of fixtures below), variables, what the message says)
CASES: list[tuple[Callable[..., dict[str, Any]], tuple[str, ...], dict[str, str], str]] = [
    (data_io.import_data, (), {"FILE_URL": ""}, "variable FILE_URL is empty"),
    (data_io.import_data, (), {"FILE_URL": "{tmp}/none.csv"}, "FILE_URL {tmp}/none.csv: no such file"),
    (data_io.import_data, (), {"FILE_URL": "{tmp}/empty.csv"}, "the file is empty"),
    (data_io.import_data, (), {"FILE_URL": "http://127.0.0.1:9/x.csv"}, "cannot be downloaded"),
    (data_io.import_data, (), {"FILE_URL": "dataset:nope"}, "no such shipped data set"),
    (data_io.import_data, (), {"FILE_URL": "userspace:../../etc/passwd"}, "leads out of the user space"),
    (data_io.import_data, (), {"FILE_URL": "ftp://x/y"}, "unsupported scheme 'ftp'"),
    (
        data_io.import_data,
        (),
        {"FILE_URL": "dataset:iris", "LABEL_COLUMN": "kind"},
        "LABEL_COLUMN: 'kind' not a column",
    ),
    (data_io.export_data, ("iris",), {"OUTPUT_FILE": "TABLEAU"}, "needs Tableau's Hyper API"),
    (
        data_io.export_data,
        (),
        {},
        "needs a parent task giving a predictions or frame or split (its parents give nothing)",
    ),
    (
        data_io.preview_results,
        ("iris",),
        {"OUTPUT_FILE": "PDF"},
        "variable OUTPUT_FILE must be one of CSV, JSON, HTML, not 'PDF'",
    ),
    (data_io.download_model, ("iris",), {}, "needs a parent task giving a model (its parents give frame)"),
    (data_io.import_model, (), {"MODEL_URL": "{tmp}/empty.csv"}, "not a joblib or pickle model file"),
    (
        data_io.log_parser,
        (),
        {"LOG_FILE": "{tmp}/empty.csv", "PATTERNS_FILE": "{tmp}/x.csv"},
        "PATTERNS_FILE lacks",
    ),
    (
        preprocessing.split_data,
        ("iris",),
        {"TRAIN_SIZE": "1.5"},
        "TRAIN_SIZE must be a finite number in (0.0, 1.0)",
    ),
    (preprocessing.split_data, ("iris",), {"TRAIN_SIZE": "most"}, "TRAIN_SIZE must be a number"),
    (
        preprocessing.drop_columns,
        ("iris",),
        {"COLUMNS_NAME": "colour"},
        "COLUMNS_NAME: 'colour' not a column",
    ),
    (preprocessing.filter_columns, ("iris",), {}, "COLUMNS_NAME is empty"),
    (preprocessing.encode_data, ("iris",), {"COLUMNS_NAME": "x"}, "COLUMNS_NAME: 'x' not a column"),
    (preprocessing.fill_nans, ("iris",), {"FILL_MAP": "zero"}, "FILL_MAP must be a number"),
    (preprocessing.fill_nans, ("iris",), {"FILL_MAP": "inf"}, "FILL_MAP must be a finite number, not 'inf'"),
    (
        preprocessing.scale_data,
        ("iris",),
        {"SCALER_NAME": "MinMax"},
        "variable SCALER_NAME must be one of RobustScaler, StandardScaler",
    ),
    (preprocessing.scale_data, ("iris",), {"COLUMNS_NAME": "LABEL"}, "'LABEL' not numeric"),
    (preprocessing.rename_columns, ("iris",), {"COLUMNS_NAME": "[1]"}, "COLUMNS_NAME must be a JSON object"),
    (preprocessing.query_data, ("iris",), {"QUERY": "LABEL >"}, "QUERY 'LABEL >'"),
    (
        preprocessing.merge_data,
        ("iris",),
        {"REF_COLUMN": "x"},
        "needs two parent tasks giving a frame, got 1",
    ),
    (preprocessing.append_data, (), {}, "needs two parent tasks giving a frame, got 0"),
    (
        preprocessing.drop_nans,
        ("model",),
        {},
        "needs a parent task giving a frame or predictions (its parents give model)",
    ),
    (features.summarize_data, ("iris",), {"REF_COLUMN": "x"}, "REF_COLUMN: 'x' not a column"),
    (
        features.feature_vector_extractor,
        ("iris",),
        {"SESSION_COLUMN": "LABEL"},
        "PATTERN_COLUMN: 'id_pattern'",
    ),
    (features.tsfresh_features_extraction, ("iris",), {}, "TSFRESH is not installed"),
    (algorithms.logistic_regression, (), {"INPUT_VARIABLES": "{C: 1}"}, "INPUT_VARIABLES is not valid JSON"),
    (
        algorithms.logistic_regression,
        (),
        {"INPUT_VARIABLES": '{"colour": 1}'},
        "unexpected keyword argument 'colour'",
    ),
    (
        algorithms.random_forest,
        (),
        {"TYPE": "Ranking"},
        "variable TYPE must be one of Classification, Regression",
    ),
    (algorithms.k_means, (), {"TASK_ENABLED": "maybe"}, "TASK_ENABLED must be true or false"),
    (automl_tasks.tpot_classifier, (), {"GENERATIONS": "three"}, "GENERATIONS must be a whole number"),
    (
        datasets.load_iris_dataset,
        (),
        {"LIMIT_OUTPUT_VIEW": "all"},
        "LIMIT_OUTPUT_VIEW must be a whole number",
    ),
    (automl_tasks.autosklearn_classifier, (), {}, "auto-sklearn is not available"),
    (automl_tasks.autosklearn_regressor, (), {}, "does not build on Python 3.11"),
    (training.train_model, ("iris",), {}, "needs a parent task giving a algorithm"),
    (
        training.train_model,
        ("linear", "iris"),
        {},
        "'LABEL' is not numeric (object): a regressor needs numbers",
    ),
    (training.train_model, ("linear", "unlabelled"), {}, "LABEL_COLUMN is empty and the data has no label"),
    (
        training.train_model,
        ("linear", "iris"),
        {"LABEL_COLUMN": "price"},
        "LABEL_COLUMN: 'price' not a column",
    ),
    (training.train_model, ("bad_svm", "iris"), {}, "Support_Vector_Machines cannot be fitted"),
    (training.train_model, ("linear", "iris"), {"USE_NVIDIA_RAPIDS": "true"}, "USE_NVIDIA_RAPIDS is true"),
    (prediction.predict_model, ("model", "unlabelled_wine"), {}, "the model's features: 'sepal length (cm)'"),
    (prediction.predict_model, ("iris",), {}, "needs a parent task giving a model"),
    (
        explainability.model_explainability,
        ("model",),
        {"SHAP_ROW_SHOW": "99"},
        "SHAP_ROW_SHOW 99 is not a row",
    ),
    (
        explainability.model_explainability,
        ("model",),
        {"FEATURE_PARTIAL2D_PLOTS": "LABEL"},
        "'LABEL' not a column",
    ),
]


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad_input")
    (root / "empty.csv").write_text("")
    (root / "x.csv").write_text("a,b\n1,2\n")
    return root


@pytest.fixture(scope="module")
def call(space: Path) -> Call:
    """One user space for the module: the parents below are made once."""
    return make_call(space, space / "global")


@pytest.fixture(scope="module")
def parents(call: Call) -> dict[str, dict[str, Any]]:
    iris = call(datasets.load_iris_dataset)
    wine = call(data_io.import_data, FILE_URL="dataset:wine", PA_TASK_NAME="wine")
    split = call(preprocessing.split_data, iris)
    model = call(training.train_model, call(algorithms.gaussian_naive_bayes), split)
    return {
        "iris": iris,
        "unlabelled": {**iris, "label": None},
        "unlabelled_wine": {**wine, "label": None},
        "linear": call(algorithms.linear_regression),
        "bad_svm": call(algorithms.support_vector_machines, INPUT_VARIABLES='{"C": -1}'),
        "model": model,
    }


@pytest.mark.parametrize(
    ("function", "inputs", "variables", "message"), CASES, ids=[f"{c[0].__name__}-{c[3][:30]}" for c in CASES]
)
def test_bad_input_is_one_clear_line(
    call: Call,
    parents: dict[str, dict[str, Any]],
    space: Path,
    function: Callable[..., dict[str, Any]],
    inputs: tuple[str, ...],
    variables: dict[str, str],
    message: str,
) -> None:
    given = {k: v.replace("{tmp}", str(space)) for k, v in variables.items()}
    with pytest.raises(TaskInputError) as caught:
        call(function, *(parents[p] for p in inputs), **given)
    text = str(caught.value)
    assert isinstance(caught.value, ScriptFailure)
    assert text.startswith(f"{function.__name__}: "), text
    assert message.replace("{tmp}", str(space)) in text, text
    assert "\n" not in text and "Traceback" not in text

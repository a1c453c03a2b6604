"""Model_Explainability writes SHAP and partial dependence pictures."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.ml.library import algorithms, data_io, explainability, preprocessing, training

from .conftest import Call


# SHAP's import calls a matplotlib function that matplotlib plans to deprecate.
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_shap_and_partial_dependence_pictures(call: Call, userspace: Path) -> None:
    split = call(preprocessing.split_data, call(data_io.import_data, FILE_URL="dataset:wine"))
    model = call(
        training.train_model, call(algorithms.random_forest, INPUT_VARIABLES='{"n_estimators": 10}'), split
    )
    report = call(
        explainability.model_explainability,
        model,
        FEATURE_PARTIAL2D_PLOTS="alcohol,proline",
        SHAP_ROW_SHOW="3",
    )
    names = [Path(f).name for f in report["files"]]
    assert names[:2] == ["shap_importance.png", "shap_row_3.png"] and names[-1] == "pdp2d_alcohol_proline.png"
    assert len(names) == 5  # and two 1D plots of the most important features
    for file in report["files"]:
        assert (userspace / file).read_bytes()[:4] == b"\x89PNG"
    assert len(report["importance"]) == 13 and all(v >= 0 for v in report["importance"].values())

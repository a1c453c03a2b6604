"""Import_Data from every FILE_URL form, Export_Data, Preview_Results, Log_Parser, TASK_ENABLED."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from runyard.ml.library import data_io, datasets, preprocessing

from .conftest import Call


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback http server of a folder holding ``prices.csv``."""
    folder = tmp_path_factory.mktemp("served")
    (folder / "prices.csv").write_text("size;price\n10;100\n20;210\n30;290\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


def test_import_data_from_every_form(call: Call, userspace: Path, tmp_path: Path, served: str) -> None:
    csv = tmp_path / "prices.csv"
    csv.write_text("size;price\n10;100\n20;210\n")
    (userspace / "data").mkdir()
    (userspace / "data" / "prices.csv").write_text(csv.read_text())
    (tmp_path / "global").mkdir()
    (tmp_path / "global" / "prices.csv").write_text(csv.read_text())
    for url in (
        str(csv),
        csv.as_uri(),
        "userspace:data/prices.csv",
        "globalspace:prices.csv",
        f"{served}/prices.csv",
    ):
        frame = call(data_io.import_data, FILE_URL=url, FILE_DELIMITER=";", LABEL_COLUMN="price")
        assert frame["columns"] == ["size", "price"] and frame["label"] == "price", url
        assert frame["rows"] >= 2
    typed = call(data_io.import_data, FILE_URL="dataset:iris", DATA_TYPE_IDENTIFICATION="true")
    assert typed["feature_types"]["LABEL"] == "categorical"
    assert typed["feature_types"]["sepal length (cm)"] == "numerical"


def test_export_and_preview(call: Call, userspace: Path) -> None:
    data = call(datasets.load_iris_dataset)
    for form in ("CSV", "JSON", "HTML"):
        exported = call(data_io.export_data, data, OUTPUT_FILE=form, LIMIT_OUTPUT_VIEW="5")
        path = userspace / exported["files"][0]
        assert path.name == f"export.{form.lower()}"
    assert len(json.loads(path.with_suffix(".json").read_text())) == 5
    assert pd.read_csv(path.with_suffix(".csv")).shape == (5, 5)
    preview = call(data_io.preview_results, data, OUTPUT_FILE="JSON", LIMIT_OUTPUT_VIEW="3")
    assert preview["html"] == "ml/7/preview_results/preview.html"
    assert [Path(f).name for f in preview["files"]] == ["preview.html", "preview.json"]
    assert (userspace / preview["html"]).read_text().count("<td>setosa</td>") == 3


def test_log_parser_and_feature_vectors(call: Call, tmp_path: Path) -> None:
    from runyard.ml.library import features

    log = tmp_path / "app.log"
    log.write_text("s1 login alice\ns1 read x\ns2 login bob\nnoise\ns2 read y\ns2 read z\n")
    patterns = tmp_path / "patterns.csv"
    rows = ['1,(\\w+) login (\\w+),"session,user"', '2,(\\w+) read (\\w+),"session,*"']
    patterns.write_text("\n".join(["id_pattern,Pattern,Variables", *rows]) + "\n")
    parsed = call(data_io.log_parser, LOG_FILE=str(log), PATTERNS_FILE=str(patterns))
    assert parsed["rows"] == 5 and parsed["columns"] == ["id_pattern", "session", "user"]
    vectors = call(
        features.feature_vector_extractor, parsed, SESSION_COLUMN="session", COUNT_VARIABLES="user"
    )
    assert vectors["columns"] == ["session", "pattern_1", "pattern_2", "distinct_user"]


def test_task_enabled_false_passes_the_inputs_through(call: Call) -> None:
    data = call(datasets.load_iris_dataset)
    assert call(preprocessing.drop_columns, data, TASK_ENABLED="false") == data
    split = call(preprocessing.split_data, data)
    bundle = call(data_io.preview_results, data, split, TASK_ENABLED="False")
    assert bundle == {"kind": "inputs", "items": [data, split]}
    # A child sees through the bundle.
    assert call(data_io.export_data, bundle, OUTPUT_FILE="CSV")["rows"] == 150


def test_an_empty_flag_takes_its_default(call: Call) -> None:
    data = call(datasets.load_iris_dataset, TASK_ENABLED="")
    assert "feature_types" not in call(
        data_io.import_data, FILE_URL="dataset:iris", DATA_TYPE_IDENTIFICATION=""
    )
    assert data["kind"] == "frame"

"""The preprocessing and feature tasks, each on a small frame the test writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from runyard.ml.library import data_io, features, preprocessing

from .conftest import Call


def _frame(call: Call, tmp_path: Path, name: str, text: str, label: str = "") -> dict[str, Any]:
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    return call(data_io.import_data, FILE_URL=str(path), LABEL_COLUMN=label, PA_TASK_NAME=f"Import_{name}")


def test_preprocessing_tasks(call: Call, userspace: Path, tmp_path: Path) -> None:
    data = _frame(
        call,
        tmp_path,
        "a",
        "id,colour,size,price\n1,red,1.5,10\n2,blue,,20\n3,red,inf,30\n4,green,4,40\n",
        "price",
    )

    def read(artifact: dict[str, Any]) -> pd.DataFrame:
        return pd.read_parquet(userspace / artifact["path"])

    assert call(preprocessing.drop_columns, data, COLUMNS_NAME="id, size")["columns"] == ["colour", "price"]
    assert call(preprocessing.filter_columns, data, COLUMNS_NAME="price,id")["columns"] == ["price", "id"]
    assert call(preprocessing.drop_nans, data)["rows"] == 2
    assert read(call(preprocessing.fill_nans, data, FILL_MAP="-1"))["size"].tolist()[:2] == [1.5, -1.0]
    encoded = call(preprocessing.encode_data, data, COLUMNS_NAME="colour")
    assert read(encoded)["colour"].tolist() == [2, 0, 2, 1]
    assert encoded["encodings"] == {"colour": {"blue": 0, "green": 1, "red": 2}}
    scaled = read(call(preprocessing.scale_data, data, SCALER_NAME="StandardScaler", COLUMNS_NAME="id"))
    assert abs(scaled["id"].mean()) < 1e-9 and scaled["price"].tolist() == [10, 20, 30, 40]
    renamed = call(preprocessing.rename_columns, data, COLUMNS_NAME='{"price": "cost"}')
    assert renamed["columns"][-1] == "cost" and renamed["label"] == "cost"
    queried = call(preprocessing.query_data, data, QUERY="price > 15 and colour == 'red'")
    assert queried["rows"] == 1 and (userspace / queried["files"][0]).name == "filtered.csv"
    other = _frame(call, tmp_path, "b", "id,weight\n1,5\n2,6\n9,7\n")
    assert call(preprocessing.append_data, data, other)["rows"] == 7
    merged = call(preprocessing.merge_data, data, other, REF_COLUMN="id")
    assert merged["rows"] == 2 and merged["columns"][-1] == "weight"
    summary = call(features.summarize_data, data, REF_COLUMN="colour")
    assert summary["rows"] == 3 and "CLUSTER" in summary["columns"]

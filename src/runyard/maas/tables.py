"""The rows a client sends to score, in the three JSON shapes a predict call accepts.

* ``{"columns": [...], "rows": [[...], ...]}`` (ours);
* ``{"columns": [...], "index": [...], "data": [[...], ...]}`` (pandas ``to_json(orient="split")``);
* ``[{"column": value, ...}, ...]`` (pandas ``orient="records"``; every record with the same keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from runyard.maas.defaults import MAX_COLUMN_NAME, MAX_COLUMNS, MAX_ROWS
from runyard.maas.errors import RequestRefused, TooLarge

_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Table:
    """Rows of named columns; ``numbers`` holds them as float64 when every value is a number."""

    columns: tuple[str, ...]
    rows: Sequence[Sequence[Any]]
    numbers: np.ndarray | None

    def __len__(self) -> int:
        return len(self.rows)


def read_table(data: object) -> Table:
    """``data`` as a :class:`Table`; :class:`RequestRefused` saying what is wrong with it."""
    if isinstance(data, list):
        return _from_records(data)
    if not isinstance(data, dict):
        raise RequestRefused(
            "data must be {'columns': [...], 'rows': [[...]]}, pandas 'split' or 'records' JSON"
        )
    columns = data.get("columns")
    rows = data.get("rows", data.get("data"))
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise RequestRefused("data.columns must be a list of column names")
    _check_columns(columns)
    if not isinstance(rows, list):
        raise RequestRefused("data.rows must be a list of rows")
    return _table(tuple(columns), rows)


def _from_records(records: list[Any]) -> Table:
    if not records or not isinstance(records[0], dict):
        raise RequestRefused("data as records must be a non-empty list of objects")
    columns = tuple(records[0])
    _check_columns(columns)
    if len(records) > MAX_ROWS:
        raise TooLarge(f"at most {MAX_ROWS} rows per call")
    rows = []
    for i, record in enumerate(records):
        if not isinstance(record, dict) or tuple(record) != columns:
            raise RequestRefused(f"record {i} does not have the keys of record 0 ({list(columns)})")
        rows.append(list(record.values()))
    return _table(columns, rows)


def _check_columns(columns: Sequence[str]) -> None:
    if len(columns) > MAX_COLUMNS:
        raise TooLarge(f"at most {MAX_COLUMNS} columns")
    if any(len(name) > MAX_COLUMN_NAME for name in columns):
        raise RequestRefused(f"column names have at most {MAX_COLUMN_NAME} characters")
    if len(set(columns)) != len(columns):
        raise RequestRefused("data.columns names a column twice")


def _table(columns: tuple[str, ...], rows: list[Any]) -> Table:
    if not rows:
        raise RequestRefused("no rows to score")
    if len(rows) > MAX_ROWS:
        raise TooLarge(f"at most {MAX_ROWS} rows per call")
    try:
        numbers = np.array(rows, dtype=np.float64)
    except (ValueError, TypeError):
        numbers = None
    if numbers is not None and numbers.shape == (len(rows), len(columns)):
        return Table(columns, rows, numbers)
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise RequestRefused(f"row {i} is not a list of values")
        if len(row) != len(columns):
            raise RequestRefused(f"row {i} has {len(row)} values, {len(columns)} columns were named")
        bad = next((v for v in row if not isinstance(v, _SCALARS)), None)
        if bad is not None:
            raise RequestRefused(f"row {i} holds a {type(bad).__name__}: values must be numbers or strings")
    return Table(columns, rows, None)

"""A model's drift baseline: the numeric columns of the ``baseline_data`` CSV deployed with it."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from runyard.maas.defaults import MAX_COLUMN_NAME, MAX_COLUMNS, SEED
from runyard.maas.errors import RequestRefused, TooLarge


@dataclass(frozen=True)
class Baseline:
    """Each numeric column's values (NaN left out), with its mean and standard deviation."""

    columns: dict[str, np.ndarray]
    means: dict[str, float]
    stds: dict[str, float]
    """1.0 where the baseline's deviation is 0, so that z-scores stay finite."""

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Baseline:
        numeric = frame.select_dtypes("number")
        columns = {str(name): numeric[name].dropna().to_numpy(dtype=np.float64) for name in numeric.columns}
        columns = {name: values for name, values in columns.items() if len(values)}
        means = {name: float(values.mean()) for name, values in columns.items()}
        stds = {name: float(values.std()) or 1.0 for name, values in columns.items()}
        return cls(columns, means, stds)

    def z(self, column: str, values: np.ndarray) -> np.ndarray:
        """``values`` as z-scores against the column."""
        return (values - self.means[column]) / self.stds[column]


def read_csv(data: bytes, window: int | None) -> pd.DataFrame:
    """The CSV ``data`` (header row first), or ``window`` of its rows sampled with a fixed seed."""
    try:
        frame = pd.read_csv(io.BytesIO(data))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise RequestRefused(f"baseline_data is not a CSV file with a header row: {error}") from None
    if frame.empty:
        raise RequestRefused("baseline_data has no rows")
    if len(frame.columns) > MAX_COLUMNS:
        raise TooLarge(f"baseline_data has more than {MAX_COLUMNS} columns")
    if any(len(str(name)) > MAX_COLUMN_NAME for name in frame.columns):
        raise RequestRefused(f"baseline_data's column names have at most {MAX_COLUMN_NAME} characters")
    if window is not None and window < len(frame):
        frame = frame.sample(n=window, random_state=SEED).reset_index(drop=True)
    return frame


def to_csv(frame: pd.DataFrame) -> bytes:
    text: str = frame.to_csv(index=False)
    return text.encode()

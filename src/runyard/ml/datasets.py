"""Data sets shipped with runyard, so that the example pipelines run offline (``dataset:NAME``).

scikit-learn's bundled sets, plus the Boston house prices (removed from scikit-learn in 1.2; the
506-row CSV is shipped as data, see docs/machine-learning.md for its known problem with column B).
Each loader gives one frame whose target column is ``LABEL``, as ProActive's loaders name it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import pandas as pd

LABEL = "LABEL"


def _sklearn(load: str, names: bool = False) -> Callable[[], pd.DataFrame]:
    def loader() -> pd.DataFrame:
        # Imported when used: sklearn.datasets costs 1.2 s, which Import_Data of a CSV need not pay.
        from sklearn import datasets as sk

        bunch = getattr(sk, load)(as_frame=True)
        frame: pd.DataFrame = bunch.frame.rename(columns={"target": LABEL})
        if names:  # class names instead of codes, as in the usual Iris CSV
            frame[LABEL] = pd.Categorical.from_codes(frame[LABEL], bunch.target_names).astype(str)
        return frame

    return loader


def boston() -> pd.DataFrame:
    with resources.files("runyard.ml").joinpath("data/boston_house_prices.csv").open("rb") as csv:
        return pd.read_csv(csv).rename(columns={"MEDV": LABEL})


LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "iris": _sklearn("load_iris", names=True),
    "wine": _sklearn("load_wine"),
    "breast_cancer": _sklearn("load_breast_cancer"),
    "diabetes": _sklearn("load_diabetes"),
    "digits": _sklearn("load_digits"),
    "boston": boston,
}

"""Drift detection on the rows of a predict call, column by column, against the model's baseline.

``T`` is ``DRIFT_THRESHOLD`` (default 1.9). Values are compared as z-scores, ``z = (x - mean) / std``
with the baseline column's mean and standard deviation, and ``alpha(T) = 2·exp(-2·T²)`` is the
significance level whose Kolmogorov critical coefficient is ``T`` (0.0015 at 1.9).

Streaming detectors (river) are fed the baseline column, then the new rows; a drift signalled while
the new rows are fed marks that row (its index in the request) and the column:

* ``HDDM_A``, ``HDDM_W`` (river ``HDDMA``, ``HDDMW``, defaults): fed 1 when ``|z| > T``, else 0;
* ``PAGE_HINKLEY``: fed ``z``, ``delta = T/4``, ``threshold = 25·T``;
* ``ADWIN``: fed ``z``, ``delta = alpha(T)``;
* ``KSWIN``: fed ``z``, ``alpha = alpha(T)/100`` (a test runs at every row), window 200, 60 recent.

Two-sample tests compare the new rows of a column with its baseline at once:

* ``KS`` (scipy): drift when ``D > T·sqrt((n+m)/(n·m))``, i.e. when the p-value is below ``alpha(T)``;
* ``PSI``: over the baseline's deciles, drift when the population stability index exceeds ``T/10``.

For these two, the rows named are those whose value in a drifted column has ``|z| > T``. Each column's
``statistic``: ``D`` (KS), the index (PSI), the share of new rows with ``|z| > T`` (HDDM) or the number
of drift signals (Page-Hinkley, ADWIN, KSWIN); ``shift`` is the mean ``z`` of its new rows.
"""

from __future__ import annotations

import math
import pickle
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from river.drift import ADWIN, KSWIN, PageHinkley
from river.drift.binary import HDDMA, HDDMW
from scipy.stats import ks_2samp

from runyard.maas.baselines import Baseline
from runyard.maas.defaults import SEED
from runyard.maas.errors import RequestRefused
from runyard.maas.tables import Table

STREAMING = ("HDDM_A", "HDDM_W", "PAGE_HINKLEY", "ADWIN", "KSWIN")
DETECTORS = (*STREAMING, "KS", "PSI")
DEFAULT_DETECTOR = "HDDM_A"
_ALIASES = {"HDDM": "HDDM_A", "PH": "PAGE_HINKLEY", "PAGEHINKLEY": "PAGE_HINKLEY"}
_PSI_FLOOR = 1e-4


class RiverDetector(Protocol):
    """What the drift detectors of river have in common."""

    @property
    def drift_detected(self) -> bool: ...

    def update(self, x: float) -> Any: ...


def detector_name(requested: object) -> str:
    """The detector ``requested`` names (``HDDM_A`` when None), in its canonical spelling."""
    if requested is None:
        return DEFAULT_DETECTOR
    if not isinstance(requested, str):
        raise RequestRefused(f"detector must be one of {list(DETECTORS)}")
    name = requested.strip().upper().replace(" ", "_").replace("-", "_")
    name = _ALIASES.get(name.replace("_", ""), _ALIASES.get(name, name))
    if name not in DETECTORS:
        raise RequestRefused(f"unknown detector {requested!r}: one of {list(DETECTORS)}")
    return name


def alpha(threshold: float) -> float:
    """The significance level matching ``threshold`` as a Kolmogorov critical coefficient."""
    return 2 * math.exp(-2 * threshold * threshold)


class DriftDetection:
    """The detectors on one baseline; river detectors primed with the baseline are kept and copied."""

    def __init__(self, baseline: Baseline, threshold: float) -> None:
        self.baseline = baseline
        self.threshold = threshold
        self._primed_states: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def detect(self, detector: str, table: Table) -> dict[str, Any]:
        """The drift answer of a predict call: drifted columns and rows, and each column's details."""
        details: dict[str, dict[str, Any]] = {}
        unchecked: list[str] = []
        for position, column in enumerate(table.columns):
            values = _column(table, position)
            if column not in self.baseline.columns or values is None:
                unchecked.append(column)
                continue
            details[column] = self._column(detector, column, values)
        drifted = [column for column, found in details.items() if found["drift"]]
        rows = sorted({row for column in drifted for row in details[column]["rows"]})
        return {
            "detector": detector,
            "threshold": self.threshold,
            "columns": drifted,
            "rows": rows,
            "details": details,
            "unchecked_columns": unchecked,
        }

    def _column(self, detector: str, column: str, values: np.ndarray) -> dict[str, Any]:
        known = ~np.isnan(values)
        z = self.baseline.z(column, values)
        shift = float(z[known].mean()) if known.any() else 0.0
        if detector in STREAMING:
            rows, statistic = self._stream(detector, column, z, known)
        elif detector == "KS":
            rows, statistic = self._ks(column, values[known], z, known)
        else:
            rows, statistic = self._psi(column, values[known], z, known)
        return {"drift": bool(rows), "rows": rows, "statistic": statistic, "shift": shift}

    def _stream(
        self, detector: str, column: str, z: np.ndarray, known: np.ndarray
    ) -> tuple[list[int], float]:
        fed = (np.abs(z) > self.threshold).astype(np.float64) if detector.startswith("HDDM") else z
        river: RiverDetector = pickle.loads(self._primed(detector, column))
        rows = []
        for row in np.flatnonzero(known).tolist():
            river.update(float(fed[row]))
            if river.drift_detected:
                rows.append(row)
        if detector.startswith("HDDM"):
            return rows, float(fed[known].mean()) if known.any() else 0.0
        return rows, float(len(rows))

    def _primed(self, detector: str, column: str) -> bytes:
        """The detector fed with the baseline column, pickled (a copy per call is an unpickling, twice
        as fast as a deep copy)."""
        key = (detector, column)
        with self._lock:
            primed = self._primed_states.get(key)
            if primed is None:
                river = _STREAMING_FACTORIES[detector](self.threshold)
                base = self.baseline.z(column, self.baseline.columns[column])
                if detector.startswith("HDDM"):
                    base = (np.abs(base) > self.threshold).astype(np.float64)
                for value in base.tolist():
                    river.update(value)
                primed = self._primed_states[key] = pickle.dumps(river)
            return primed

    def _ks(
        self, column: str, values: np.ndarray, z: np.ndarray, known: np.ndarray
    ) -> tuple[list[int], float]:
        base = self.baseline.columns[column]
        if not len(values):
            return [], 0.0
        statistic = float(ks_2samp(base, values).statistic)
        n, m = len(base), len(values)
        drift = statistic > self.threshold * math.sqrt((n + m) / (n * m))
        return self._outliers(z, known) if drift else [], statistic

    def _psi(
        self, column: str, values: np.ndarray, z: np.ndarray, known: np.ndarray
    ) -> tuple[list[int], float]:
        base = self.baseline.columns[column]
        if not len(values):
            return [], 0.0
        edges = np.unique(np.quantile(base, np.linspace(0.2, 0.8, 4)))
        expected = np.bincount(np.searchsorted(edges, base, side="right"), minlength=len(edges) + 1) / len(
            base
        )
        actual = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1) / len(
            values
        )
        expected, actual = np.maximum(expected, _PSI_FLOOR), np.maximum(actual, _PSI_FLOOR)
        psi = float(np.sum((actual - expected) * np.log(actual / expected)))
        return self._outliers(z, known) if psi > self.threshold / 10 else [], psi

    def _outliers(self, z: np.ndarray, known: np.ndarray) -> list[int]:
        return np.flatnonzero(known & (np.abs(np.nan_to_num(z)) > self.threshold)).tolist()


def _column(table: Table, position: int) -> np.ndarray | None:
    """A column of the table as floats (NaN where missing), or None when it holds text."""
    if table.numbers is not None:
        return table.numbers[:, position]
    try:
        return np.array([row[position] for row in table.rows], dtype=np.float64)
    except (ValueError, TypeError):
        return None


_STREAMING_FACTORIES: dict[str, Callable[[float], RiverDetector]] = {
    "HDDM_A": lambda t: HDDMA(),  # type: ignore[no-untyped-call]
    "HDDM_W": lambda t: HDDMW(),  # type: ignore[no-untyped-call]
    "PAGE_HINKLEY": lambda t: PageHinkley(delta=t / 4, threshold=25 * t),
    "ADWIN": lambda t: ADWIN(delta=alpha(t)),  # type: ignore[no-untyped-call]
    "KSWIN": lambda t: KSWIN(alpha=alpha(t) / 100, window_size=200, stat_size=60, seed=SEED),
}

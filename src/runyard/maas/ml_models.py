"""MaaS_ML's models: every version deployed once, kept in the state folder, served while deployed.

Each version lives in ``<state>/models/<name>/<version>/`` (``model.bin``, ``baseline.csv`` when
given, ``meta.json``), so a restart serves the same versions. Several versions of several models may
be deployed at once; a predict call naming no version gets the version of that name deployed (or
redeployed) last. Changes build new :class:`ModelVersion` objects and replace them in the maps, so a
request in flight keeps a consistent view without a lock.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from runyard.maas.baselines import Baseline, read_csv, to_csv
from runyard.maas.drift import DriftDetection
from runyard.maas.errors import RequestRefused, UnknownModel
from runyard.maas.files import write_atomically
from runyard.maas.model_files import load_model
from runyard.maas.predictors import Predictor
from runyard.maas.runtime import now

log = logging.getLogger(__name__)
_MODEL, _BASELINE, _META = "model.bin", "baseline.csv", "meta.json"


@dataclass(frozen=True)
class ModelVersion:
    """One version of a model: what ``meta.json`` holds, and, while deployed, the loaded model."""

    model_name: str
    model_version: int
    format: str
    deployed: bool
    deployed_at: str
    deployed_by: str
    baseline_columns: list[str]
    drift_window_size: int | None
    logging_prediction: bool
    features: list[str] | None
    predictor: Predictor | None = field(default=None, compare=False, repr=False)
    drift: DriftDetection | None = field(default=None, compare=False, repr=False)

    def meta(self) -> dict[str, Any]:
        """The JSON-ready description (``list_models``, ``meta.json``)."""
        described = asdict(replace(self, predictor=None, drift=None))
        del described["predictor"], described["drift"]
        return described


@dataclass(frozen=True)
class Deployment:
    """What a deploy call brings."""

    model_name: str
    model_version: int | None
    model_file: bytes
    baseline_data: bytes | None
    drift_window_size: int | None
    logging_prediction: bool
    user: str


class ModelRegistry:
    """The versions of every model, under ``root``; drift thresholds are ``threshold``."""

    def __init__(self, root: Path, threshold: float) -> None:
        self._root = root
        self._threshold = threshold
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, int], ModelVersion] = {}
        self._latest: dict[str, ModelVersion] = {}
        for meta in sorted(root.glob(f"*/*/{_META}")):
            saved = ModelVersion(**json.loads(meta.read_text()))
            if saved.deployed:
                try:
                    saved = self._loaded(saved)
                except RequestRefused as error:  # e.g. unpicklable with the libraries installed now
                    log.error("%s version %d not served: %s", saved.model_name, saved.model_version, error)
                    saved = replace(saved, deployed=False)
            self._versions[saved.model_name, saved.model_version] = saved
        self._refresh_latest()

    def served(self, name: str, version: int | None) -> ModelVersion:
        """The deployed version ``version`` of ``name`` (the latest deployed when None)."""
        found = self._latest.get(name) if version is None else self._versions.get((name, version))
        if found is None or not found.deployed:
            raise UnknownModel(
                f"no deployed model {name!r}" + ("" if version is None else f" version {version}")
            )
        return found

    def deploy(self, deployment: Deployment) -> ModelVersion:
        """Load, save and serve a new version; nothing is kept when the file is not a model."""
        predictor = load_model(deployment.model_file)
        baseline = None
        if deployment.baseline_data is not None:
            baseline = read_csv(deployment.baseline_data, deployment.drift_window_size)
        with self._lock:
            name = deployment.model_name
            taken = [v for (n, v) in self._versions if n == name]
            version = deployment.model_version or max(taken, default=0) + 1
            if version in taken:
                raise RequestRefused(
                    f"{name} version {version} exists: redeploy it, or deploy another version"
                )
            added = ModelVersion(
                model_name=name,
                model_version=version,
                format=predictor.format,
                deployed=True,
                deployed_at=now(),
                deployed_by=deployment.user,
                baseline_columns=[] if baseline is None else [str(c) for c in baseline.columns],
                drift_window_size=deployment.drift_window_size,
                logging_prediction=deployment.logging_prediction,
                features=predictor.features,
                predictor=predictor,
                drift=None if baseline is None else DriftDetection(Baseline.of(baseline), self._threshold),
            )
            folder = self._folder(name, version)
            write_atomically(folder / _MODEL, deployment.model_file)
            if baseline is not None:
                write_atomically(folder / _BASELINE, to_csv(baseline))
            self._save(added)
            return added

    def undeploy(self, name: str, version: int) -> ModelVersion:
        """Stop serving a version (it stays saved: it can be redeployed)."""
        with self._lock:
            found = self._existing(name, version)
            if not found.deployed:
                raise RequestRefused(f"{name} version {version} is not deployed")
            return self._save(replace(found, deployed=False, predictor=None, drift=None))

    def redeploy(self, name: str, version: int, user: str) -> ModelVersion:
        """Serve a saved version again; it becomes the one predict calls without a version get."""
        with self._lock:
            found = self._existing(name, version)
        loaded = self._loaded(replace(found, deployed=True, deployed_at=now(), deployed_by=user))
        with self._lock:
            return self._save(loaded)

    def update(
        self, name: str, version: int | None, baseline_data: bytes, window: int | None
    ) -> ModelVersion:
        """Replace the drift baseline of a deployed version (the latest when None)."""
        baseline = read_csv(baseline_data, window)
        with self._lock:
            found = self.served(name, version)
            write_atomically(self._folder(name, found.model_version) / _BASELINE, to_csv(baseline))
            return self._save(
                replace(
                    found,
                    baseline_columns=[str(c) for c in baseline.columns],
                    drift_window_size=window,
                    drift=DriftDetection(Baseline.of(baseline), self._threshold),
                )
            )

    def listing(self) -> list[dict[str, Any]]:
        """Every model with its versions, and the version served by default."""
        names = sorted({name for name, _ in self._versions})
        return [
            {
                "model_name": name,
                "default_version": self._latest[name].model_version if name in self._latest else None,
                "versions": [v.meta() for (n, _), v in sorted(self._versions.items()) if n == name],
            }
            for name in names
        ]

    def _existing(self, name: str, version: int) -> ModelVersion:
        found = self._versions.get((name, version))
        if found is None:
            raise UnknownModel(f"no model {name!r} version {version}")
        return found

    def _loaded(self, version: ModelVersion) -> ModelVersion:
        """``version`` with its model and baseline read from its folder."""
        folder = self._folder(version.model_name, version.model_version)
        baseline_file = folder / _BASELINE
        drift = None
        if baseline_file.exists():
            drift = DriftDetection(Baseline.of(read_csv(baseline_file.read_bytes(), None)), self._threshold)
        return replace(version, predictor=load_model((folder / _MODEL).read_bytes()), drift=drift)

    def _save(self, version: ModelVersion) -> ModelVersion:
        """Write ``version``'s ``meta.json`` and serve it as it now is (call with the lock held)."""
        folder = self._folder(version.model_name, version.model_version)
        write_atomically(folder / _META, json.dumps(version.meta(), indent=1).encode())
        # Replaced, not changed: a listing in another thread iterates the map it started with.
        self._versions = {**self._versions, (version.model_name, version.model_version): version}
        self._refresh_latest()
        return version

    def _refresh_latest(self) -> None:
        latest: dict[str, ModelVersion] = {}
        for version in self._versions.values():
            if version.deployed:
                known = latest.get(version.model_name)
                if known is None or (version.deployed_at, version.model_version) > (
                    known.deployed_at,
                    known.model_version,
                ):
                    latest[version.model_name] = version
        self._latest = latest

    def _folder(self, name: str, version: int) -> Path:
        return self._root / name / str(version)

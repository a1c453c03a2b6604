"""MaaS_DL's models: ONNX versions saved under the model base path, and the set served from them.

Versions live in ``<MODEL_BASE_PATH>/<name>/<version>/model.onnx``. Which are served is the model
configuration (``<state>/model_config.json``, TensorFlow Serving's idea in JSON)::

    {"model_config_list": [{"name": "mnist", "base_path": "<MODEL_BASE_PATH>/mnist",
                            "versions": [1, 2], "default_version": 2}]}

A change loads every new session first, then replaces the whole served map in one assignment: a
request in flight keeps the map it started with, so none fails during a switch. The file is re-read
when it changed on disk (:meth:`DLRepository.refresh`, every ``--refresh`` seconds).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runyard.maas.errors import RequestRefused, UnknownModel
from runyard.maas.files import write_atomically
from runyard.maas.model_files import load_onnx
from runyard.maas.names import checked_name, checked_version
from runyard.maas.predictors import OnnxPredictor

log = logging.getLogger(__name__)
_FILE = "model.onnx"


@dataclass(frozen=True)
class ServedModel:
    """The served versions of one model, and the one a request naming no version gets."""

    name: str
    versions: dict[int, OnnxPredictor]
    default_version: int


class DLRepository:
    """Saved versions under ``base``; served ones as the configuration at ``config_path`` says."""

    def __init__(self, base: Path, config_path: Path) -> None:
        self._base = base.resolve()
        self._config_path = config_path
        self._lock = threading.Lock()
        self._served: dict[str, ServedModel] = {}
        self._config: list[dict[str, Any]] = []
        self._applied_mtime: int | None = None
        self._base.mkdir(parents=True, exist_ok=True)
        if config_path.exists():
            self.refresh()

    def served(self, name: str, version: int | None) -> tuple[int, OnnxPredictor]:
        """The served version (the default one when None) of ``name`` and its session."""
        model = self._served.get(name)
        chosen = None if model is None else model.default_version if version is None else version
        predictor = None if model is None or chosen is None else model.versions.get(chosen)
        if predictor is None or chosen is None:
            raise UnknownModel(
                f"no served model {name!r}" + ("" if version is None else f" version {version}")
            )
        return chosen, predictor

    def deploy(self, name: str, version: int | None, data: bytes, append: bool) -> int:
        """Save ``data`` (an ONNX model) as a new version and serve it; its version number."""
        load_onnx(data)
        with self._lock:
            saved = self._saved_versions(name)
            version = version or max(saved, default=0) + 1
            if version in saved:
                raise RequestRefused(f"{name} version {version} is saved already: redeploy it")
            write_atomically(self._file(name, version), data)
            self._serve(name, version, append)
        return version

    def redeploy(self, name: str, version: int, append: bool) -> None:
        """Serve a saved version again (rollback: an older one); it becomes the default of its name."""
        with self._lock:
            if not self._file(name, version).exists():
                raise UnknownModel(f"no saved model {name!r} version {version}")
            self._serve(name, version, append)

    def undeploy(self, name: str, version: int) -> None:
        """Stop serving a version (it stays saved)."""
        with self._lock:
            entries = [dict(e) for e in self._config]
            entry = next((e for e in entries if e["name"] == name and version in e["versions"]), None)
            if entry is None:
                raise UnknownModel(f"{name} version {version} is not served")
            entry["versions"] = [v for v in entry["versions"] if v != version]
            if entry["default_version"] == version and entry["versions"]:
                entry["default_version"] = max(entry["versions"])
            self._apply([e for e in entries if e["versions"]], write=True)

    def saved(self) -> dict[str, list[int]]:
        """Every saved model and its versions."""
        found: dict[str, list[int]] = {}
        for model in sorted(self._base.glob(f"*/*/{_FILE}")):
            name, version = model.parent.parent.name, model.parent.name
            if version.isdecimal():
                found.setdefault(name, []).append(int(version))
        return {name: sorted(versions) for name, versions in found.items()}

    def clean(self, name: str | None) -> list[dict[str, Any]]:
        """Delete the saved versions (of ``name``, or of every model) that are not served."""
        removed = []
        with self._lock:
            for model, versions in self.saved().items():
                if name is not None and model != name:
                    continue
                served = self._served.get(model)
                for version in versions:
                    if served is None or version not in served.versions:
                        shutil.rmtree(self._file(model, version).parent)
                        removed.append({"model_name": model, "model_version": version})
        return removed

    def config(self) -> dict[str, Any]:
        """The model configuration as served."""
        return {"model_config_list": [dict(e) for e in self._config]}

    def upload_config(self, text: bytes) -> None:
        """Serve as the configuration ``text`` (JSON or YAML) says; refused whole when any part is wrong."""
        try:
            given = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise RequestRefused(f"the model config is neither JSON nor YAML: {error}") from None
        with self._lock:
            self._apply(self._entries(given), write=True)

    def refresh(self) -> None:
        """Re-read the configuration file when it changed on disk (a bad file is logged and ignored)."""
        try:
            mtime = self._config_path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._applied_mtime:
            return
        with self._lock:
            try:
                self._apply(self._entries(json.loads(self._config_path.read_text())), write=False)
            except (RequestRefused, ValueError) as error:
                log.warning("model config %s not applied: %s", self._config_path, error)
            self._applied_mtime = mtime

    def _serve(self, name: str, version: int, append: bool) -> None:
        entries = [dict(e) for e in self._config if e["name"] != name]
        known = next((e for e in self._config if e["name"] == name), None)
        versions = sorted({*known["versions"], version}) if known is not None and append else [version]
        entries.append({"name": name, "base_path": str(self._base / name), "versions": versions})
        entries[-1]["default_version"] = version
        self._apply(entries, write=True)

    def _apply(self, entries: list[dict[str, Any]], *, write: bool) -> None:
        """Load what ``entries`` serve, then swap the served map (call with the lock held)."""
        served: dict[str, ServedModel] = {}
        for entry in entries:
            name = entry["name"]
            old = self._served.get(name)
            sessions = {}
            for version in entry["versions"]:
                if old is not None and version in old.versions:
                    sessions[version] = old.versions[version]
                    continue
                path = self._file(name, version)
                if not path.exists():
                    raise UnknownModel(f"no saved model {name!r} version {version}")
                sessions[version] = OnnxPredictor(load_onnx(path.read_bytes()))
            served[name] = ServedModel(name, sessions, entry["default_version"])
        if write:
            write_atomically(self._config_path, json.dumps({"model_config_list": entries}, indent=1).encode())
            self._applied_mtime = self._config_path.stat().st_mtime_ns
        self._config = entries
        self._served = served

    def _entries(self, given: object) -> list[dict[str, Any]]:
        """The checked entries of a configuration document."""
        listed = given.get("model_config_list") if isinstance(given, dict) else None
        if not isinstance(listed, list):
            raise RequestRefused("the model config must be {'model_config_list': [{name, versions}, ...]}")
        entries: list[dict[str, Any]] = []
        for item in listed:
            if not isinstance(item, dict):
                raise RequestRefused("each model_config_list entry must be an object")
            name = checked_name(item.get("name"), "name")
            base_path = item.get("base_path")
            if base_path is not None and Path(str(base_path)).resolve() != self._base / name:
                raise RequestRefused(f"base_path of {name} must be {self._base / name} (the model base path)")
            given_versions = item.get("versions")
            if not isinstance(given_versions, list) or not given_versions:
                raise RequestRefused(f"versions of {name} must be a non-empty list of version numbers")
            versions = sorted({v for v in map(checked_version, given_versions) if v is not None})
            default = checked_version(item.get("default_version")) or max(versions)
            if default not in versions:
                raise RequestRefused(f"default_version of {name} is not one of its versions")
            if any(e["name"] == name for e in entries):
                raise RequestRefused(f"{name} is listed twice")
            entry = {"name": name, "base_path": str(self._base / name), "versions": versions}
            entries.append({**entry, "default_version": default})
        return entries

    def _saved_versions(self, name: str) -> list[int]:
        return self.saved().get(name, [])

    def _file(self, name: str, version: int) -> Path:
        return self._base / name / str(version) / _FILE

"""The model servers' settings, read once from the command line and the environment."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from runyard.maas.defaults import DL_REFRESH, DRIFT_THRESHOLD

#: The environment variable holding the instance's secret, the only credential that may call ``get_token``.
MASTER_TOKEN_VARIABLE = "MAAS_MASTER_TOKEN"
MIN_MASTER_TOKEN = 16
_BASE_PATH = re.compile(r"/([A-Za-z0-9._~-]+/)*")


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """What both servers share."""

    state_dir: Path
    master_token: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    base_path: str = "/"
    """The path the server is reached under (the platform proxy keeps it): ``/`` or ``/a/b/``."""
    trace: bool = True
    https: bool = False
    instance_name: str = "maas"
    notify_url: str | None = None
    notify_token: str | None = field(default=None, repr=False)
    notify_file: Path | None = None
    """Where notifications go when the platform is out of reach (a server in a container)."""

    def __post_init__(self) -> None:
        if len(self.master_token) < MIN_MASTER_TOKEN:
            raise ValueError(f"{MASTER_TOKEN_VARIABLE} must hold at least {MIN_MASTER_TOKEN} characters")
        path = self.base_path if self.base_path.endswith("/") else self.base_path + "/"
        if not _BASE_PATH.fullmatch(path) or {".", ".."} & set(path.split("/")):
            raise ValueError(
                f"--base-path must be an absolute path of plain segments, not {self.base_path!r}"
            )

    @property
    def prefix(self) -> str:
        """``base_path`` without its trailing ``/``: ``""`` at the root; every route starts with it."""
        return self.base_path.rstrip("/")


@dataclass(frozen=True, kw_only=True)
class MLSettings(ServerSettings):
    """MaaS_ML: drift detection on predictions."""

    drift: bool = True
    drift_threshold: float = DRIFT_THRESHOLD

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.drift_threshold > 0:
            raise ValueError("--drift-threshold must be positive")


@dataclass(frozen=True, kw_only=True)
class DLSettings(ServerSettings):
    """MaaS_DL: versions saved under ``model_base_path``, served as its configuration (re-read every
    ``refresh`` seconds) says."""

    model_base_path: Path
    refresh: float = DL_REFRESH

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.refresh > 0:
            raise ValueError("--refresh must be a positive number of seconds")


def ml_settings(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> MLSettings:
    """MaaS_ML's settings from its command line and environment (default ``os.environ``)."""
    parser = _parser("runyard.maas.ml_server")
    parser.add_argument("--drift", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--drift-threshold", type=float, default=DRIFT_THRESHOLD)
    args = parser.parse_args(argv)
    try:
        return MLSettings(**_common(args, environ), drift=args.drift, drift_threshold=args.drift_threshold)
    except ValueError as error:
        parser.error(str(error))


def dl_settings(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> DLSettings:
    """MaaS_DL's settings from its command line and environment (default ``os.environ``)."""
    parser = _parser("runyard.maas.dl_server")
    parser.add_argument("--model-base-path", type=Path, required=True)
    parser.add_argument("--refresh", type=float, default=DL_REFRESH)
    args = parser.parse_args(argv)
    try:
        return DLSettings(
            **_common(args, environ), model_base_path=args.model_base_path, refresh=args.refresh
        )
    except ValueError as error:
        parser.error(str(error))


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {prog}")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--base-path", default="/")
    parser.add_argument("--trace", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--https", action="store_true")
    parser.add_argument("--instance-name", default="maas")
    return parser


class _Common(TypedDict):
    host: str
    port: int
    state_dir: Path
    base_path: str
    trace: bool
    https: bool
    instance_name: str
    master_token: str
    notify_url: str | None
    notify_token: str | None
    notify_file: Path | None


def _common(args: argparse.Namespace, environ: Mapping[str, str] | None) -> _Common:
    env = os.environ if environ is None else environ
    return {
        "host": args.host,
        "port": args.port,
        "state_dir": args.state_dir,
        "base_path": args.base_path,
        "trace": args.trace,
        "https": args.https,
        "instance_name": args.instance_name,
        "master_token": env.get(MASTER_TOKEN_VARIABLE, ""),
        "notify_url": env.get("RUNYARD_NOTIFY_URL") or None,
        "notify_token": env.get("RUNYARD_NOTIFY_TOKEN") or None,
        "notify_file": Path(env["RUNYARD_NOTIFY_FILE"]) if env.get("RUNYARD_NOTIFY_FILE") else None,
    }

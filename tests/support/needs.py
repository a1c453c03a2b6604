"""What a test does when something it needs is absent: under ``CI=true`` it fails (``scripts/test``
installs everything the suite needs, so an absence there is a broken setup, never a reason to skip);
elsewhere it skips, saying what is missing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest


def under_ci(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(message: str, environ: Mapping[str, str] = os.environ) -> NoReturn:
    """Fail under CI, skip elsewhere; ``message`` says what is missing and how to get it."""
    if under_ci(environ):
        pytest.fail(message, pytrace=False)
    pytest.skip(f"{message} (this would fail under CI=true)")

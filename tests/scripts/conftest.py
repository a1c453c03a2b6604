"""Fixtures for the script engine tests: bindings rooted in a fresh localspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.scripts import Bindings, JavaMap


@pytest.fixture
def bindings(tmp_path: Path) -> Bindings:
    localspace = tmp_path / "localspace"
    localspace.mkdir()
    return Bindings(
        variables=JavaMap({"NAME": "world", "COUNT": "3"}),
        generic_information=JavaMap({"GI_KEY": "gi-value"}),
        credentials=JavaMap({"SECRET": "s3cret"}),
        localspace=str(localspace),
        userspace=str(tmp_path / "user"),
        globalspace=str(tmp_path / "global"),
    )

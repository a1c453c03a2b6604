"""Library tasks called in-process, as a catalog task's script calls them, with real parent results."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

from runyard.scripts import ParentTaskResult


class Call(Protocol):
    def __call__(
        self, function: Callable[..., dict[str, Any]], *parents: dict[str, Any], **variables: str
    ) -> dict[str, Any]: ...


@pytest.fixture
def userspace(tmp_path: Path) -> Path:
    space = tmp_path / "user"
    space.mkdir()
    return space


@pytest.fixture
def call(userspace: Path, tmp_path: Path) -> Call:
    return make_call(userspace, tmp_path / "global")


def make_call(userspace: Path, globalspace: Path) -> Call:
    """Run a library task named after its function, its parents' results given in ``depends`` order."""

    def run(
        function: Callable[..., dict[str, Any]], *parents: dict[str, Any], **variables: str
    ) -> dict[str, Any]:
        results = [ParentTaskResult(f"parent{i}", pickle.dumps(p)) for i, p in enumerate(parents)]
        bound = {"PA_JOB_ID": "7", "PA_TASK_NAME": function.__name__, "LIMIT_OUTPUT_VIEW": "2", **variables}
        return function(bound, results, str(userspace), str(globalspace))

    return run

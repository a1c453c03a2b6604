"""A library task as it runs: its variables read with their models' meaning, its parents' artifacts,
its folder in the user space, and the ``TASK_ENABLED`` switch every library task honours.

Catalog tasks call ``library_task``-wrapped functions with the script's own bindings::

    from runyard.ml.library import preprocessing
    result = preprocessing.split_data(variables, results, userspace)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

import pandas as pd

from runyard.ml import artifacts, reports
from runyard.ml.errors import TaskInputError

TaskBody = Callable[["Task"], dict[str, Any]]
TaskFunction = Callable[..., dict[str, Any]]

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class Task:
    """What one running library task reads and where it writes."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        results: Sequence[Any],
        userspace: str | Path,
        globalspace: str | Path | None = None,
    ) -> None:
        self.variables = variables
        self.globalspace = Path(globalspace) if globalspace else None
        self.name = str(variables.get("PA_TASK_NAME") or "task")
        self.job = str(variables.get("PA_JOB_ID") or "local")
        self.userspace = Path(userspace)
        self._results = results
        self._inputs: list[dict[str, Any]] | None = None

    def fail(self, message: str) -> TaskInputError:
        """The error to raise: ``raise task.fail("...")``."""
        return TaskInputError(self.name, message)

    # Variables ---------------------------------------------------------------------------------

    def text(self, name: str, default: str = "") -> str:
        value = self.variables.get(name)
        return default if value is None else str(value).strip()

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise self.fail(f"variable {name} is empty: give it a value")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name).lower()
        if not value:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise self.fail(f"variable {name} must be true or false, not {self.text(name)!r}")

    def number(
        self, name: str, default: float, *, low: float | None = None, high: float | None = None
    ) -> float:
        value = self.text(name)
        try:
            number = float(value) if value else default
        except ValueError:
            raise self.fail(f"variable {name} must be a number, not {value!r}") from None
        inside = math.isfinite(number) and (low is None or number > low) and (high is None or number < high)
        if not inside:
            bounds = "" if low is None and high is None else f" in ({low}, {high})"
            raise self.fail(f"variable {name} must be a finite number{bounds}, not {value!r}")
        return number

    def integer(self, name: str, default: int) -> int:
        value = self.text(name)
        try:
            return int(value) if value else default
        except ValueError:
            raise self.fail(f"variable {name} must be a whole number, not {value!r}") from None

    def json_object(self, name: str) -> dict[str, Any]:
        """A ``PA:JSON`` variable holding an object (estimator keyword arguments, renamings)."""
        value = self.text(name)
        if not value:
            return {}
        try:
            parsed = json.loads(value)
        except ValueError as error:
            raise self.fail(f"variable {name} is not valid JSON ({error}): {value!r}") from None
        if not isinstance(parsed, dict):
            raise self.fail(f'variable {name} must be a JSON object such as {{"C": 1.0}}, not {value!r}')
        return parsed

    def choice(self, name: str, default: str, choices: Sequence[str], *, upper: bool = False) -> str:
        """One of ``choices`` (a ``PA:List`` variable); ``upper`` reads file formats in any case."""
        value = self.text(name, default) or default
        value = value.upper() if upper else value
        if value not in choices:
            raise self.fail(f"variable {name} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def names(self, name: str) -> list[str]:
        """A comma-separated list of column names (``COLUMNS_NAME``)."""
        return [part.strip() for part in self.text(name).split(",") if part.strip()]

    def limit(self) -> int | None:
        """``LIMIT_OUTPUT_VIEW``: rows to show; -1 (the default) shows them all."""
        rows = self.integer("LIMIT_OUTPUT_VIEW", -1)
        return None if rows < 0 else rows

    # Inputs and outputs ------------------------------------------------------------------------

    def inputs(self) -> list[dict[str, Any]]:
        """The parents' artifacts in ``depends`` order (bundles of a disabled task unfolded)."""
        if self._inputs is None:
            values = []
            for parent in self._results:
                try:
                    values.append(parent.value())
                except Exception as error:  # TaskResultError, or a result this process cannot load
                    raise self.fail(str(error).splitlines()[0]) from None
            self._inputs = artifacts.unfold(values)
        return self._inputs

    def find(self, *kinds: str) -> dict[str, Any] | None:
        """The first parent artifact of one of ``kinds``, else the first one a parent carries (the data
        a model was trained on), so that a task given a model and new data uses the new data."""
        direct = self.inputs()
        for artifact in [*direct, *artifacts.carried(direct)]:
            if artifact.get("kind") in kinds:
                return artifact
        return None

    def need(self, *kinds: str) -> dict[str, Any]:
        found = self.find(*kinds)
        if found is None:
            got = ", ".join(sorted({str(a.get("kind")) for a in self.inputs()})) or "nothing"
            raise self.fail(f"needs a parent task giving a {' or '.join(kinds)} (its parents give {got})")
        return found

    def folder(self) -> Path:
        """``$userspace/ml/<PA_JOB_ID>/<PA_TASK_NAME>/``, created."""
        folder = self.userspace / artifacts.task_folder(self.job, self.name)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def read_frame(self, artifact: dict[str, Any]) -> pd.DataFrame:
        try:
            return artifacts.read_frame(self.userspace, artifact)
        except (OSError, ValueError) as error:
            raise self.fail(f"cannot read the data of task input {artifact.get('path')!r}: {error}") from None

    def write_frame(self, name: str, frame: pd.DataFrame, label: str | None) -> dict[str, Any]:
        return artifacts.write_frame(self.userspace, self.folder(), name, frame, label)

    def write_table(self, frame: pd.DataFrame, name: str, form: str) -> str:
        """Write ``frame`` for people as ``name.<form>`` (CSV, JSON, HTML) in the task's folder; its path
        relative to the user space."""
        path = self.folder() / f"{name}.{form.lower()}"
        reports.write_table(frame, path, form)
        return path.relative_to(self.userspace).as_posix()

    def read_model(self, artifact: dict[str, Any]) -> Any:
        try:
            return artifacts.read_model(self.userspace, artifact)
        except (OSError, ValueError) as error:
            raise self.fail(f"cannot read the model {artifact.get('path')!r}: {error}") from None

    def show(self, title: str, frame: pd.DataFrame) -> None:
        """Print ``frame`` to the task's log, at most ``LIMIT_OUTPUT_VIEW`` rows."""
        limit = self.limit()
        shown = frame if limit is None else frame.head(limit)
        print(f"{self.name}: {title}: {frame.shape[0]} rows x {frame.shape[1]} columns")
        if shown.shape[0]:
            print(shown.to_string(max_cols=30))

    def check_columns(self, frame: pd.DataFrame, names: Sequence[str], variable: str) -> None:
        """Fail naming ``variable`` if one of ``names`` is not a column of ``frame``."""
        missing = [repr(n) for n in names if n not in frame.columns]
        if missing:
            raise self.fail(
                f"{variable}: {', '.join(missing)} not a column of the data ({columns_text(frame)})"
            )

    def no_gpu(self) -> None:
        """``USE_NVIDIA_RAPIDS`` is accepted for compatibility; runyard has no GPU to give it."""
        if self.flag("USE_NVIDIA_RAPIDS", False):
            raise self.fail(
                "USE_NVIDIA_RAPIDS is true, but runyard runs scikit-learn on CPUs only: set it to false"
            )

    @property
    def job_id(self) -> int | None:
        """The id of the task's job (``None`` outside a server: ``runyard run``)."""
        return int(self.job) if self.job.isdigit() else None

    def pass_on(self, **values: str) -> None:
        """Set job variables for the tasks that follow (they inherit them)."""
        if not isinstance(self.variables, MutableMapping):
            raise TypeError("the task's variables binding is not writable")
        self.variables.update(values)

    def passthrough(self) -> dict[str, Any]:
        """What a disabled task gives: its inputs, unchanged."""
        found = self.inputs()
        if len(found) == 1:
            return found[0]
        return {"kind": artifacts.INPUTS, "items": found}


def library_task(body: TaskBody) -> TaskFunction:
    """Make ``body(task)`` a catalog task entry point ``f(variables, results, userspace[, globalspace])``."""

    @wraps(body)
    def run(
        variables: Mapping[str, Any], results: Sequence[Any], userspace: str, globalspace: str | None = None
    ) -> dict[str, Any]:
        task = Task(variables, results, userspace, globalspace)
        if not task.flag("TASK_ENABLED", True):
            print(f"{task.name}: TASK_ENABLED is false: the inputs pass through unchanged")
            return task.passthrough()
        return body(task)

    return run


def columns_text(frame: pd.DataFrame) -> str:
    """The columns of ``frame`` for an error message (the first 20)."""
    names = [str(c) for c in frame.columns]
    return "columns: " + ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")

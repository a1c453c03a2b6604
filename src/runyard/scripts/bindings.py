"""The objects a script sees: ``variables``, ``results``, ``resultMap``, ``genericInformation``...

They follow ProActive's script binding contract (Java map methods included, since real scripts
call ``variables.put`` and ``genericInformation.containsKey``).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any


class JavaMap(dict[str, Any]):
    """A ``dict`` that also answers the ``java.util.Map`` calls ProActive scripts make."""

    def put(self, key: str, value: Any) -> Any:
        """Set ``key`` and return its previous value (``None`` if it had none), as Java does."""
        previous = self.get(key)
        self[key] = value
        return previous

    def containsKey(self, key: str) -> bool:  # Java's name, used by real scripts
        return key in self


class TaskResultError(Exception):
    """Raised by ``results[i].value()`` when that parent task ended faulty."""


class ParentTaskResult:
    """``results[i]``: one parent's result; ``value()`` unpickles it on first use."""

    def __init__(self, task_name: str, pickled: bytes | None, error: str | None = None) -> None:
        self.task_name = task_name
        self._pickled = pickled
        self._error = error
        self._value: Any = None
        self._loaded = False

    def value(self) -> Any:
        if self._error is not None:
            raise TaskResultError(f"parent task {self.task_name!r} failed: {self._error}")
        if not self._loaded:
            self._value = None if self._pickled is None else pickle.loads(self._pickled)
            self._loaded = True
        return self._value

    def hadException(self) -> bool:  # Java's name
        return self._error is not None

    def getTaskName(self) -> str:  # Java's name
        return self.task_name

    def __str__(self) -> str:
        """The value as text ("" for a faulty parent): what bash sees as ``$results_i``."""
        return "" if self.hadException() else str(self.value())

    def __repr__(self) -> str:
        state = "faulty" if self.hadException() else "ok"
        return f"<result of task {self.task_name!r} ({state})>"


@dataclass
class Bindings:
    """Everything one script run sees. The maps are shared by all scripts of an execution.

    ``extra`` holds the bindings of one script role: ``result`` for post and flow scripts,
    ``nodename`` / ``nodeurl`` / ``nodehost`` / ``nodeTokens`` for selection scripts.

    ``apis`` holds the task-side API objects by binding name (``schedulerapi``, ``signalapi``...).
    Scripts in the task's own interpreter see them as they are; engines running scripts elsewhere
    (a JVM) call their public methods by name with JSON arguments and get JSON back. Process scripts
    (bash, shell, native) do not see them.
    """

    variables: JavaMap = field(default_factory=JavaMap)
    results: list[ParentTaskResult] = field(default_factory=list)
    result_map: JavaMap = field(default_factory=JavaMap)
    generic_information: JavaMap = field(default_factory=JavaMap)
    credentials: JavaMap = field(default_factory=JavaMap)
    args: list[str] = field(default_factory=list)
    localspace: str = ""
    userspace: str = ""
    globalspace: str = ""
    cachespace: str = ""
    inputspace: str = ""
    outputspace: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    apis: dict[str, Any] = field(default_factory=dict)

    def substitution_map(self) -> dict[str, Any]:
        """What ``${NAME}`` may refer to in script arguments: variables and ``credentials_KEY``."""
        return {**self.variables, **{f"credentials_{key}": value for key, value in self.credentials.items()}}

    def as_names(self) -> dict[str, Any]:
        """The bindings under the names scripts use."""
        return {
            "variables": self.variables,
            "results": self.results,
            "resultMap": self.result_map,
            "genericInformation": self.generic_information,
            "credentials": self.credentials,
            "args": self.args,
            "localspace": self.localspace,
            "userspace": self.userspace,
            "globalspace": self.globalspace,
            "cachespace": self.cachespace,
            "inputspace": self.inputspace,
            "outputspace": self.outputspace,
            **self.extra,
        }

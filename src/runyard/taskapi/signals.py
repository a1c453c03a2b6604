"""``signalapi``: ProActive's ``SignalApi`` for the signals of the task's own job (REST:
``/jobs/{id}/signals``).

Names follow ProActive: ``readyForSignal("Go")`` makes ``ready_Go`` appear in ``getJobSignals()``; once
someone sends ``Go``, it is ``Go``. ``waitFor``/``waitForAny`` wait on the server (it answers when a
signal comes, at the latest every 20 s, and they ask again): no polling loop in the task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runyard.taskapi.connection import TaskConnection, seconds
from runyard.taskapi.returned import call_returned

READY_PREFIX = "ready_"
_VARIABLE_FIELDS = ("name", "value", "model", "description", "group", "advanced", "hidden")


class Signal(dict[str, Any]):
    """A received signal (runyard's signal document), with ProActive's ``Signal`` methods."""

    def getName(self) -> str:
        return str(self["name"])

    def getUpdatedVariables(self) -> dict[str, str]:
        """The value of each of its variables, as sent (defaults where the sender gave none)."""
        return dict(self.get("values") or {})

    def getVariables(self) -> list[dict[str, Any]]:
        return list(self.get("variables") or [])

    def toString(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"Signal{{name={self['name']}, updatedVariables={self.getUpdatedVariables()}}}"


class SignalApi:
    def __init__(self, connection: TaskConnection) -> None:
        self._connection = connection

    def readyForSignal(self, signal: str, variables: Iterable[Any] | None = None) -> bool:
        """Declare this job ready for ``signal``, taking ``variables``: dictionaries with ProActive's
        ``JobVariable`` fields (``name``, ``value``, ``model``, ``description``, ``group``, ``advanced``,
        ``hidden``), or objects with its getters."""
        declared = [_variable(item) for item in variables or ()]
        connection = self._connection
        connection.client.ready_for_signal(
            connection.job_id, str(signal), declared, task=connection.task_name
        )
        return True

    def isReceived(self, signal: str) -> bool:
        return bool(self._received([signal]))

    def checkForSignals(self, signals: Iterable[str]) -> dict[str, Signal]:
        """The received signals among ``signals``, by name (empty: none yet)."""
        return {found.getName(): found for found in self._received(signals)}

    def waitFor(self, signal: str, timeout: Any = None) -> Signal:
        return self.waitForAny([signal], timeout)

    def waitForAny(self, signals: Iterable[str], timeout: Any = None) -> Signal:
        """The first received signal among ``signals``, once one is; ``TimeoutError`` after ``timeout``
        milliseconds (none: wait as long as it takes)."""
        connection = self._connection
        found = connection.client.wait_for_signals(connection.job_id, _names(signals), seconds(timeout))
        return Signal(found)

    def sendSignal(self, signal: str, variables: Mapping[str, Any] | None = None) -> list[str]:
        """Send ``signal`` (a task of this job must be ready for it); the job's signals afterwards."""
        connection = self._connection
        values = {str(key): str(value) for key, value in (variables or {}).items()}
        connection.client.send_signal(connection.job_id, str(signal), values)
        return self.getJobSignals()

    def sendManySignals(self, signals: Iterable[str]) -> bool:
        connection = self._connection
        for name in _names(signals):
            connection.client.send_signal(connection.job_id, name)
        return True

    def removeSignal(self, signal: str) -> bool:
        return self.removeManySignals([signal])

    def removeManySignals(self, signals: Iterable[str]) -> bool:
        """Remove ``ready_NAME`` (while only ready) or ``NAME`` (in any state)."""
        connection = self._connection
        connection.client.remove_signals(connection.job_id, _names(signals))
        return True

    def getJobSignals(self) -> list[str]:
        """ProActive's set of this job's signals: ``ready_NAME`` or, once received, ``NAME``."""
        connection = self._connection
        return list(connection.client.list_signals(connection.job_id)["names"])

    def clearJobSignals(self) -> None:
        connection = self._connection
        names = [signal["name"] for signal in connection.client.list_signals(connection.job_id)["signals"]]
        if names:
            connection.client.remove_signals(connection.job_id, names)

    def callReturned(self, kind: str, document: Any, method: str, args: Sequence[Any] = ()) -> Any:
        """For the Groovy adapter: a method of a returned ``Signal``."""
        return call_returned({"Signal": Signal}, kind, document, method, args)

    def _received(self, signals: Iterable[str]) -> list[Signal]:
        connection = self._connection
        return [
            Signal(found) for found in connection.client.received_signals(connection.job_id, _names(signals))
        ]


def _names(signals: Iterable[str] | str) -> list[str]:
    return [signals] if isinstance(signals, str) else [str(name) for name in signals]


def _variable(item: Any) -> dict[str, Any]:
    """A signal variable from a dictionary or a ``JobVariable``-like object (``getName()``...)."""
    if isinstance(item, Mapping):
        return {key: item[key] for key in _VARIABLE_FIELDS if key in item}
    found: dict[str, Any] = {}
    for key in _VARIABLE_FIELDS:
        getter = getattr(item, "is" + key.capitalize(), None) or getattr(item, "get" + key.capitalize(), None)
        if callable(getter):
            found[key] = getter()
    return found

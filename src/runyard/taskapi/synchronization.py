"""``synchronizationapi``: ProActive's ``Synchronization`` key/value channels for a task, over
``/channels`` (the job owner's channels: see :mod:`runyard.store.channels` for how they are scoped).

Values are JSON (lists, maps, strings, numbers, booleans, null). The atomic operations (``compute``,
``merge``, ``putIfAbsent``, ``waitUntilThen``...) read the key and its version, compute here, and write only
if the key is still at that version, else read again: the server never runs task code. From a CPython task
they take Python functions, ``compute(ch, k, lambda k, v: v + 1)``, or ProActive's Groovy closure strings,
``compute(ch, k, "{k, v -> v + 1}")``: those run in the task's JVM through the Groovy adapter (which
evaluates them with the same retries), so they need the groovy engine. Waiting (``waitUntil``) waits on
the server for the key to change.

``versioned``, ``replaceVersioned``, ``removeVersioned`` and ``awaitChange`` are the primitives the others
are built of, public for the Groovy adapter.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from runyard.errors import RunyardError
from runyard.taskapi.connection import TaskApiError, TaskConnection, seconds

WAIT_STEP = 20.0
"""Seconds one wait on the server lasts at most (then it is asked again)."""
#: Runs an operation given ProActive's closure strings through the Groovy adapter (see _in_jvm).
_GROOVY_CALL = """
def answer = synchronizationapi."${variables.get('method')}"(*variables.get('args'))
boolean predicated = answer != null && answer.metaClass.respondsTo(answer, 'getActionResult')
result = predicated ? [predicate: answer.isPredicateTrue(), result: answer.getActionResult()] : answer
"""
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _closure_strings(*parameters: str) -> Callable[[_Method], _Method]:
    """Run the operation in the task's JVM when one of ``parameters`` is a closure string (ProActive's
    ``"{k, v -> v + 1}"``): CPython cannot evaluate Groovy, the Groovy adapter can."""

    def decorate(method: _Method) -> _Method:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def call(self: SynchronizationApi, *args: Any, **kwargs: Any) -> Any:
            given = signature.bind(self, *args, **kwargs).arguments
            if any(isinstance(given.get(name), str) for name in parameters):
                return self._in_jvm(method.__name__, list(given.values())[1:])
            return method(self, *args, **kwargs)

        return call  # type: ignore[return-value]

    return decorate


class PredicateActionResult(dict[str, Any]):
    """What ``waitUntilThen`` and ``conditionalCompute`` return, as ProActive's."""

    def isPredicateTrue(self) -> bool:
        return bool(self["predicate"])

    def getActionResult(self) -> Any:
        return self["result"]


class SynchronizationApi:
    def __init__(self, connection: TaskConnection) -> None:
        self._connection = connection

    # -- channels --------------------------------------------------------------------------------

    def createChannel(self, channel: str, isPersistent: bool = True) -> None:
        """Create the channel; an error if it exists."""
        self._connection.client.create_channel(str(channel), persistent=bool(isPersistent))

    def createChannelIfAbsent(self, channel: str, isPersistent: bool = True) -> bool:
        """Create the channel unless it exists; whether it was created."""
        client = self._connection.client
        return client.create_channel(str(channel), persistent=bool(isPersistent), if_absent=True)

    def deleteChannel(self, channel: str) -> None:
        self._connection.client.delete_channel(str(channel))

    def channelExists(self, channel: str) -> bool:
        return any(found["name"] == channel for found in self._connection.client.list_channels())

    # -- the Map methods -------------------------------------------------------------------------

    def get(self, channel: str, key: str) -> Any:
        return self.versioned(channel, key)["value"]

    def getOrDefault(self, channel: str, key: str, defaultValue: Any) -> Any:
        found = self.versioned(channel, key)
        return found["value"] if found["version"] else defaultValue

    def containsKey(self, channel: str, key: str) -> bool:
        return bool(self.versioned(channel, key)["version"])

    def put(self, channel: str, key: str, value: Any) -> Any:
        """Set the key; what it held before (``None`` if absent)."""
        return self._update(channel, key, lambda _k, _v, _present: (True, value))[0]

    def putIfAbsent(self, channel: str, key: str, value: Any) -> Any:
        """Set the key if it is absent (or null); its value before (``None``: it was set)."""
        return self._update(channel, key, lambda _k, v, _present: (v is None, value))[0]

    def replace(self, channel: str, key: str, value: Any) -> Any:
        return self._update(channel, key, lambda _k, _v, present: (present, value))[0]

    def remove(self, channel: str, key: str) -> Any:
        found = self._connection.client.remove_channel_entry(str(channel), str(key))
        return found["value"]

    def keySet(self, channel: str) -> list[str]:
        return [entry["key"] for entry in self._connection.client.channel_entries(str(channel))]

    def values(self, channel: str) -> list[Any]:
        return [entry["value"] for entry in self._connection.client.channel_entries(str(channel))]

    def entrySet(self, channel: str) -> dict[str, Any]:
        return {
            entry["key"]: entry["value"] for entry in self._connection.client.channel_entries(str(channel))
        }

    def size(self, channel: str) -> int:
        return len(self._connection.client.channel_entries(str(channel)))

    def isEmpty(self, channel: str) -> bool:
        return self.size(channel) == 0

    def clear(self, channel: str) -> None:
        for key in self.keySet(channel):
            self.remove(channel, key)

    # -- atomic operations -----------------------------------------------------------------------

    @_closure_strings("remappingFunction")
    def compute(self, channel: str, key: str, remappingFunction: Callable[[str, Any], Any]) -> Any:
        """Set the key to ``remappingFunction(key, value)`` (``None``: remove it) atomically; returns it."""
        function = _function(remappingFunction, "compute")
        return self._update(channel, key, lambda k, v, _present: (True, function(k, v)))[1]

    @_closure_strings("mappingFunction")
    def computeIfAbsent(self, channel: str, key: str, mappingFunction: Callable[[str], Any]) -> Any:
        function = _function(mappingFunction, "computeIfAbsent")
        before, after = self._update(channel, key, lambda k, v, _present: (v is None, function(k)))
        return after if before is None else before

    @_closure_strings("remappingFunction")
    def computeIfPresent(self, channel: str, key: str, remappingFunction: Callable[[str, Any], Any]) -> Any:
        function = _function(remappingFunction, "computeIfPresent")
        before, after = self._update(channel, key, lambda k, v, _present: (v is not None, function(k, v)))
        return None if before is None else after

    @_closure_strings("remappingFunction")
    def merge(self, channel: str, key: str, value: Any, remappingFunction: Callable[[Any, Any], Any]) -> Any:
        function = _function(remappingFunction, "merge")
        return self._update(
            channel, key, lambda _k, v, _present: (True, value if v is None else function(v, value))
        )[1]

    @_closure_strings("predicate", "thenRemappingFunction", "elseRemappingFunction")
    def conditionalCompute(
        self,
        channel: str,
        key: str,
        predicate: Callable[[str, Any], bool],
        thenRemappingFunction: Callable[[str, Any], Any],
        elseRemappingFunction: Callable[[str, Any], Any] | None = None,
    ) -> PredicateActionResult:
        """Atomically: ``then`` if ``predicate(key, value)`` holds, else ``else`` (if given)."""
        test = _function(predicate, "conditionalCompute")
        then = _function(thenRemappingFunction, "conditionalCompute")
        otherwise = (
            None if elseRemappingFunction is None else _function(elseRemappingFunction, "conditionalCompute")
        )
        outcome: list[bool] = []

        def choose(k: str, v: Any, _present: bool) -> tuple[bool, Any]:
            outcome[:] = [bool(test(k, v))]
            if outcome[0]:
                return True, then(k, v)
            return (otherwise is not None), (None if otherwise is None else otherwise(k, v))

        before, after = self._update(channel, key, choose)
        return PredicateActionResult(
            predicate=outcome[0], result=after if outcome[0] or otherwise else before
        )

    @_closure_strings("predicate")
    def waitUntil(
        self, channel: str, key: str, predicate: Callable[[str, Any], bool], timeout: Any = None
    ) -> bool:
        """Wait until ``predicate(key, value)`` holds (the server answers at each change of the channel);
        ``TimeoutError`` after ``timeout`` milliseconds."""
        test = _function(predicate, "waitUntil")
        limit = seconds(timeout)
        deadline = None if limit is None else time.monotonic() + limit
        found = self.versioned(channel, key)
        while not test(key, found["value"]):
            remaining = WAIT_STEP if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"key {key!r} of channel {channel!r} did not meet the condition in {limit} s"
                )
            found = self.awaitChange(channel, key, found["version"], min(remaining, WAIT_STEP))
        return True

    @_closure_strings("predicate", "thenRemappingFunction")
    def waitUntilThen(
        self,
        channel: str,
        key: str,
        predicate: Callable[[str, Any], bool],
        thenRemappingFunction: Callable[[str, Any], Any],
        timeout: Any = None,
    ) -> PredicateActionResult:
        """Wait until ``predicate`` holds, then set the key to ``then(key, value)`` atomically (retrying the
        wait if the key changed meanwhile so that the predicate no longer holds)."""
        test = _function(predicate, "waitUntilThen")
        then = _function(thenRemappingFunction, "waitUntilThen")
        limit = seconds(timeout)
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            self.waitUntil(
                channel, key, test, None if deadline is None else max(1, (deadline - time.monotonic()) * 1000)
            )
            result = self.conditionalCompute(channel, key, test, then)
            if result.isPredicateTrue():
                return result

    # -- primitives ------------------------------------------------------------------------------

    def versioned(self, channel: str, key: str) -> dict[str, Any]:
        """``{"value", "version"}`` of the key (version 0: absent)."""
        found = self._connection.client.get_channel_entry(str(channel), str(key))
        return {"value": found["value"], "version": found["version"]}

    def replaceVersioned(self, channel: str, key: str, value: Any, expectedVersion: int) -> bool:
        """Set the key to ``value`` if it is at ``expectedVersion`` (0: absent); whether it was."""
        from runyard.client import ApiError

        try:
            self._connection.client.put_channel_entry(
                str(channel), str(key), value, expected_version=int(expectedVersion)
            )
        except ApiError as error:
            if error.status == 409:
                return False
            raise
        return True

    def removeVersioned(self, channel: str, key: str, expectedVersion: int) -> bool:
        from runyard.client import ApiError

        try:
            self._connection.client.remove_channel_entry(
                str(channel), str(key), expected_version=int(expectedVersion)
            )
        except ApiError as error:
            if error.status == 409:
                return False
            raise
        return True

    def awaitChange(
        self, channel: str, key: str, version: int, timeoutSeconds: float = WAIT_STEP
    ) -> dict[str, Any]:
        """The key once it leaves ``version`` (or after ``timeoutSeconds``, at most 20)."""
        client = self._connection.client
        found = client.get_channel_entry(
            str(channel), str(key), changed_from=int(version), wait=float(timeoutSeconds)
        )
        return {"value": found["value"], "version": found["version"]}

    def _in_jvm(self, method: str, args: list[Any]) -> Any:
        """``method(*args)`` through the Groovy adapter, in the JVM of the task's node (closure strings)."""
        from runyard.model import Script
        from runyard.scripts import Bindings, JavaMap, run_script

        if any(callable(arg) for arg in args):
            raise TaskApiError(
                f"synchronizationapi.{method}: pass Python functions or closure strings, not both"
            )
        bindings = Bindings(
            variables=JavaMap(method=method, args=args),
            localspace=os.getcwd(),
            apis={"synchronizationapi": self},
        )
        try:
            output = run_script(
                Script("groovy", _GROOVY_CALL), bindings, label=f"<synchronizationapi.{method}>"
            )
        except RunyardError as error:
            raise TaskApiError(f"synchronizationapi.{method} with a closure string: {error}") from None
        answer: Any = (output.values or {}).get("result")
        return PredicateActionResult(answer) if method in ("conditionalCompute", "waitUntilThen") else answer

    def _update(
        self, channel: str, key: str, change: Callable[[str, Any, bool], tuple[bool, Any]]
    ) -> tuple[Any, Any]:
        """Compare-and-set loop: ``change(key, value, present)`` says whether to write and what (``None``:
        remove); returns (value before, value after)."""
        while True:
            found = self.versioned(channel, key)
            before, version = found["value"], found["version"]
            write, after = change(key, before, bool(version))
            if not write:
                return before, before
            if after is None:
                if not version or self.removeVersioned(channel, key, version):
                    return before, None
            elif self.replaceVersioned(channel, key, after, version):
                return before, after


def _function(value: Any, method: str) -> Callable[..., Any]:
    if callable(value):
        function: Callable[..., Any] = value
        return function
    raise TaskApiError(f"synchronizationapi.{method}: {value!r} is neither a function nor a closure string")

"""Calls on the objects an API returned, for scripts in a JVM: a returned ``JobResult`` crosses the bridge
as its JSON document, and the Groovy adapter sends ``getResultMap()`` back here as
``callReturned("JobResult", document, "getResultMap", [])``, so each method is written once, in Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runyard.taskapi.connection import TaskApiError


def call_returned(
    kinds: Mapping[str, type], kind: str, document: Any, method: str, args: Sequence[Any]
) -> Any:
    """``kinds[kind](document).method(*args)``, public methods only."""
    made = kinds.get(kind)
    if made is None:
        raise TaskApiError(f"no returned object of kind {kind!r}")
    function = getattr(made(document), method, None) if not method.startswith("_") else None
    if not callable(function):
        raise TaskApiError(f"a {kind} has no method {method!r}")
    return function(*args)

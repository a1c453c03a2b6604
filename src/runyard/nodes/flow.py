"""Reading a flow script's decision: ``branch`` (if), ``loop`` (loop) or ``runs`` (replicate)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from runyard.model import FlowAction, IfAction, LoopAction, ReplicateAction
from runyard.scripts import ScriptFailure


def flow_decision(action: FlowAction, values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"branch": "if"|"else"}``, ``{"loop": True|False|"<cron>"}`` or ``{"runs": N}``.

    Raises ``ScriptFailure`` when the script left the binding unset or gave a bad value.
    """
    name = "branch" if isinstance(action, IfAction) else "loop" if isinstance(action, LoopAction) else "runs"
    if values.get(name) is None:
        raise ScriptFailure(f"the flow script of a {_kind(action)} action must set '{name}'")
    value = values[name]
    if isinstance(action, IfAction):
        return {"branch": _branch(value)}
    if isinstance(action, LoopAction):
        return {"loop": _loop(value)}
    return {"runs": _runs(value)}


def _kind(action: FlowAction) -> str:
    return {IfAction: "if", LoopAction: "loop", ReplicateAction: "replicate"}[type(action)]


def _branch(value: Any) -> str:
    if isinstance(value, str) and value.lower() in ("if", "else"):
        return value.lower()
    raise ScriptFailure(f'\'branch\' must be "if" or "else", got {value!r}')


def _loop(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        # Imported here: croniter is heavy, and every byte the agent holds makes its forks slower.
        from croniter import croniter

        if croniter.is_valid(value.strip()):
            return value.strip()
    raise ScriptFailure(f"'loop' must be true, false or a cron expression, got {value!r}")


def _runs(value: Any) -> int:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        raise ScriptFailure(f"'runs' must be a whole number >= 0, got {value!r}")
    return math.floor(number)

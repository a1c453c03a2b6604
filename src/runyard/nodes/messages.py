"""What goes over a node agent's channel.

Node source → agent: pickled :class:`RunRequest` / :class:`KillRequest` (platform data only).
Agent → node source: JSON, outcomes included: what user code produced never crosses as a pickle.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from typing import Any

from runyard.nodes.protocol import OutcomeKind, TaskOutcome, TaskSpec


@dataclass
class RunRequest:
    spec: TaskSpec


@dataclass
class KillRequest:
    task_id: str
    execution: int


def outcome_to_json(outcome: TaskOutcome) -> dict[str, Any]:
    """A JSON-able dict; the pickled result is base64 text."""
    data = dataclasses.asdict(outcome)
    data["kind"] = outcome.kind.value
    data["result"] = None if outcome.result is None else base64.b64encode(outcome.result).decode("ascii")
    return data


def outcome_from_json(data: dict[str, Any]) -> TaskOutcome:
    """The inverse of ``outcome_to_json``; the result stays opaque bytes (never unpickled here)."""
    fields = dict(data)
    fields["kind"] = OutcomeKind(data["kind"])
    fields["result"] = None if data.get("result") is None else base64.b64decode(data["result"])
    return TaskOutcome(**fields)

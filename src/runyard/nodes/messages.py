"""What goes over a node agent's channel.

Node source → agent: a JSON header line, then (run requests) the pickled :class:`TaskSpec` (platform
data only). The agent reads the header alone; only the task process unpickles the spec, so that the
agent, whose every page written is copied again after each fork, does little per task.
Agent → node source: JSON, outcomes included: what user code produced never crosses as a pickle.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import pickle
from dataclasses import dataclass
from typing import Any

from runyard.nodes.protocol import OutcomeKind, TaskOutcome, TaskSpec


@dataclass(frozen=True)
class RunRequest:
    """Run one execution: what the agent needs of it, and the pickled spec for the task process."""

    task_id: str
    execution: int
    walltime: float | None
    fork: bool
    localspace: str
    owner: str  # whose static selection answers the execution receives and may add to
    scope: str | None  # what a fork=False worker is sandboxed for (runyard.nodes.sandbox); None: unsandboxed
    platform: bool  # the platform's own code (TaskSpec.platform, no account): run out of any sandbox
    spec: bytes | memoryview  # a view into the received message, which the agent wipes once passed on


@dataclass(frozen=True)
class KillRequest:
    task_id: str
    execution: int


def encode_run(spec: TaskSpec) -> bytes:
    header = {
        "type": "run",
        "task_id": spec.task_id,
        "execution": spec.execution,
        "walltime": spec.walltime,
        "fork": spec.fork,
        "localspace": spec.localspace,
        "owner": spec.owner,
        "scope": worker_scope(spec),
        "platform": spec.platform and spec.account is None,
    }
    return json.dumps(header).encode() + b"\n" + pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)


def worker_scope(spec: TaskSpec) -> str | None:
    """Executions of one scope may share a ``fork=False`` worker: the same account, owner and job
    (the folders its sandbox shows are the job's and the owner's)."""
    if spec.account is None:
        return None
    return f"{spec.account.uid}/{spec.owner}/{spec.job_id}"


def encode_kill(task_id: str, execution: int) -> bytes:
    return json.dumps({"type": "kill", "task_id": task_id, "execution": execution}).encode() + b"\n"


def decode_request(data: bytes | bytearray) -> RunRequest | KillRequest:
    """The inverse of ``encode_run`` / ``encode_kill``; the spec is left pickled, not copied."""
    end = data.index(b"\n")
    header = json.loads(bytes(data[:end]))
    if header.pop("type") == "kill":
        return KillRequest(**header)
    return RunRequest(**header, spec=memoryview(data)[end + 1 :])


_OUTCOME_FIELDS = [f.name for f in dataclasses.fields(TaskOutcome)]


def outcome_to_json(outcome: TaskOutcome) -> dict[str, Any]:
    """A JSON-able dict; the pickled result is base64 text.

    A shallow copy (not ``dataclasses.asdict``, which deep-copies): the fields already hold JSON
    values, and this runs in every task process, where each object touched costs a page copy."""
    data = {name: getattr(outcome, name) for name in _OUTCOME_FIELDS}
    data["kind"] = outcome.kind.value
    data["result"] = None if outcome.result is None else base64.b64encode(outcome.result).decode("ascii")
    return data


def outcome_from_json(data: dict[str, Any]) -> TaskOutcome:
    """The inverse of ``outcome_to_json``; the result stays opaque bytes (never unpickled here)."""
    fields = dict(data)
    fields["kind"] = OutcomeKind(data["kind"])
    fields["result"] = None if data.get("result") is None else base64.b64decode(data["result"])
    return TaskOutcome(**fields)

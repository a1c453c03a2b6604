"""Control flow declared on a task: block markers and one of if / loop / replicate."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runyard.model.scripts import Script


class Block(StrEnum):
    START = "start"
    END = "end"
    NONE = "none"


@dataclass
class IfAction:
    """After the task, ``branch = "if" | "else"`` picks ``target`` or ``else_target``;
    the other branch is SKIPPED, then ``continuation`` runs."""

    target: str
    else_target: str
    continuation: str | None
    script: Script


@dataclass
class LoopAction:
    """After the task (a block end), ``loop = True | False | "<cron>"`` re-runs the block
    that starts at ``target`` (an ancestor), at once or at the next cron time."""

    target: str
    script: Script


@dataclass
class ReplicateAction:
    """After the task, ``runs = N`` makes N copies of its child (or child block)."""

    script: Script


FlowAction = IfAction | LoopAction | ReplicateAction


@dataclass
class ControlFlow:
    block: Block = Block.NONE
    action: FlowAction | None = None

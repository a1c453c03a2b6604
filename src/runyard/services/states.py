"""Service states and the transitions an action declares in its ``pca.states`` generic information.

``pca.states`` is ``(FROM,TO)`` or ``(FROM,TO)(FROM2,TO2)…``; ``ALL`` as FROM matches any state.
Activation actions start from ``VOID``; finishing actions lead to ``FINISHED``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runyard.errors import InvalidRequestError

VOID = "VOID"
RUNNING = "RUNNING"
PAUSED = "PAUSED"
FINISHED = "FINISHED"
ERROR = "ERROR"
KILLED = "KILLED"
ALL = "ALL"

ENDED = frozenset({FINISHED, KILLED})
"""States of instances listed as finished; only those can be cleaned."""

_PAIR = re.compile(r"\(\s*([A-Za-z0-9_\-]+)\s*,\s*([A-Za-z0-9_\-]+)\s*\)")
_STATE = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass(frozen=True)
class Transition:
    source: str
    target: str

    def applies_to(self, state: str) -> bool:
        return self.source in (state, ALL)

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


def parse_states(text: str) -> tuple[Transition, ...]:
    """The transitions of a ``pca.states`` value; ``InvalidRequestError`` when it is not ``(A,B)…``."""
    compact = text.strip()
    pairs = _PAIR.findall(compact)
    if not pairs or _PAIR.sub("", compact).strip():
        raise InvalidRequestError(f"pca.states {text!r} is not of the form (FROM,TO)(FROM2,TO2)…")
    transitions = tuple(Transition(source.upper(), target.upper()) for source, target in pairs)
    for transition in transitions:
        if transition.target in (VOID, ALL):
            raise InvalidRequestError(f"pca.states {text!r}: no action may lead to {transition.target}")
    return transitions


def check_state_name(state: str) -> str:
    """A status a workflow sets: letters, digits, ``_`` or ``-``, upper-cased."""
    if not _STATE.fullmatch(state) or state.upper() in (VOID, ALL):
        raise InvalidRequestError(
            f"invalid status {state!r}: use letters, digits, '_' or '-' (not VOID or ALL)"
        )
    return state.upper()

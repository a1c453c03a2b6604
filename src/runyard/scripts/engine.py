"""What a script engine is: it runs one loaded script against its bindings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from runyard.scripts.bindings import Bindings


@dataclass(frozen=True)
class ScriptSource:
    """The text of a script, loaded from its code, file or URL.

    ``origin`` names it in tracebacks and messages: the file path, the URL, or a label such as
    ``<main script of task T>`` for inline code.
    """

    text: str
    origin: str


@dataclass
class ScriptOutput:
    """What a script produced.

    ``values`` holds the output bindings the script set (``result``, ``selected``, ``branch``,
    ``runs``, ``loop``); it is ``None`` for engines whose scripts cannot set bindings (bash, shell,
    native command), which set ``exit_code`` instead.
    """

    values: dict[str, Any] | None = None
    exit_code: int | None = None


class ScriptFailure(Exception):
    """User code failed: the message holds the script's own traceback, without platform frames.

    Not a ``RunyardError``: it reports a bug in a user script, not a refusal of the platform.
    """


class ScriptEngine(Protocol):
    """Runs scripts of one or more languages in the current (task) process.

    An engine may also define ``unavailable(self) -> str | None``: why it cannot run here (its
    interpreter is absent...), or ``None``. Engines without it are available: see
    :func:`runyard.scripts.registry.unavailable_reason`.
    """

    def run(self, source: ScriptSource, bindings: Bindings) -> ScriptOutput:
        """Run ``source``; raise ``ScriptFailure`` when the user code fails."""
        ...

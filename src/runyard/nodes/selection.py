"""Selection scripts: whether a node may run a task, and the per-node cache of static ones."""

from __future__ import annotations

import hashlib
import json

from runyard.model import Script
from runyard.scripts import ScriptFailure, ScriptOutput


def static_key(script: Script) -> str:
    """The key under which a static selection script's answer is cached on a node."""
    declaration = [script.language, script.code, script.file, script.url, script.arguments]
    return hashlib.sha256(json.dumps(declaration).encode()).hexdigest()


def is_selected(output: ScriptOutput) -> bool:
    """The ``selected`` binding (``True`` / ``False``, or the text ``"true"`` / ``"false"``).

    Bash and shell scripts cannot set bindings: for them, exit code 0 means selected.
    """
    if output.values is None:
        return output.exit_code == 0
    value = output.values.get("selected")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if value is None:
        raise ScriptFailure("the selection script did not set 'selected'")
    raise ScriptFailure(f"'selected' must be true or false, got {value!r}")

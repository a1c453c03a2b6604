"""Running one declared script: find its engine, load its text, substitute its arguments."""

from __future__ import annotations

import dataclasses

from runyard.model import Script
from runyard.model.substitution import substitute
from runyard.scripts.bindings import Bindings
from runyard.scripts.engine import ScriptOutput
from runyard.scripts.registry import get_engine, resolve_language
from runyard.scripts.source import load_source


def run_script(
    script: Script, bindings: Bindings, *, label: str, source_dir: str | None = None
) -> ScriptOutput:
    """Run ``script`` with ``bindings``; its arguments get ``${VAR}`` substitution first (its code never).

    Raises ``ScriptError`` when the script cannot be prepared (unknown language, missing file) and
    ``ScriptFailure`` when the user code fails.
    """
    engine = get_engine(resolve_language(script))
    source = load_source(script, label=label, variables=bindings.variables, source_dir=source_dir)
    names = bindings.substitution_map()
    arguments = [substitute(argument, names) for argument in script.arguments]
    return engine.run(source, dataclasses.replace(bindings, args=arguments))

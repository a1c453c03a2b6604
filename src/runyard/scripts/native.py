"""A native command line (ProActive's ``nativeExecutable``): environment like bash, result = exit code."""

from __future__ import annotations

from runyard.model import NativeExecutable
from runyard.model.substitution import substitute
from runyard.scripts.bindings import Bindings
from runyard.scripts.engine import ScriptOutput
from runyard.scripts.process import run_process


def run_native(executable: NativeExecutable, bindings: Bindings) -> ScriptOutput:
    """Run the command with ``${VAR}`` / ``$VAR`` substituted in the command, arguments and working
    folder (default: localspace). The command is not split: spaces belong to its name."""
    names = bindings.substitution_map()
    argv = [substitute(part, names) for part in (executable.command, *executable.arguments)]
    cwd = substitute(executable.working_dir, names) if executable.working_dir else None
    return run_process(argv, bindings, cwd=cwd)

"""Scripts that run as a child process (bash, shell, native commands): bindings as environment
variables, the exit code as result, and variables set back through ``$localspace/.variables``."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from runyard.model.substitution import render
from runyard.scripts.bindings import Bindings
from runyard.scripts.engine import ScriptFailure, ScriptOutput

#: The file in localspace whose ``K=V`` lines set variables after a process script (runyard extension).
VARIABLES_FILE = ".variables"

#: Signals Python ignores, given back their default action in the script's process (as ``subprocess`` does).
_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


def run_process(argv: Sequence[str], bindings: Bindings, cwd: str | None = None) -> ScriptOutput:
    """Run ``argv`` (stdout and stderr inherited), then apply and remove ``.variables``.

    ``cwd`` defaults to localspace. A process killed by signal N gets exit code 128 + N, as in a shell.
    """
    folder = cwd or bindings.localspace or None
    if folder is not None and not os.path.isdir(folder):
        raise ScriptFailure(f"working folder not found: {folder}")
    pid = _spawn(argv, folder, script_environment(bindings))
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code < 0:
        code = 128 - code
    _apply_variables_file(bindings)
    return ScriptOutput(exit_code=code)


def _spawn(argv: Sequence[str], folder: str | None, env: dict[str, str]) -> int:
    """Start ``argv`` in ``folder`` with ``os.posix_spawnp``.

    Not ``subprocess``: importing it imports ``threading``, whose after-fork hook would run in every
    task process the node agent forks, bash or not (~130 page copies, half a millisecond each time).
    ``posix_spawn`` cannot change folder in Python 3.11, so this process does, and comes back.
    """
    previous = None
    if folder is not None:
        previous = os.getcwd()
        os.chdir(folder)
    try:
        return os.posix_spawnp(argv[0], list(argv), env, setsigdef=_DEFAULT_SIGNALS)
    except FileNotFoundError:
        raise ScriptFailure(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise ScriptFailure(f"command cannot be executed (permission denied): {argv[0]}") from None
    finally:
        if previous is not None:
            os.chdir(previous)


def script_environment(bindings: Bindings) -> dict[str, str]:
    """The process environment plus every binding: ``variables_K``, ``results_0``, ``args_0``..."""
    env = dict(os.environ)
    for name, value in bindings.as_names().items():
        for key, text in _flatten(name, value):
            if "=" not in key and "\0" not in key and "\0" not in text:
                env[key] = text
    return env


def _flatten(name: str, value: Any) -> Iterator[tuple[str, str]]:
    """Maps become ``NAME_key``, lists ``NAME_i``, scalars ``NAME``; ``None`` is left out."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if item is not None:
                yield f"{name}_{key}", render(item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield f"{name}_{index}", str(item)
    elif value is not None:
        yield name, render(value)


def _apply_variables_file(bindings: Bindings) -> None:
    if not bindings.localspace:
        return
    path = Path(bindings.localspace, VARIABLES_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    path.unlink()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise ScriptFailure(f"{path}:{number}: expected a KEY=VALUE line, got {line!r}")
        bindings.variables[key.strip()] = value

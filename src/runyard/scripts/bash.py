"""The ``bash`` and ``shell`` engines: the script is written to a temporary file and run."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

from runyard.errors import ScriptError
from runyard.scripts.bindings import Bindings
from runyard.scripts.engine import ScriptOutput, ScriptSource
from runyard.scripts.process import run_process


class BashEngine:
    """``bash <file> args...``."""

    def run(self, source: ScriptSource, bindings: Bindings) -> ScriptOutput:
        with _script_file(source, bindings) as path:
            return run_process(["bash", path, *bindings.args], bindings)


class ShellEngine:
    """The file is executed directly, so its first line must be a shebang (``#!/bin/sh``)."""

    def run(self, source: ScriptSource, bindings: Bindings) -> ScriptOutput:
        if not source.text.startswith("#!"):
            raise ScriptError(f"a shell script must start with a shebang line (#!...): {source.origin}")
        with _script_file(source, bindings) as path:
            os.chmod(path, stat.S_IRWXU)
            return run_process([path, *bindings.args], bindings)


@contextmanager
def _script_file(source: ScriptSource, bindings: Bindings) -> Iterator[str]:
    """The script as a file, in localspace so that nothing is left behind even if the task is killed.

    Named here rather than by ``tempfile``, which imports ``random``, whose after-fork hook would run
    in every task process the node agent forks.
    """
    folder = bindings.localspace or _temporary_folder()
    path = os.path.join(folder, f".runyard-script-{os.urandom(8).hex()}.sh")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(source.text)
        yield path
    finally:
        os.unlink(path)


def _temporary_folder() -> str:
    import tempfile  # here: see _script_file

    return tempfile.gettempdir()

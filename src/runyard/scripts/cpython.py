"""The ``cpython`` (and ``python``) engine: ``exec`` in the task process, bindings as globals."""

from __future__ import annotations

import linecache
import traceback
from typing import Any

from runyard.scripts.bindings import Bindings
from runyard.scripts.engine import ScriptFailure, ScriptOutput, ScriptSource

#: The bindings a Python script may set for the platform to read back.
OUTPUT_BINDINGS = ("result", "selected", "branch", "runs", "loop")


class CPythonEngine:
    """Runs Python code in the current interpreter, the bindings being the script's globals.

    ``sys.exit()`` / ``sys.exit(0)`` end the script normally; any other exit code or exception
    is a ``ScriptFailure`` carrying the script's traceback; a ``ScriptFailure`` the script raises
    itself carries its message only.
    """

    def run(self, source: ScriptSource, bindings: Bindings) -> ScriptOutput:
        try:
            code = compile(source.text, source.origin, "exec")
        except (SyntaxError, ValueError) as error:
            raise ScriptFailure("".join(traceback.format_exception_only(error)).rstrip()) from None
        # So that tracebacks of inline code show its lines.
        linecache.cache[source.origin] = (len(source.text), None, source.text.splitlines(True), source.origin)
        namespace: dict[str, Any] = {"__name__": "__main__", **bindings.apis, **bindings.as_names()}
        try:
            exec(code, namespace)
        except SystemExit as exit_:
            if exit_.code not in (None, 0):
                raise ScriptFailure(f"script exited with sys.exit({exit_.code!r})") from None
        except ScriptFailure as failure:
            # A failure raised on purpose (by the script or a library it calls) already says what is
            # wrong, for people: its message alone, no traceback.
            raise ScriptFailure(str(failure)) from None
        except BaseException as error:
            # Drop this frame: the traceback starts in the user's code.
            frames = error.__traceback__.tb_next if error.__traceback__ else None
            text = "".join(traceback.format_exception(type(error), error, frames))
            raise ScriptFailure(text.rstrip()) from None
        return ScriptOutput(values={name: namespace[name] for name in OUTPUT_BINDINGS if name in namespace})

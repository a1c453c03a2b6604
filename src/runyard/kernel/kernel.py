"""The Jupyter kernel: each cell goes to a :class:`~runyard.kernel.session.NotebookSession`, what it shows
comes back as Jupyter stream, display and error messages."""

from __future__ import annotations

import re
from typing import Any

from ipykernel.kernelbase import Kernel

from runyard import __version__
from runyard.kernel.pragmas import PRAGMAS, PragmaError, completions, help_text
from runyard.kernel.session import Display, NotebookSession


class RunyardKernel(Kernel):
    implementation = "runyard"
    implementation_version = __version__
    banner = (
        "runyard: cells build a workflow with #% pragmas and run it on a runyard server; #%help() lists them"
    )
    language_info = {
        "name": "python",
        "mimetype": "text/x-python",
        "file_extension": ".py",
        "codemirror_mode": "python",
        "pygments_lexer": "python3",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]  # ipykernel's are untyped
        self.notebook = NotebookSession(self._show)
        self.notebook.connect_quietly()

    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        self._silent = silent
        if code.strip():
            try:
                self.notebook.run(code)
            except PragmaError as error:
                return self._error(error.title, str(error))
            except KeyboardInterrupt:
                return self._error(
                    "Interrupted", "the cell was interrupted; the job being built is unchanged"
                )
            except Exception as error:  # a bug of ours: said in the cell, the kernel and the job go on
                self.log.exception("runyard kernel: the cell failed")
                return self._error("Kernel error", f"{type(error).__name__}: {error}")
        return {
            "status": "ok",
            "execution_count": self.execution_count,
            "payload": [],
            "user_expressions": {},
        }

    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        """Pragma names after ``#%``, then their parameters (on the cell's first line)."""
        before = code[:cursor_pos]
        replaced, matches = (0, []) if "\n" in before else completions(before)
        return {
            "matches": matches,
            "cursor_start": cursor_pos - replaced,
            "cursor_end": cursor_pos,
            "metadata": {},
            "status": "ok",
        }

    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        """The help of the cell's pragma (Shift+Tab in JupyterLab)."""
        found = re.match(r"^#%\s*(\w+)", code)
        if found is None or found[1] not in PRAGMAS:
            return {"status": "ok", "data": {}, "metadata": {}, "found": False}
        return {"status": "ok", "data": {"text/plain": help_text(found[1])}, "metadata": {}, "found": True}

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        self.notebook.close()
        return {"status": "ok", "restart": restart}

    def _show(self, output: str | Display) -> None:
        if self._silent or not output:
            return
        if isinstance(output, Display):
            self._send("display_data", {"data": output.data, "metadata": {}})
        else:
            self._send("stream", {"name": "stdout", "text": output})

    def _error(self, title: str, message: str) -> dict[str, Any]:
        content = {"ename": title, "evalue": message, "traceback": [f"{title}: {message}"]}
        if not self._silent:
            self._send("error", content)
        return {"status": "error", "execution_count": self.execution_count, **content}

    def _send(self, kind: str, content: dict[str, Any]) -> None:
        self.send_response(self.iopub_socket, kind, content)  # type: ignore[no-untyped-call]

    _silent = False

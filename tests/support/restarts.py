"""Tasks that outlive a server: each notes its runs in a shared folder, then waits for its ``go`` file,
so a test can kill the server while they run and count their executions afterwards."""

from __future__ import annotations

import time
from pathlib import Path


def noting_code(name: str, shared: Path, result: str) -> str:
    """Python task code: append ``run`` to ``shared/name``, print ``started NAME``, wait for
    ``shared/NAME.go``, print ``ended NAME``; its result is the expression ``result``."""
    return (
        f"import os, time\nopen({str(shared / name)!r}, 'a').write('run\\n')\n"
        f"print('started {name}', flush=True)\n"
        f"while not os.path.exists({str(shared / (name + '.go'))!r}):\n    time.sleep(0.05)\n"
        f"print('ended {name}')\nresult = {result}"
    )


def until_exists(*paths: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not all(path.exists() for path in paths):
        assert time.monotonic() < deadline, f"not all of {paths} were written"
        time.sleep(0.05)

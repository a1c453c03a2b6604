"""The kernelspec Jupyter finds the runyard kernel by: ``kernel.json`` running this Python."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

KERNEL_NAME = "runyard"
DISPLAY_NAME = "runyard"


def kernel_json(python: str = sys.executable) -> dict[str, object]:
    return {
        "argv": [python, "-m", "runyard.kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }


def install(*, user: bool = False, prefix: str | None = None, name: str = KERNEL_NAME) -> Path:
    """Write the kernelspec (for this user, under ``prefix``, or system-wide); the folder written."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "kernel.json").write_text(json.dumps(kernel_json(), indent=2), encoding="utf-8")
        written = KernelSpecManager().install_kernel_spec(folder, name, user=user, prefix=prefix)
    return Path(written)

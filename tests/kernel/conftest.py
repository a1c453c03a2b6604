"""A live server, the kernelspec installed by ``runyard kernel install --prefix``, and the real kernel.

Each test module starts one kernel (a process run as Jupyter runs it) and talks to it with
``jupyter_client``; the kernel's working folder and configuration folder are the module's own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from typer.testing import CliRunner

from runyard.cli.main import app
from support.server import PASSWORD, LiveServer, live_server

#: Times a cell the kernel aborted unread is sent (:meth:`Kernel.run`).
ABORTED_RETRIES = 3


@dataclass
class Reply:
    """What one cell gave back."""

    status: str
    stdout: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    displays: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error(self) -> str:
        """``ename: evalue`` of the cell's error."""
        return "\n".join(f"{e['ename']}: {e['evalue']}" for e in self.errors)


@dataclass
class Kernel:
    client: BlockingKernelClient
    folder: Path
    """The kernel's working folder (where it writes files)."""
    manager: KernelManager
    used: bool = False

    def run(self, code: str, timeout: float = 120) -> Reply:
        """Run a cell. One the kernel aborted unread, having received it in the short window after the
        previous cell's error when it aborts what is queued (ipykernel's ``stop_on_error``), is sent
        again."""
        for _ in range(ABORTED_RETRIES):
            reply = self._run_once(code, timeout)
            if reply.status != "aborted":
                break
            time.sleep(0.1)
        return reply

    def _run_once(self, code: str, timeout: float) -> Reply:
        reply = Reply("")

        def collect(message: dict[str, Any]) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                reply.stdout += content["text"]
            elif kind == "error":
                reply.errors.append(content)
            elif kind == "display_data":
                reply.displays.append(content["data"])

        answer = self.client.execute_interactive(code, output_hook=collect, timeout=timeout)
        reply.status = answer["content"]["status"]
        return reply

    def ok(self, code: str, timeout: float = 120) -> Reply:
        """Run a cell that must succeed."""
        reply = self.run(code, timeout)
        assert reply.status == "ok", reply.error
        return reply


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture(scope="package")
def jupyter_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The kernelspec installed with ``runyard kernel install --prefix``, found through ``JUPYTER_PATH``."""
    prefix = tmp_path_factory.mktemp("prefix")
    result = CliRunner().invoke(app, ["kernel", "install", "--prefix", str(prefix)])
    assert result.exit_code == 0, result.output
    path = prefix / "share" / "jupyter"
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(path)
    yield path
    if previous is None:
        del os.environ["JUPYTER_PATH"]
    else:
        os.environ["JUPYTER_PATH"] = previous


def kernel_environment(folder: Path, **extra: str) -> dict[str, str]:
    """The test's environment without a server to use, a configuration folder of its own, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    return {**env, "XDG_CONFIG_HOME": str(folder / "config"), **extra}


@pytest.fixture(scope="module")
def user(server: LiveServer) -> tuple[str, str]:
    """A user of the server (name, token), the same for the module."""
    return server.new_user()


@pytest.fixture(scope="module")
def kernel_process(jupyter_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    """The runyard kernel, started by Jupyter's KernelManager from the installed kernelspec."""
    folder = tmp_path_factory.mktemp("notebook")
    manager = KernelManager(kernel_name="runyard")
    manager.start_kernel(cwd=str(folder), env=kernel_environment(folder))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield Kernel(client, folder, manager)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)


@pytest.fixture
def kernel(kernel_process: Kernel) -> Kernel:
    """The module's kernel with nothing built yet (restarted if a test used it before)."""
    if kernel_process.used:
        kernel_process.manager.restart_kernel(now=True)
        kernel_process.client.wait_for_ready(timeout=60)
    kernel_process.used = True
    return kernel_process


def connect_cell(server: LiveServer, user: tuple[str, str]) -> str:
    return f"#%connect(url={server.url}, login={user[0]}, password='{PASSWORD}')"

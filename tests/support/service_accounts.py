"""Test servers whose data folder the accounts of packaged servers (postgres, mysql) can reach."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.server import LiveServer, live_server


@contextmanager
def reachable_server(nodes: int) -> Iterator[LiveServer]:
    """A live server in a folder of its own that others may traverse. The process engine's database
    servers run as their own accounts under the server's data folder, and pytest's temporary folders
    are 0700 (a pytest session starting meanwhile sets their root back to 0700)."""
    with tempfile.TemporaryDirectory(prefix="runyard-services-") as root:
        os.chmod(root, 0o711)
        with live_server(Path(root) / "server", nodes=nodes) as server:
            yield server

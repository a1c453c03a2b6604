"""A real image registry for the tests: Debian's ``docker-registry`` (distribution 2.8) on a loopback port.

Its storage is a folder of the test's, deletion enabled, no authentication unless a user is given
(htpasswd, bcrypt, as the registry wants it); plain HTTP, which Docker allows for loopback registries only
(no ``insecure-registries`` needed), credentials included. ``scripts/test`` installs the
package; elsewhere a machine without it skips the tests (under ``CI=true`` they fail, saying how to
install it).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from support.needs import missing
from support.server_process import free_port

BINARY = "/usr/bin/docker-registry"
START_TIMEOUT = 30.0


class Registry:
    """A registry process on ``127.0.0.1:port`` (``address``), stopped and started again at will."""

    def __init__(self, folder: Path, port: int, user: tuple[str, str] | None = None) -> None:
        self.folder, self.port, self.user = folder, port, user
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``: what ``app_engine_registry`` and image references name."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "config.yml"
        auth = ""
        if self.user is not None:
            name, password = self.user
            with warnings.catch_warnings():  # crypt: deprecated, the one bcrypt of the standard library
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt

                # the least cost: the registry checks it at every request of a push (cost 12: ~0.25 s each)
                hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
            (self.folder / "htpasswd").write_text(f"{name}:{hashed}\n")
            auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {self.folder / 'htpasswd'}\n"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.folder / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n" + auth
        )
        log = (self.folder / "registry.log").open("ab")
        self.process = subprocess.Popen(
            [BINARY, "serve", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{self.url}/v2/", auth=self.user, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = (self.folder / "registry.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"docker-registry did not answer on {self.url}:\n{tail}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def tags(self, repository: str) -> list[str]:
        """The tags of ``repository`` (``GET /v2/<name>/tags/list``); none when it is unknown."""
        answer = httpx.get(f"{self.url}/v2/{repository}/tags/list", auth=self.user, timeout=10)
        if answer.status_code == 404:
            return []
        answer.raise_for_status()
        tags: list[str] = answer.json().get("tags") or []
        return tags


@contextmanager
def image_registry(folder: Path, user: tuple[str, str] | None = None) -> Iterator[Registry]:
    """A registry started with its storage in ``folder`` (``user``: its one account), stopped on exit."""
    if shutil.which(BINARY) is None:
        missing(
            f"{BINARY} is not installed: `apt-get install docker-registry` (Debian's package; scripts/test "
            "installs it)"
        )
    registry = Registry(folder, free_port(), user)
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()

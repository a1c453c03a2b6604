"""The ``singularity`` engine: a service is an Apptainer (or SingularityCE) instance, its ``ref`` its name.

The engine drives the command-line tool (``apptainer`` when on the PATH, else ``singularity``) through
``instance start``, ``instance stop`` and ``instance list --json``. Instances cannot be paused: the tool
has no such command, and stopping the instance's pid alone would leave its other processes running, so
``pause`` and ``resume`` refuse with ``UnsupportedOperationError``. The tool forgets an instance once it
has ended, so an ended instance shows as MISSING, never EXITED.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runyard.errors import NotFoundError
from runyard.services.engines import RunState, ServiceError

BINARIES = ("apptainer", "singularity")


class UnsupportedOperationError(ServiceError):
    """The engine cannot do this at all (as opposed to failing this time)."""


def find_binary() -> str:
    """Path of ``apptainer``, else of ``singularity``; ``ServiceError`` when neither is on the PATH."""
    for binary in BINARIES:
        path = shutil.which(binary)
        if path is not None:
            return path
    raise ServiceError("the singularity engine needs apptainer or singularity: neither is on the PATH")


def instance_start_command(
    binary: str, image: str, name: str, options: str = "", args: Sequence[str] = ()
) -> list[str]:
    """``instance start [options] IMAGE NAME [args]``, ``options`` split as a shell would (``-B "a b"``)."""
    return [binary, "instance", "start", *shlex.split(options), image, name, *args]


def instance_stop_command(binary: str, name: str) -> list[str]:
    return [binary, "instance", "stop", name]


def instance_list_command(binary: str, name: str | None = None) -> list[str]:
    """``instance list --json [NAME]`` (the tool takes ``NAME`` as a pattern: callers match it exactly)."""
    return [binary, "instance", "list", "--json", *([name] if name is not None else [])]


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ServiceError(
            f"{shlex.join(command)} failed (exit code {done.returncode}): {done.stderr.strip()}"
        )
    return done.stdout


def start_instance(image: str, name: str, options: str = "", args: Sequence[str] = ()) -> str:
    """Start instance ``name`` of ``image`` and return its reference (the name)."""
    _run(instance_start_command(find_binary(), image, name, options, args))
    return name


class SingularityEngine:
    name = "singularity"

    def state(self, ref: str) -> RunState:
        return RunState.RUNNING if self._instance(ref) is not None else RunState.MISSING

    def pause(self, ref: str) -> None:
        raise UnsupportedOperationError(f"singularity instance {ref}: instances cannot be paused")

    def resume(self, ref: str) -> None:
        raise UnsupportedOperationError(f"singularity instance {ref}: instances cannot be paused or resumed")

    def stop(self, ref: str) -> None:
        binary = find_binary()
        try:
            _run(instance_stop_command(binary, ref))
        except ServiceError:
            if self._instance(ref) is not None:  # it failed, not just found nothing to stop
                raise

    def logs(self, ref: str, since: float | None = None) -> str:
        """Its standard output then its standard error, whole: the files have no times to cut ``since`` at."""
        instance = self._instance(ref)
        if instance is None:
            raise NotFoundError(f"no singularity instance {ref}")
        return "".join(
            Path(instance[key]).read_text(errors="replace")
            for key in ("logOutPath", "logErrPath")
            if instance.get(key) and Path(instance[key]).is_file()
        )

    def _instance(self, name: str) -> dict[str, Any] | None:
        listed = json.loads(_run(instance_list_command(find_binary(), name)) or "{}")
        return next((i for i in listed.get("instances") or [] if i.get("instance") == name), None)

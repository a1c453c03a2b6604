"""``userspaceapi`` and ``globalspaceapi``: ProActive's ``DataSpaceClient`` on the user space and the global
space of the task's node (the folders its ``userspace`` and ``globalspace`` bindings name). Remote paths are
relative to the space and stay inside it (no ``..``, no absolute path, no link leading out); local paths are
relative to the task's working folder (its localspace).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from runyard.nodes.dataspaces import matching_files
from runyard.taskapi.connection import TaskApiError


class DataSpaceApi:
    def __init__(self, name: str, root: str) -> None:
        self._name = name
        self._root = root

    def connect(self) -> None:
        self._space()

    def disconnect(self) -> None:
        """Nothing to close: the space is a folder."""

    def pushFile(self, localFile: object, remotePath: str) -> str:
        """Copy a local file (or folder) to ``remotePath`` of the space; its path there."""
        source = Path(str(localFile))
        if not source.exists():
            raise TaskApiError(f"{self._name}api.pushFile: no local file {source}")
        target = self._path(remotePath)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)
        else:
            shutil.copyfile(source, target)
        return str(target)

    def pullFile(self, remotePath: str, localFile: object) -> str:
        """Copy ``remotePath`` of the space to a local file (or folder); the local path."""
        source = self._path(remotePath)
        if not source.exists():
            raise TaskApiError(f"{self._name}api.pullFile: no {remotePath} in the {self._name}")
        target = Path(str(localFile))
        if target.parent != Path():
            target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)
        else:
            shutil.copyfile(source, target)
        return str(target)

    def deleteFile(self, remotePath: str) -> bool:
        """Remove a file or folder of the space; whether there was one."""
        target = self._path(remotePath)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
            return True
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        return True

    def listFiles(self, remotePath: str = "", pattern: str = "**") -> list[str]:
        """Files under ``remotePath`` of the space matching the glob ``pattern`` (Java's syntax), relative."""
        folder = self._path(remotePath) if remotePath else self._space()
        return matching_files(folder, [pattern]) if folder.is_dir() else []

    def resolve(self, remotePath: str) -> str:
        return str(self._path(remotePath))

    def _space(self) -> Path:
        if not self._root:
            raise TaskApiError(f"this task has no {self._name}")
        return Path(self._root).resolve()

    def _path(self, remote: str) -> Path:
        space = self._space()
        relative = str(remote).replace("\\", "/").lstrip("/")
        if not relative or any(part == ".." for part in relative.split("/")):
            raise TaskApiError(f"{remote!r} is not a path inside the {self._name}")
        path = space / relative
        resolved = Path(os.path.realpath(path.parent)) / path.name
        if not resolved.is_relative_to(space):
            raise TaskApiError(f"{remote!r} leads out of the {self._name}")
        return resolved

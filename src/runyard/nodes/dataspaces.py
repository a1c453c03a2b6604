"""Input and output file transfers between the data spaces and a task's localspace.

Patterns use Java's glob syntax: ``*`` and ``?`` stay within a folder, ``**`` crosses folders
(and ``**/`` may match no folder at all, so ``**/*.txt`` also finds ``a.txt``), ``{a,b}``
alternatives, ``[abc]`` classes. Relative paths are kept: ``in/a.txt`` lands in ``in/a.txt``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from runyard.errors import NodeError
from runyard.model import FileSelector


@dataclass(frozen=True)
class DataSpaces:
    """Folders of one execution; an empty string is a space the task does not have."""

    localspace: str
    userspace: str = ""
    globalspace: str = ""
    cachespace: str = ""
    inputspace: str = ""
    outputspace: str = ""


_SPACES = {"User": "userspace", "Global": "globalspace", "Input": "inputspace", "Output": "outputspace"}
_INPUT_SOURCES = {
    **{f"transferFrom{name}Space": (space, "localspace") for name, space in _SPACES.items()},
    **{f"cacheFrom{name}Space": (space, "cachespace") for name, space in _SPACES.items()},
}
_OUTPUT_TARGETS = {f"transferTo{name}Space": space for name, space in _SPACES.items() if name != "Input"}


def transfer_inputs(selectors: Iterable[FileSelector], spaces: DataSpaces) -> None:
    """Copy the files each selector names into localspace (``transferFrom*``) or cachespace
    (``cacheFrom*``, only when newer)."""
    for selector in selectors:
        if selector.access_mode == "none":
            continue
        if selector.access_mode not in _INPUT_SOURCES:
            raise NodeError(_mode_error(selector.access_mode, "input"))
        source, target = _INPUT_SOURCES[selector.access_mode]
        _copy(selector, _folder(spaces, source), _folder(spaces, target), only_newer=target == "cachespace")


def transfer_outputs(selectors: Iterable[FileSelector], spaces: DataSpaces) -> None:
    """Copy the files of localspace each selector names to the user or global space."""
    for selector in selectors:
        if selector.access_mode == "none":
            continue
        if selector.access_mode not in _OUTPUT_TARGETS:
            raise NodeError(_mode_error(selector.access_mode, "output"))
        target = _OUTPUT_TARGETS[selector.access_mode]
        _copy(selector, _folder(spaces, "localspace"), _folder(spaces, target), only_newer=False)


def matching_files(root: Path, includes: Iterable[str], excludes: Iterable[str] = ()) -> list[str]:
    """Relative (``/``-separated) paths of the files under ``root`` matched by an include and no exclude."""
    include = [glob_regex(pattern) for pattern in includes]
    exclude = [glob_regex(pattern) for pattern in excludes]
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            relative = Path(folder, name).relative_to(root).as_posix()
            if _matches(include, relative) and not _matches(exclude, relative):
                found.append(relative)
    return sorted(found)


def _matches(patterns: list[re.Pattern[str]], path: str) -> bool:
    return any(pattern.fullmatch(path) for pattern in patterns)


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A Java-style glob as a regular expression over ``/``-separated relative paths."""
    out: list[str] = []
    i = 0
    depth = 0  # inside {...}
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = pattern.find("]", i + 1)
            if close < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : close].replace("\\", "\\\\")
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = close
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    try:
        return re.compile("".join(out))
    except re.error as error:
        raise NodeError(f"bad file pattern {pattern!r}: {error}") from None


def _copy(selector: FileSelector, source: Path, target: Path, *, only_newer: bool) -> None:
    if not source.is_dir():
        return
    for relative in matching_files(source, selector.includes, selector.excludes):
        origin, destination = source / relative, target / relative
        for path, space in ((origin, source), (destination, target)):
            if not path.resolve().is_relative_to(space.resolve()):
                raise NodeError(f"{relative} leads out of {space} through a symbolic link: not copied")
        if only_newer and destination.exists() and destination.stat().st_mtime >= origin.stat().st_mtime:
            continue
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination)
        except OSError as error:
            raise NodeError(f"cannot copy {origin} to {destination}: {error}") from None


def _folder(spaces: DataSpaces, name: str) -> Path:
    folder: str = getattr(spaces, name)
    if not folder:
        declared = {"inputspace": "inputSpace", "outputspace": "outputSpace"}.get(name)
        why = f": the job declares no {declared}" if declared else ""
        raise NodeError(f"this task has no {name}{why}")
    return Path(folder)


def _mode_error(mode: str, direction: str) -> str:
    return f"unknown {direction} file access mode {mode!r}"

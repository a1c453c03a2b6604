"""Scripts as declared in a workflow: inline code or a file/URL, in a named language."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass
class Script:
    """One script: exactly one of ``code``, ``file`` (a path) or ``url``.

    ``language`` is the engine name (``cpython``, ``bash``, ``shell``...); for a file or URL it
    may be left to ``None`` and inferred from the extension when the script is run.
    ``arguments`` are exposed to the script as ``args`` (and ``$1``... in bash).
    """

    language: str | None = None
    code: str | None = None
    file: str | None = None
    url: str | None = None
    arguments: list[str] = field(default_factory=list)


class SelectionType(StrEnum):
    STATIC = "static"  # result cached per node
    DYNAMIC = "dynamic"  # evaluated every time


@dataclass
class SelectionScript:
    script: Script
    type: SelectionType = SelectionType.DYNAMIC

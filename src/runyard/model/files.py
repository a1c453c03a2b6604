"""Data transfer declarations: ``inputFiles`` / ``outputFiles`` between data spaces and localspace."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileSelector:
    """Glob patterns (Java glob syntax, ``**`` crosses folders) and the space to move them from/to.

    Input access modes: ``transferFromInputSpace``, ``transferFromOutputSpace``,
    ``transferFromGlobalSpace``, ``transferFromUserSpace``, the ``cacheFrom*`` variants, ``none``.
    Output access modes: ``transferToOutputSpace``, ``transferToGlobalSpace``,
    ``transferToUserSpace``, ``none``.
    """

    includes: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    access_mode: str = "none"

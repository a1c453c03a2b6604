"""What a task runs: a script, a native command line, or (not runnable here) a Java class."""

from __future__ import annotations

from dataclasses import dataclass, field

from runyard.model.scripts import Script


@dataclass
class ScriptExecutable:
    script: Script


@dataclass
class NativeExecutable:
    """A command line; the task result is its exit code, non-zero makes the task faulty."""

    command: str
    arguments: list[str] = field(default_factory=list)
    working_dir: str | None = None


@dataclass
class JavaExecutable:
    """ProActive's ``javaExecutable``: kept in the model, accepted, but not runnable by runyard."""

    class_name: str
    parameters: dict[str, str] = field(default_factory=dict)


Executable = ScriptExecutable | NativeExecutable | JavaExecutable

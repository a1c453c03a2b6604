"""A task as declared in a workflow (one node of the graph before any replication or loop)."""

from __future__ import annotations

from dataclasses import dataclass, field

from runyard.model.control_flow import ControlFlow
from runyard.model.environment import ForkEnvironment, Parallel
from runyard.model.executables import Executable
from runyard.model.files import FileSelector
from runyard.model.scripts import Script, SelectionScript
from runyard.model.variables import Variable


@dataclass
class Task:
    """A task definition.

    Attributes that ProActive lets reference a variable (``maxNumberOfExecution="${N}"``) hold
    either their typed value or the raw ``${...}`` string; they are resolved at submission.
    Durations (``walltime``, ``task_retry_delay``) are ProActive duration strings
    (``ss``, ``mm:ss``, ``hh:mm:ss``); see :mod:`runyard.model.durations`.

    ``reference`` (``bucket/object`` or ``bucket/object@revision``) makes the task stand for the one task of
    that catalog object, its other fields overriding it: :mod:`runyard.model.references` merges them when
    the job is submitted, so a stored job never holds a reference.
    """

    name: str
    executable: Executable | None = None
    description: str | None = None
    variables: list[Variable] = field(default_factory=list)
    generic_information: dict[str, str] = field(default_factory=dict)
    depends: list[str] = field(default_factory=list)
    input_files: list[FileSelector] = field(default_factory=list)
    output_files: list[FileSelector] = field(default_factory=list)
    parallel: Parallel | None = None
    selection: list[SelectionScript] = field(default_factory=list)
    fork_environment: ForkEnvironment | None = None
    pre: Script | None = None
    post: Script | None = None
    cleaning: Script | None = None
    control_flow: ControlFlow | None = None
    max_number_of_execution: int | str | None = None
    on_task_error: str | None = None
    restart_task_on_error: str | None = None
    task_retry_delay: str | None = None
    walltime: str | None = None
    number_of_nodes: int | str | None = None
    precious_result: bool = False
    precious_logs: bool = False
    fork: bool | None = None
    run_as_me: bool = False
    result_preview_class: str | None = None
    metadata: str | None = None
    reference: str | None = None

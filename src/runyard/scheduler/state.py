"""Runtime state of jobs and task instances, as the scheduler holds it in memory.

A *task instance* is one node of the running graph: the workflow's task ``T`` becomes ``T``,
and replicate/loop add ``T*1``, ``T#1``, ``T#1*2``... Every field here is mirrored in the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from runyard.model import JobStatus, OnTaskError, Priority, TaskStatus, Workflow


def instance_name(template: str, iteration: int, replication: int) -> str:
    """ProActive's naming: ``T``, ``T#2`` (iteration), ``T*3`` (replica), ``T#2*3``."""
    name = template
    if iteration:
        name += f"#{iteration}"
    if replication:
        name += f"*{replication}"
    return name


@dataclass
class TaskState:
    number: int  # unique within the job, in creation order
    name: str
    template: str  # the workflow task this is an instance of
    iteration: int = 0
    replication: int = 0
    depends: list[str] = field(default_factory=list)  # instance names, ordered as results[]
    status: TaskStatus = TaskStatus.PENDING
    executions: int = 0  # every start; numbers the executions (logs, execution records)
    failures: int = 0  # starts lost to a node failure (since the last restart of an IN_ERROR task)
    error_base: int = 0  # starts before the last restart of an IN_ERROR task: no longer errors
    node: str | None = None
    not_before: float | None = None  # retry delay or cron loop: not dispatched earlier
    started_at: float | None = None
    finished_at: float | None = None
    result: bytes | None = None
    result_json: Any = None
    result_repr: str | None = None
    error: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)  # propagated to descendants
    flow: dict[str, Any] | None = None
    exit_value: int | None = None
    result_metadata: dict[str, Any] = field(default_factory=dict)  # what ``resultMetadata`` held
    paused_from: TaskStatus | None = None  # status to return to on resume
    stored: bool = field(default=False, compare=False)  # has a row in the store already

    @property
    def errors(self) -> int:
        """Executions that ended in an error and count against ``maxNumberOfExecution``."""
        return self.executions - self.failures - self.error_base

    def task_id(self, job_id: int) -> str:
        return f"{job_id}t{self.number}"


@dataclass
class JobState:
    id: int
    name: str
    owner: str
    workflow: Workflow  # as submitted, ${} in typed attributes resolved
    variables: dict[str, Any]  # job variables, overrides applied and ${} resolved
    generic_information: dict[str, str]
    priority: Priority = Priority.NORMAL
    on_task_error: OnTaskError = OnTaskError.CONTINUE_JOB_EXECUTION
    max_number_of_execution: int = 1
    task_retry_delay: float = 0.0
    status: JobStatus = JobStatus.PENDING
    project_name: str | None = None
    submitted_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    result_map: dict[str, Any] = field(default_factory=dict)
    source_dir: str | None = None
    parent_id: int | None = None  # the job whose task submitted this one, by the platform's record
    submission_key: str | None = None  # the owner's idempotency key, stored with the job (never saved again)
    tasks: dict[str, TaskState] = field(default_factory=dict)  # by instance name, creation order
    next_number: int = 0
    _open: set[str] | None = field(default=None, compare=False, repr=False)  # not terminal yet
    _in_error: set[str] = field(default_factory=set, compare=False, repr=False)
    _running: set[str] = field(default_factory=set, compare=False, repr=False)

    def track(self, names: Iterable[str]) -> None:
        """Note the current status of the instances ``names`` (the first call looks at all)."""
        if self._open is None:
            self._open = set()
            names = self.tasks
        for name in names:
            status = self.tasks[name].status
            _keep(self._open, name, not status.is_terminal)
            _keep(self._in_error, name, status is TaskStatus.IN_ERROR)
            _keep(self._running, name, status is TaskStatus.RUNNING)

    @property
    def all_terminal(self) -> bool:
        """Every instance has ended (as of the last :meth:`track`)."""
        return not self._open

    @property
    def any_in_error(self) -> bool:
        return bool(self._in_error)

    @property
    def any_running(self) -> bool:
        return bool(self._running)

    def add_task(self, template: str, iteration: int, replication: int, depends: list[str]) -> TaskState:
        task = TaskState(
            number=self.next_number,
            name=instance_name(template, iteration, replication),
            template=template,
            iteration=iteration,
            replication=replication,
            depends=depends,
        )
        self.next_number += 1
        self.tasks[task.name] = task
        return task


def _keep(names: set[str], name: str, member: bool) -> None:
    if member:
        names.add(name)
    else:
        names.discard(name)

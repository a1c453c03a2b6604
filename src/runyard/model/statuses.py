"""Job and task statuses, with ProActive's names (reference §2.1, §2.2)."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STALLED = "STALLED"
    PAUSED = "PAUSED"
    IN_ERROR = "IN_ERROR"
    FINISHED = "FINISHED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_alive(self) -> bool:
        return self in _ALIVE_JOB


_ALIVE_JOB = frozenset(
    {JobStatus.PENDING, JobStatus.RUNNING, JobStatus.STALLED, JobStatus.PAUSED, JobStatus.IN_ERROR}
)


class TaskStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    PAUSED = "PAUSED"
    RUNNING = "RUNNING"
    WAITING_ON_ERROR = "WAITING_ON_ERROR"
    WAITING_ON_FAILURE = "WAITING_ON_FAILURE"
    FAILED = "FAILED"
    NOT_STARTED = "NOT_STARTED"
    NOT_RESTARTED = "NOT_RESTARTED"
    ABORTED = "ABORTED"
    FAULTY = "FAULTY"
    FINISHED = "FINISHED"
    SKIPPED = "SKIPPED"
    IN_ERROR = "IN_ERROR"

    @property
    def is_terminal(self) -> bool:
        """The task will not run again (ProActive's FINISHED set)."""
        return self in _TERMINAL_TASK

    @property
    def is_error(self) -> bool:
        return self in _ERROR_TASK

    @property
    def is_failure(self) -> bool:
        """The task did not do its work: a job that FINISHED with such a task counts as failed
        (exit codes of ``runyard run`` and ``runyard submit --wait``)."""
        return self in _FAILURE_TASK


_TERMINAL_TASK = frozenset(
    {
        TaskStatus.FAILED,
        TaskStatus.NOT_RESTARTED,
        TaskStatus.ABORTED,
        TaskStatus.FAULTY,
        TaskStatus.FINISHED,
        TaskStatus.SKIPPED,
        TaskStatus.NOT_STARTED,
    }
)
_FAILURE_TASK = frozenset(
    {
        TaskStatus.FAULTY,
        TaskStatus.FAILED,
        TaskStatus.ABORTED,
        TaskStatus.NOT_STARTED,
        TaskStatus.NOT_RESTARTED,
        TaskStatus.IN_ERROR,
    }
)
_ERROR_TASK = frozenset(
    {
        TaskStatus.IN_ERROR,
        TaskStatus.WAITING_ON_ERROR,
        TaskStatus.WAITING_ON_FAILURE,
        TaskStatus.FAILED,
        TaskStatus.FAULTY,
    }
)


class OnTaskError(StrEnum):
    """What happens when a task fails for good (after its last execution)."""

    CONTINUE_JOB_EXECUTION = "continueJobExecution"
    SUSPEND_TASK = "suspendTask"
    PAUSE_JOB = "pauseJob"
    CANCEL_JOB = "cancelJob"
    NONE = "none"  # on a task: inherit the job's policy


class Priority(StrEnum):
    IDLE = "idle"
    LOWEST = "lowest"
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    HIGHEST = "highest"

    @property
    def rank(self) -> int:
        """Larger runs first."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {priority: rank for rank, priority in enumerate(Priority)}

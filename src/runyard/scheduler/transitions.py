"""How jobs and task instances change state: pure functions of state, event and time.

Nothing here does I/O. Each function records in :class:`Changes` what it touched, so the
scheduler persists exactly that before acting on it (intent before effect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from runyard.model import JobStatus, OnTaskError, TaskStatus, parse_duration
from runyard.nodes.protocol import OutcomeKind, TaskOutcome
from runyard.scheduler.expansion import apply_branch, apply_loop, apply_replicate, growth_refused
from runyard.scheduler.graph import Graph
from runyard.scheduler.index import WAITING
from runyard.scheduler.state import JobState, TaskState
from runyard.settings import JobLimits


@dataclass
class Kill:
    task: str
    node: str
    execution: int


@dataclass
class Changes:
    """What a transition touched: task instances to save, the job row, executions to kill."""

    tasks: set[str] = field(default_factory=set)
    job: bool = False
    kills: list[Kill] = field(default_factory=list)


def max_executions(job: JobState, graph: Graph, task: TaskState) -> int:
    value = graph.tasks[task.template].max_number_of_execution
    return int(value) if value is not None else job.max_number_of_execution


def retry_delay(job: JobState, graph: Graph, task: TaskState) -> float:
    value = graph.tasks[task.template].task_retry_delay
    return parse_duration(value) if value is not None else job.task_retry_delay


def error_policy(job: JobState, graph: Graph, task: TaskState) -> OnTaskError:
    value = graph.tasks[task.template].on_task_error
    if value is None or value == OnTaskError.NONE:
        return job.on_task_error
    return OnTaskError(value)


def retries_elsewhere(job: JobState, graph: Graph, task: TaskState) -> bool:
    """``restartTaskOnError="elsewhere"`` (task, else job): a retry must avoid the node that failed."""
    value = graph.tasks[task.template].restart_task_on_error or job.workflow.restart_task_on_error
    return (value or "").lower() == "elsewhere"


def task_started(job: JobState, task: TaskState, node: str, now: float, changes: Changes) -> None:
    task.status = TaskStatus.RUNNING
    task.node = node
    task.executions += 1
    task.started_at = now
    task.finished_at = None
    task.not_before = None
    if job.started_at is None:
        job.started_at = now
    changes.tasks.add(task.name)
    refresh_job_status(job, now, changes)


def held(task: TaskState) -> bool:
    """Given to a node that has not started it yet: PENDING, with its node and a lease (a native
    scheduler's node waits for the job it asked its cluster for: see ``task_dispatched``)."""
    return task.status is TaskStatus.PENDING and task.node is not None


def on_node(task: TaskState) -> bool:
    """Its current execution is its node's: RUNNING there, or held until the node starts it."""
    return task.status is TaskStatus.RUNNING or held(task)


def task_dispatched(job: JobState, task: TaskState, node: str, now: float, changes: Changes) -> None:
    """Given to ``node``, which reports when it really starts it (``task_began``): until then the
    instance is PENDING (a retry too), as ProActive keeps a task whose node a native scheduler has not
    started."""
    task.status = TaskStatus.PENDING
    task.node = node
    task.executions += 1
    task.started_at = task.finished_at = None
    task.not_before = None
    changes.tasks.add(task.name)
    refresh_job_status(job, now, changes)


def task_began(job: JobState, task: TaskState, execution: int, now: float, changes: Changes) -> None:
    """The node of a held instance (``held``) started that execution: RUNNING from now."""
    if not held(task) or task.executions != execution:
        return
    task.status = TaskStatus.RUNNING
    task.started_at = now
    if job.started_at is None:
        job.started_at = now
    changes.tasks.add(task.name)
    refresh_job_status(job, now, changes)


def task_unstarted(job: JobState, task: TaskState, now: float, changes: Changes) -> None:
    """The execution of a held instance is gone before it started (its node or the runner that held it
    went): PENDING again, as if never given (no error, no node failure counted)."""
    task.node = None
    task.executions -= 1
    changes.tasks.add(task.name)
    refresh_job_status(job, now, changes)


def task_outcome(
    job: JobState,
    graph: Graph,
    task: TaskState,
    outcome: TaskOutcome,
    now: float,
    changes: Changes,
    limits: JobLimits | None = None,
) -> None:
    """Apply what one execution produced (ignored unless the instance is still RUNNING, or held).

    A flow that would pass ``limits`` makes the task FAULTY and fails the job, growing nothing."""
    if not on_node(task) or outcome.execution != task.executions:
        return
    changes.tasks.add(task.name)
    task.node = None
    if outcome.kind is OutcomeKind.NOT_SELECTED:
        task.status = TaskStatus.PENDING
        task.executions -= 1
        task.started_at = None
        refresh_job_status(job, now, changes)
        return
    task.started_at = outcome.started_at or task.started_at  # when the node really began
    task.finished_at = outcome.finished_at or now
    task.result, task.result_json, task.result_repr = outcome.result, outcome.result_json, outcome.result_repr
    task.result_metadata = dict(outcome.result_metadata)
    task.variables = dict(outcome.variables)
    task.exit_value = outcome.exit_value
    task.error = outcome.error
    if outcome.result_map:
        job.result_map.update(outcome.result_map)
        changes.job = True
    refused = None
    if outcome.kind is OutcomeKind.FINISHED and limits is not None:
        flow = outcome.flow or {}
        refused = growth_refused(
            job, graph, task, _runs(flow.get("runs", 1)), _loop(flow.get("loop", False)) is not False, limits
        )
    if refused is not None:
        task.status = TaskStatus.FAULTY
        task.error = refused
        _end_job(job, JobStatus.FAILED, now, changes)
    elif outcome.kind is OutcomeKind.FINISHED:
        task.status = TaskStatus.FINISHED
        task.flow = outcome.flow
        _apply_flow(job, graph, task, outcome.flow, now, changes)
    elif outcome.kind is OutcomeKind.KILLED:
        task.status = TaskStatus.ABORTED
        _apply_flow(job, graph, task, None, now, changes)
    else:
        _task_failed(job, graph, task, now, changes)
    refresh_job_status(job, now, changes)


def node_lost(
    job: JobState, graph: Graph, task: TaskState, now: float, max_failures: int, changes: Changes
) -> None:
    """The node running ``task`` is gone: start it again elsewhere, or fail the job."""
    if task.status is not TaskStatus.RUNNING:
        return
    task.node = None
    task.failures += 1
    changes.tasks.add(task.name)
    if task.failures <= max_failures:
        task.status = TaskStatus.WAITING_ON_FAILURE
    else:
        task.status = TaskStatus.FAILED
        task.finished_at = now
        task.error = f"lost with its node {task.failures} times"
        _end_job(job, JobStatus.FAILED, now, changes)
    refresh_job_status(job, now, changes)


def _task_failed(job: JobState, graph: Graph, task: TaskState, now: float, changes: Changes) -> None:
    """After an error: retry while executions are left, then apply the error policy.

    As in ProActive, ``suspendTask`` and ``pauseJob`` both leave the task IN_ERROR (its
    successors wait for a restart); ``pauseJob`` also pauses the job.
    """
    if task.errors < max_executions(job, graph, task):
        task.status = TaskStatus.WAITING_ON_ERROR
        task.not_before = now + retry_delay(job, graph, task)
        return
    policy = error_policy(job, graph, task)
    if policy in (OnTaskError.SUSPEND_TASK, OnTaskError.PAUSE_JOB):
        task.status = TaskStatus.IN_ERROR
        if policy is OnTaskError.PAUSE_JOB:
            pause_job(job, now, changes)
        return
    task.status = TaskStatus.FAULTY
    _apply_flow(job, graph, task, None, now, changes)
    if policy is OnTaskError.CANCEL_JOB:
        _end_job(job, JobStatus.CANCELED, now, changes)


def _apply_flow(
    job: JobState, graph: Graph, task: TaskState, flow: dict[str, object] | None, now: float, changes: Changes
) -> None:
    """Run the task's flow action. A task that did not finish acts as ProActive's default action:
    the ``if`` branch (so that the continuation is not blocked), one run, no loop."""
    flow = flow or {}
    if graph.if_action(task.template) is not None:
        branch = str(flow.get("branch", "if")).lower()
        changes.tasks |= apply_branch(job, graph, task, "else" if branch == "else" else "if")
    elif graph.replicate_action(task.template) is not None:
        changes.tasks |= apply_replicate(job, graph, task, _runs(flow.get("runs", 1)))
    elif graph.loop_action(task.template) is not None:
        changes.tasks |= apply_loop(job, graph, task, _loop(flow.get("loop", False)), now)


def _runs(value: object) -> int:
    """``runs`` as the node reported it (a whole number; tolerate a numeric string or float)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, value)  # exact, however large: the limits are checked on it
    try:
        return max(0, math.floor(float(str(value))))
    except (ValueError, OverflowError):
        return 1


def _loop(value: object) -> bool | str:
    """``loop`` as the node reported it: a bool or a cron expression (tolerate "true"/"false")."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value if isinstance(value, bool | str) else False


def refresh_job_status(job: JobState, now: float, changes: Changes) -> None:
    """Derive the job status from its instances (terminal and paused statuses stay)."""
    if not job.status.is_alive:
        return
    job.track(changes.tasks)  # every status change is in ``changes``: no need to look at every instance
    if job.all_terminal:
        _end_job(job, JobStatus.FINISHED, now, changes)
        return
    if job.status is JobStatus.PAUSED:
        return
    if job.any_in_error:
        status = JobStatus.IN_ERROR
    elif job.started_at is None:
        status = JobStatus.PENDING
    elif job.any_running:
        status = JobStatus.RUNNING
    else:
        status = JobStatus.STALLED  # launched, nothing running (waiting on a delay, a token, a node)
    if status is not job.status:
        job.status = status
        changes.job = True


def _end_job(job: JobState, status: JobStatus, now: float, changes: Changes) -> None:
    """Terminal job status: running executions are killed, the rest will not start."""
    for task in job.tasks.values():
        if task.status is TaskStatus.RUNNING:
            _kill_running(task, changes)
            task.status = TaskStatus.ABORTED
            task.finished_at = now
            changes.tasks.add(task.name)
        elif not task.status.is_terminal:
            if held(task):
                _kill_running(task, changes)
            task.status = TaskStatus.NOT_STARTED
            changes.tasks.add(task.name)
    job.status = status
    job.finished_at = now
    changes.job = True


def _kill_running(task: TaskState, changes: Changes) -> None:
    if task.node is not None:
        changes.kills.append(Kill(task.name, task.node, task.executions))
    task.node = None


def kill_job(job: JobState, now: float, changes: Changes) -> None:
    _end_job(job, JobStatus.KILLED, now, changes)


def pause_job(job: JobState, now: float, changes: Changes) -> None:
    """Pending instances wait (PAUSED); running ones go on."""
    for task in job.tasks.values():
        if task.status in WAITING and not held(task):
            _pause(task, changes)
    job.status = JobStatus.PAUSED
    changes.job = True


def resume_job(job: JobState, now: float, changes: Changes) -> None:
    for task in job.tasks.values():
        if task.status is TaskStatus.PAUSED:
            _resume(task, changes)
    job.status = JobStatus.RUNNING if job.started_at is not None else JobStatus.PENDING
    changes.job = True
    refresh_job_status(job, now, changes)


def _pause(task: TaskState, changes: Changes) -> None:
    task.paused_from = task.status
    task.status = TaskStatus.PAUSED
    changes.tasks.add(task.name)


def _resume(task: TaskState, changes: Changes) -> None:
    task.status = task.paused_from or TaskStatus.PENDING
    task.paused_from = None
    changes.tasks.add(task.name)


def start_failed(
    job: JobState, graph: Graph, task: TaskState, error: str, now: float, changes: Changes
) -> None:
    """The execution could not even be prepared (its token or variables do not expand): FAULTY,
    without retry since the next attempt would fail the same way."""
    task.node = None
    task.status = TaskStatus.FAULTY
    task.error = error
    task.finished_at = now
    changes.tasks.add(task.name)
    _apply_flow(job, graph, task, None, now, changes)
    refresh_job_status(job, now, changes)


def kill_task(job: JobState, graph: Graph, task: TaskState, now: float, changes: Changes) -> None:
    """The instance ends ABORTED; its successors go on as after a faulty task."""
    if on_node(task):
        _kill_running(task, changes)
    task.status = TaskStatus.ABORTED
    task.finished_at = now
    changes.tasks.add(task.name)
    _apply_flow(job, graph, task, None, now, changes)
    refresh_job_status(job, now, changes)


def pause_task(job: JobState, task: TaskState, now: float, changes: Changes) -> None:
    _pause(task, changes)


def resume_task(job: JobState, task: TaskState, now: float, changes: Changes) -> None:
    _resume(task, changes)
    refresh_job_status(job, now, changes)


def restart_in_error_task(job: JobState, task: TaskState, now: float, changes: Changes) -> None:
    """An IN_ERROR instance gets a fresh set of executions (numbering goes on)."""
    task.status = TaskStatus.PENDING
    task.error_base = task.executions
    task.failures = 0
    task.error = None
    changes.tasks.add(task.name)
    refresh_job_status(job, now, changes)

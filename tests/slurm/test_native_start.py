"""A ``NATIVE_SCHEDULER`` task in the scheduler's core (no SLURM needed): given to a native node, it stays
PENDING until the node reports it started (``Began``), as ProActive keeps such a task until its node is up;
killed meanwhile it asks the node to cancel; lost before it started (a restart that does not adopt it) it is
PENDING again, no error and no node failure counted."""

from __future__ import annotations

from runyard.model import JobStatus, Script, ScriptExecutable, Task, TaskStatus, Workflow
from runyard.nodes import native_scheduler
from runyard.nodes.protocol import NodeInfo, OutcomeKind, RecordedExecution, TaskOutcome
from runyard.scheduler import events as ev
from runyard.scheduler.core import Core, Turn
from runyard.scheduler.rules import Rules
from runyard.scheduler.state import TaskState
from runyard.scheduler.submission import prepare_job

NODE = "slurm-native-1"
TOKENS = {NODE: list(native_scheduler.source_tokens("slurm", "slurm"))}


def started_core(*tasks: Task) -> tuple[Core, Turn]:
    core = Core(Rules(max_failures_per_task=2))
    job = prepare_job(Workflow(name="native", tasks=list(tasks)), owner="alice", now=0.0)
    job.id = 1
    joined = ev.Joined(NodeInfo(NODE, "slurm", "server", f"slurm://server/{NODE}"))
    return core, core.handle([ev.Recovered(TOKENS), joined, ev.Submitted(job, {})], 1.0)


def native(name: str = "T") -> Task:
    return Task(
        name=name,
        executable=ScriptExecutable(Script("cpython", code="pass")),
        generic_information={native_scheduler.NAME: "SLURM"},
    )


def task(core: Core, name: str = "T") -> TaskState:
    return core.active[1].job.tasks[name]


def job_status(core: Core) -> JobStatus:
    return core.active[1].job.status


def test_a_native_task_is_pending_on_its_node_until_it_began() -> None:
    core, turn = started_core(native())
    assert [(start.node, start.execution) for start in turn.starts] == [(NODE, 1)]
    held = task(core)
    assert (held.status, held.node, held.started_at, held.executions) == (TaskStatus.PENDING, NODE, None, 1)
    assert job_status(core) is JobStatus.PENDING
    assert core.running() == [RecordedExecution(NODE, "1t0", 1)]
    assert not core.handle([], 2.0).starts  # held: not dispatched again
    core.handle([ev.Began(NODE, "1t0", 1)], 5.0)
    assert (held.status, held.started_at) == (TaskStatus.RUNNING, 5.0)
    assert job_status(core) is JobStatus.RUNNING
    outcome = TaskOutcome("1t0", 1, OutcomeKind.FINISHED, started_at=5.5, finished_at=6.0)
    core.handle([ev.Ended(NODE, outcome)], 6.0)
    assert (held.status, held.started_at) == (TaskStatus.FINISHED, 5.5)


def test_a_native_task_killed_while_pending_asks_its_node_to_cancel() -> None:
    core, _ = started_core(native())
    turn = core.handle([ev.KillTask(1, "T")], 2.0)
    assert [(kill.node, kill.execution) for kill in turn.changes[1].kills] == [(NODE, 1)]
    assert turn.jobs[1].tasks["T"].status is TaskStatus.ABORTED
    assert NODE in core.leases  # busy until the node confirms
    turn = core.handle([ev.Ended(NODE, TaskOutcome("1t0", 1, OutcomeKind.KILLED))], 3.0)
    assert NODE not in core.leases
    assert [record.outcome for record in turn.executions[1]] == ["killed"]


def test_a_pending_native_task_cannot_be_paused_but_its_job_can() -> None:
    core, _ = started_core(native())
    turn = core.handle([ev.PauseTask(1, "T")], 2.0)
    assert "starting on node" in str(turn.replies[0][1])
    core.handle([ev.PauseJob(1)], 3.0)
    assert task(core).status is TaskStatus.PENDING  # still held: its node reports what it does
    core.handle([ev.Began(NODE, "1t0", 1)], 4.0)
    assert task(core).status is TaskStatus.RUNNING


def test_a_native_task_lost_before_it_began_is_pending_again_without_a_failure() -> None:
    core, _ = started_core(native())
    turn = core.handle([ev.Recovered(TOKENS)], 2.0)  # a restart whose source did not adopt it
    lost = task(core)
    assert (lost.status, lost.node, lost.executions, lost.failures) == (TaskStatus.PENDING, None, 0, 0)
    assert not turn.executions  # nothing ran: nothing recorded
    assert turn.dropped_logs == [(1, 0, 1)]


def test_a_native_task_adopted_before_it_began_stays_held() -> None:
    core, _ = started_core(native())
    joined = ev.Joined(NodeInfo(NODE, "slurm", "server", f"slurm://server/{NODE}"))
    adopted = [RecordedExecution(NODE, "1t0", 1)]
    core.handle([ev.Recovered(TOKENS, adopted=adopted), joined], 2.0)
    assert (task(core).status, core.leases[NODE].execution) == (TaskStatus.PENDING, 1)
    core.handle([ev.Began(NODE, "1t0", 1)], 3.0)
    assert task(core).status is TaskStatus.RUNNING


def test_a_native_task_retried_is_pending_on_its_node_until_it_began() -> None:
    core, _ = started_core(native())
    core.handle([ev.Began(NODE, "1t0", 1)], 2.0)
    core.handle(
        [ev.NodeLeft(NODE, "its job ended"), ev.Joined(NodeInfo(NODE, "slurm", "server", "slurm://s/n"))], 3.0
    )
    retried = task(core)
    assert (retried.status, retried.node, retried.executions, retried.failures) == (
        TaskStatus.PENDING,
        NODE,
        2,
        1,
    )
    core.handle([ev.Began(NODE, "1t0", 2)], 4.0)
    assert (retried.status, retried.started_at) == (TaskStatus.RUNNING, 4.0)

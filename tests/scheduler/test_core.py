"""The core under random interleavings of node reports, node losses, kills, failed starts and restarts:
an execution is recorded at most once, and every lease is the execution its task runs (or ran until
killed: the node stays busy until it confirms)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.helpers import python_task
from runyard.model import TaskStatus, Workflow
from runyard.nodes.protocol import NodeInfo, OutcomeKind, RecordedExecution, TaskOutcome
from runyard.scheduler import events as ev
from runyard.scheduler.core import Core, Turn
from runyard.scheduler.rules import Rules
from runyard.scheduler.submission import prepare_job

NODES = ("n1", "n2", "n3")
KINDS = (OutcomeKind.FINISHED, OutcomeKind.FAULTY, OutcomeKind.NOT_SELECTED, OutcomeKind.KILLED)


def submitted(job_id: int) -> ev.Submitted:
    tasks = [
        python_task("A", "pass", max_number_of_execution=3),
        python_task("B", "pass"),
        python_task("C", "pass", "A"),
    ]
    job = prepare_job(Workflow(name=f"Job{job_id}", tasks=tasks), owner="alice", now=0.0)
    job.id = job_id
    return ev.Submitted(job, {})


def joined(node: str) -> ev.Joined:
    return ev.Joined(NodeInfo(node, "test", "host", f"test://host/{node}"))


class Interleaving:
    """Turns the drawn numbers into inputs that make sense in the state reached so far."""

    def __init__(self) -> None:
        self.core = Core(Rules(max_failures_per_task=2, selection_retry_delay=0.0))
        self.now = 0.0
        self.recorded: set[tuple[int, int, int]] = set()
        self.last: ev.Ended | None = None
        self.turn([ev.Recovered(), *map(joined, NODES), submitted(1), submitted(2)])

    def turn(self, events: list[ev.Event]) -> Turn:
        self.now += 1.0
        turn = self.core.handle(events, self.now)
        for job_id, records in turn.executions.items():
            for record in records:
                key = (job_id, record.task_number, record.execution)
                assert key not in self.recorded, f"execution {key} recorded twice"
                self.recorded.add(key)
        self.check_leases()
        return turn

    def check_leases(self) -> None:
        for node, lease in self.core.leases.items():
            if lease.orphan:
                continue
            task = self.core.active[lease.job_id].job.tasks[lease.task]
            if task.status is TaskStatus.ABORTED:  # killed: the node is busy until it says so
                assert task.executions == lease.execution
            else:
                assert (task.status, task.node, task.executions) == (
                    TaskStatus.RUNNING,
                    node,
                    lease.execution,
                )

    def step(self, action: int, pick: int) -> None:
        leases = sorted(self.core.leases.items())
        node = NODES[pick % len(NODES)]
        alive = sorted(self.core.active)
        if action == 0 and leases:
            node, lease = leases[pick % len(leases)]
            outcome = TaskOutcome(lease.task_id, lease.execution, KINDS[pick % len(KINDS)], error="e")
            self.last = ev.Ended(node, outcome)
            self.turn([self.last])
        elif action == 1 and self.last is not None:  # the same report again (a duplicate, or late)
            self.turn([self.last])
        elif action == 2 and leases:  # a report naming another execution of the task the node runs
            node, lease = leases[pick % len(leases)]
            outcome = TaskOutcome(lease.task_id, lease.execution + 1 + pick % 2, OutcomeKind.FINISHED)
            self.turn([ev.Ended(node, outcome)])
        elif action == 3:
            self.turn([ev.NodeLeft(node, "gone", removed=pick % 5 == 0)])
        elif action == 4:
            self.turn([joined(node)])
        elif action == 5 and alive:
            job = self.core.active[alive[pick % len(alive)]].job
            names = [name for name, task in job.tasks.items() if not task.status.is_terminal]
            command: ev.Event = ev.KillTask(job.id, names[pick % len(names)]) if names else ev.KillJob(job.id)
            self.turn([command if pick % 4 else ev.KillJob(job.id)])
        elif action == 6 and leases:
            node, lease = leases[pick % len(leases)]
            self.turn(
                [
                    ev.StartFailed(
                        node, lease.job_id, lease.task, lease.execution, "refused", lost=pick % 2 == 0
                    )
                ]
            )
        elif action == 7:  # a restart: some running executions survive it
            running = self.core.running()
            adopted = [r for i, r in enumerate(running) if (pick >> i) & 1]
            self.turn([ev.Recovered(adopted=adopted), *map(joined, NODES)])
            for record in adopted:
                assert isinstance(record, RecordedExecution)
        elif action == 8:
            self.turn([])  # a wake: dispatch only


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 255)), max_size=60))
def test_every_execution_is_recorded_once_and_leases_match_their_tasks(steps: list[tuple[int, int]]) -> None:
    interleaving = Interleaving()
    for action, pick in steps:
        interleaving.step(action, pick)


def test_a_node_gone_for_good_takes_its_lock_and_tokens_with_it_a_node_down_keeps_them() -> None:
    core = Core(Rules())
    core.handle([ev.Recovered({"n1": ["given"]}), joined("n1"), joined("n2")], 1.0)
    for node in ("n1", "n2"):
        core.handle([ev.LockNode(node, "admin"), ev.AddNodeToken(node, "PSA_web")], 2.0)
    down = core.handle([ev.NodeLeft("n2", "agent died")], 3.0)
    assert core.settings["n2"].tokens == {"PSA_web"} and "n2" not in down.nodes
    gone = core.handle([ev.NodeLeft("n1", "source removed", removed=True)], 4.0)
    assert "n1" not in core.settings and gone.nodes == {"n1"}  # the driver forgets its stored setting
    core.handle([joined("n1")], 5.0)
    assert core.tokens["n1"] == {"given"}  # what the configuration gives, not what the removed node held

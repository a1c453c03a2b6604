"""Building workflows from model dataclasses and driving a job through the pure transitions.

:class:`Run` applies each transition the way the scheduler loop does (transition, then
``ReadyIndex.refresh`` with what it changed) and checks after every step that the index agrees
with readiness recomputed from scratch, so every scenario also tests the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hypothesis import strategies as st

from runyard.model import (
    Block,
    ControlFlow,
    FlowAction,
    IfAction,
    JobStatus,
    LoopAction,
    ReplicateAction,
    Script,
    ScriptExecutable,
    Task,
    TaskStatus,
    Variable,
    Workflow,
)
from runyard.nodes.protocol import OutcomeKind, TaskOutcome
from runyard.scheduler import transitions as tr
from runyard.scheduler.graph import Graph
from runyard.scheduler.index import WAITING, ReadyIndex
from runyard.scheduler.state import JobState, TaskState
from runyard.scheduler.submission import prepare_job
from runyard.settings import JobLimits

_FLOW_SCRIPT = Script(language="cpython", code="pass")
DISPATCHING = frozenset({JobStatus.PENDING, JobStatus.RUNNING, JobStatus.STALLED, JobStatus.IN_ERROR})


def task(
    name: str,
    *depends: str,
    block: Block = Block.NONE,
    action: FlowAction | None = None,
    variables: Iterable[Variable] = (),
    **attributes: Any,
) -> Task:
    """A cpython script task."""
    flow = ControlFlow(block, action) if block is not Block.NONE or action is not None else None
    return Task(
        name=name,
        executable=ScriptExecutable(Script(language="cpython", code="result = 1")),
        depends=list(depends),
        control_flow=flow,
        variables=list(variables),
        **attributes,
    )


def if_(target: str, else_target: str, continuation: str | None = None) -> IfAction:
    return IfAction(target, else_target, continuation, _FLOW_SCRIPT)


def loop(target: str) -> LoopAction:
    return LoopAction(target, _FLOW_SCRIPT)


def replicate() -> ReplicateAction:
    return ReplicateAction(_FLOW_SCRIPT)


def workflow(*tasks: Task, variables: Iterable[Variable] = (), **attributes: Any) -> Workflow:
    return Workflow(name="wf", tasks=list(tasks), variables=list(variables), **attributes)


def brute_force_ready(job: JobState, now: float) -> set[str]:
    """Readiness from its definition, over every instance."""
    if job.status not in DISPATCHING:
        return set()
    return {
        t.name
        for t in job.tasks.values()
        if t.status in WAITING
        and all(job.tasks[d].status.is_terminal for d in t.depends)
        and (t.not_before is None or t.not_before <= now)
    }


class Run:
    """One job driven by hand: start, finish, fail, lose tasks at a fake time ``now``."""

    def __init__(
        self,
        wf: Workflow,
        variables: Mapping[str, str] | None = None,
        *,
        now: float = 1000.0,
        max_failures: int = 2,
        limits: JobLimits | None = None,
    ) -> None:
        self.now = now
        self.limits = limits
        self.job = prepare_job(wf, variables, owner="alice", now=now, limits=limits)
        self.job.id = 7
        self.graph = Graph(self.job.workflow)
        self.index = ReadyIndex(self.job)
        self.max_failures = max_failures
        self.kills: list[tr.Kill] = []
        self._check()

    # -- what is there --------------------------------------------------------------------

    def __getitem__(self, name: str) -> TaskState:
        return self.job.tasks[name]

    def names(self) -> list[str]:
        return list(self.job.tasks)

    def status(self, name: str) -> TaskStatus:
        return self.job.tasks[name].status

    def statuses(self) -> dict[str, TaskStatus]:
        return {n: t.status for n, t in self.job.tasks.items()}

    def job_status(self) -> JobStatus:
        """The job status (a call, so that type checkers do not keep an earlier narrowing)."""
        return self.job.status

    def ready(self) -> list[str]:
        return sorted(t.name for t in self.index.ready(self.now))

    # -- events -----------------------------------------------------------------------------

    def apply(self, transition: Callable[[tr.Changes], None]) -> tr.Changes:
        changes = tr.Changes()
        transition(changes)
        self.index.refresh(changes.tasks)
        self.kills += changes.kills
        self._check()
        return changes

    def start(self, name: str, node: str = "node-1") -> TaskState:
        instance = self.job.tasks[name]
        assert name in self.ready(), f"{name} is not ready (ready: {self.ready()})"
        self.apply(lambda c: tr.task_started(self.job, instance, node, self.now, c))
        return instance

    def outcome(self, name: str, kind: OutcomeKind, **fields: Any) -> tr.Changes:
        instance = self.job.tasks[name]
        outcome = TaskOutcome(
            task_id=instance.task_id(self.job.id), execution=instance.executions, kind=kind, **fields
        )
        return self.apply(
            lambda c: tr.task_outcome(self.job, self.graph, instance, outcome, self.now, c, self.limits)
        )

    def finish(self, name: str, flow: dict[str, Any] | None = None, **fields: Any) -> tr.Changes:
        return self.outcome(name, OutcomeKind.FINISHED, flow=flow, **fields)

    def run(self, name: str, flow: dict[str, Any] | None = None, **fields: Any) -> tr.Changes:
        """Start ``name`` and finish it at once."""
        self.start(name)
        return self.finish(name, flow, **fields)

    def fail(self, name: str, error: str = "boom") -> tr.Changes:
        return self.outcome(name, OutcomeKind.FAULTY, error=error)

    def lose(self, name: str) -> tr.Changes:
        instance = self.job.tasks[name]
        return self.apply(
            lambda c: tr.node_lost(self.job, self.graph, instance, self.now, self.max_failures, c)
        )

    def kill(self, name: str) -> tr.Changes:
        return self.apply(lambda c: tr.kill_task(self.job, self.graph, self.job.tasks[name], self.now, c))

    def restart(self, name: str) -> tr.Changes:
        return self.apply(lambda c: tr.restart_in_error_task(self.job, self.job.tasks[name], self.now, c))

    def pause_task(self, name: str) -> tr.Changes:
        return self.apply(lambda c: tr.pause_task(self.job, self.job.tasks[name], self.now, c))

    def resume_task(self, name: str) -> tr.Changes:
        return self.apply(lambda c: tr.resume_task(self.job, self.job.tasks[name], self.now, c))

    def run_all(self, decide: Callable[[TaskState], dict[str, Any] | None] = lambda t: None) -> list[str]:
        """Run every ready task (lowest number first) until none is; returns the order they ran in."""
        order: list[str] = []
        while ready := sorted(self.index.ready(self.now), key=lambda t: t.number):
            instance = ready[0]
            self.start(instance.name)
            self.finish(instance.name, decide(instance))
            order.append(instance.name)
        return order

    def _check(self) -> None:
        assert set(self.ready()) == brute_force_ready(self.job, self.now), (
            f"index {self.ready()} != brute force {sorted(brute_force_ready(self.job, self.now))}"
        )
        for instance in self.job.tasks.values():
            for parent in instance.depends:
                assert parent in self.job.tasks, f"{instance.name} depends on unknown {parent}"


def random_decision(
    data: st.DataObject, run: Run, instance: TaskState, max_iteration: int = 2
) -> dict[str, Any] | None:
    """What a flow script could decide for ``instance``, drawn by hypothesis (loops are bounded)."""
    definition = run.graph.tasks[instance.template]
    action = definition.control_flow.action if definition.control_flow is not None else None
    if isinstance(action, IfAction):
        return {"branch": data.draw(st.sampled_from(["if", "else"]))}
    if isinstance(action, ReplicateAction):
        return {"runs": data.draw(st.integers(0, 3))}
    if isinstance(action, LoopAction):
        return {"loop": instance.iteration < max_iteration and data.draw(st.booleans())}
    return None


def replicated_loop() -> Workflow:
    """A replicated block that branches and loops, followed by a merge."""
    return workflow(
        task("Split", action=replicate()),
        task("Start", "Split", block=Block.START),
        task("Cond", "Start", action=if_("Yes", "No", "End")),
        task("Yes"),
        task("No"),
        task("End", block=Block.END, action=loop("Start")),
        task("Merge", "End"),
    )


def nested_flow() -> Workflow:
    """A replicated block holding an if whose branch is a block, then an inner loop."""
    return workflow(
        task("Split", action=replicate()),
        task("Outer", "Split", block=Block.START),
        task("Cond", "Outer", action=if_("Yes", "No", "Join")),
        task("Yes", block=Block.START),
        task("Yes2", "Yes", block=Block.END),
        task("No"),
        task("Join"),
        task("Inner", "Join", block=Block.START),
        task("InnerEnd", "Inner", block=Block.END, action=loop("Inner")),
        task("OuterEnd", "InnerEnd", block=Block.END),
        task("Merge", "OuterEnd"),
    )

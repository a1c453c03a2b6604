"""A job's task graph as it ran: the task instances (replicas ``Process*1``, iterations ``Loop#2``) and
the links between them, dependencies and control flow (what the portal draws; ``runyard.formats.dot``
draws the workflow's, before it runs)."""

from __future__ import annotations

from dataclasses import dataclass

from runyard.model import Block, FlowAction, IfAction, LoopAction, ReplicateAction, Task
from runyard.scheduler.state import JobState, TaskState


@dataclass(frozen=True)
class GraphTask:
    name: str
    template: str
    """The workflow's task this is an instance of."""
    iteration: int
    replication: int
    block: str
    """``start``, ``end`` or ``none``: where a control-flow block starts or ends."""


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    kind: str
    """``dependency``; ``replicate`` (to a replica); ``if``, ``else``, ``continuation``; ``loop``."""


@dataclass(frozen=True)
class JobGraph:
    id: int
    tasks: list[GraphTask]
    edges: list[GraphEdge]


def job_graph(job: JobState) -> JobGraph:
    """The instances in creation order; each dependency, then each control-flow link of an instance to
    the instances of its targets in the same iteration (a loop: to the next iteration when it ran)."""
    templates = {task.name: task for task in job.workflow.tasks}
    instances = sorted(job.tasks.values(), key=lambda t: t.number)
    tasks: list[GraphTask] = []
    edges: list[GraphEdge] = []
    for instance in instances:
        template = templates.get(instance.template)
        flow = template.control_flow if template is not None else None
        block = flow.block if flow is not None else Block.NONE
        tasks.append(
            GraphTask(instance.name, instance.template, instance.iteration, instance.replication, block.value)
        )
    replicators = {name for name, t in templates.items() if isinstance(_action(t), ReplicateAction)}
    by_name = {instance.name: instance for instance in instances}
    for instance in instances:
        for parent in instance.depends:
            origin = by_name.get(parent)
            replicated = origin is not None and origin.template in replicators
            edges.append(GraphEdge(parent, instance.name, "replicate" if replicated else "dependency"))
    for instance in instances:
        action = _action(templates.get(instance.template))
        if isinstance(action, IfAction):
            links = [("if", action.target), ("else", action.else_target)]
            links += [("continuation", action.continuation)] if action.continuation else []
            for kind, target in links:
                edges += [
                    GraphEdge(instance.name, t.name, kind) for t in _in_iteration(instances, target, instance)
                ]
        elif isinstance(action, LoopAction):
            following = [
                t for t in instances if t.template == action.target and t.iteration == instance.iteration + 1
            ]
            targets = following or _in_iteration(instances, action.target, instance)
            edges += [GraphEdge(instance.name, t.name, "loop") for t in targets]
    return JobGraph(job.id, tasks, edges)


def _action(template: Task | None) -> FlowAction | None:
    flow = template.control_flow if template is not None else None
    return flow.action if flow is not None else None


def _in_iteration(instances: list[TaskState], template: str, source: TaskState) -> list[TaskState]:
    """The instances of ``template`` in ``source``'s iteration (its own replica first, if any)."""
    same = [t for t in instances if t.template == template and t.iteration == source.iteration]
    own = [t for t in same if t.replication == source.replication]
    return own or same

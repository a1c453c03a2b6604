"""Control flow at run time: what ``branch``, ``runs`` and ``loop`` do to the task instances.

Pure functions over a :class:`JobState`; each returns the names of the instances it created or
changed so the caller can persist exactly those. An instance's *context* is its
``(iteration, replication)``: a block is copied from the instances that share the initiator's
context, and copies take the template's dependencies, so replicas made inside an earlier
iteration are never copied again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from croniter import croniter

from runyard.model import TaskStatus
from runyard.scheduler.graph import Graph
from runyard.scheduler.state import JobState, TaskState, instance_name
from runyard.settings import JobLimits

_NOT_STARTED = frozenset({TaskStatus.PENDING, TaskStatus.PAUSED})


def growth_refused(
    job: JobState, graph: Graph, initiator: TaskState, runs: int, loops: bool, limits: JobLimits
) -> str | None:
    """Why the flow the initiator asked (``runs`` replicas, or one more iteration when ``loops``)
    would pass the job's limits, checked before anything is made; ``None`` when it fits."""
    if graph.replicate_action(initiator.template) is not None:
        if runs > limits.max_replicas:
            limit = f"{limits.max_replicas} (max_replicas)"
            asked = f"{runs}" if runs < 10**15 else f"about 10^{len(str(runs)) - 1}"
            return f"replicate asked for {asked} runs, over the limit of {limit}"
        copies = (runs - 1) * len(_sources(job, graph.replicated_block(initiator.template), initiator))
    elif loops and (action := graph.loop_action(initiator.template)) is not None:
        copies = len(graph.members(action.target, initiator.template))
    else:
        return None
    if len(job.tasks) + copies > limits.max_tasks_per_job:
        return (
            f"the flow would grow the job to {len(job.tasks) + copies} task instances, over the limit "
            f"of {limits.max_tasks_per_job} (max_tasks_per_job)"
        )
    return None


def apply_branch(job: JobState, graph: Graph, initiator: TaskState, branch: str) -> set[str]:
    """Skip the branch not taken (``branch`` is ``"if"`` or ``"else"``); the continuation then
    waits only for the end of the taken one."""
    action = graph.if_action(initiator.template)
    assert action is not None
    skipped = action.else_target if branch == "if" else action.target
    changed: set[str] = set()
    for template in graph.branch_block(skipped):
        task = _in_context(job, template, initiator)
        if task is not None and _not_started(task):
            _skip(task, changed)
    if action.continuation is not None:
        continuation = _in_context(job, action.continuation, initiator)
        end = _in_context(job, graph.matching_end(skipped), initiator)
        if continuation is not None and end is not None and end.name in continuation.depends:
            continuation.depends.remove(end.name)
            changed.add(continuation.name)
    return changed


def apply_replicate(job: JobState, graph: Graph, initiator: TaskState, runs: int) -> set[str]:
    """Make ``runs - 1`` more copies of the block below the initiator (``runs == 0`` skips it)."""
    block = graph.replicated_block(initiator.template)
    sources = _sources(job, block, initiator)
    changed: set[str] = set()
    if runs < 1:
        for task in sources.values():
            _skip(task, changed)
        return changed
    copies_of: dict[str, list[str]] = {task.name: [] for task in sources.values()}
    replication = initiator.replication
    for _ in range(runs - 1):
        replication = _free_index(job, block, lambda r: (initiator.iteration, r), replication + 1)
        for template in _ordered(graph, block):
            source = sources[template]
            copy = job.add_task(
                template,
                initiator.iteration,
                replication,
                _copy_depends(job, graph, block, template, source, (initiator.iteration, replication)),
            )
            copies_of[source.name].append(copy.name)
            changed.add(copy.name)
    changed |= _merge_into_successors(job, copies_of, block, append=True)
    return changed


def apply_loop(job: JobState, graph: Graph, initiator: TaskState, loop: bool | str, now: float) -> set[str]:
    """Run the block again (at once, or at the next time of a cron ``loop``)."""
    action = graph.loop_action(initiator.template)
    assert action is not None
    if loop is False:
        return set()
    block = graph.members(action.target, initiator.template)
    sources = _sources(job, block, initiator)
    iteration = _free_index(job, block, lambda i: (i, initiator.replication), initiator.iteration + 1)
    changed: set[str] = set()
    copies_of: dict[str, list[str]] = {}
    for template in _ordered(graph, block):
        if template == action.target:
            depends = [initiator.name]
        else:
            depends = _copy_depends(
                job, graph, block, template, sources[template], (iteration, initiator.replication)
            )
        copy = job.add_task(template, iteration, initiator.replication, depends)
        if template == action.target and isinstance(loop, str):
            copy.not_before = next_cron_time(loop, now)
        copies_of[sources[template].name] = [copy.name]
        changed.add(copy.name)
    changed |= _merge_into_successors(job, copies_of, block, append=False)
    return changed


def next_cron_time(expression: str, now: float) -> float:
    """Epoch seconds of the next time ``expression`` (5-field cron) matches after ``now``."""
    start = datetime.fromtimestamp(now, tz=UTC)
    return float(croniter(expression, start).get_next(float))


def _not_started(task: TaskState) -> bool:
    return task.status in _NOT_STARTED and task.executions == 0


def _skip(task: TaskState, changed: set[str]) -> None:
    task.status = TaskStatus.SKIPPED
    task.paused_from = None
    changed.add(task.name)


def _in_context(job: JobState, template: str, like: TaskState) -> TaskState | None:
    return job.tasks.get(instance_name(template, like.iteration, like.replication))


def _sources(job: JobState, block: set[str], initiator: TaskState) -> dict[str, TaskState]:
    sources: dict[str, TaskState] = {}
    for template in block:
        task = _in_context(job, template, initiator)
        if task is not None:
            sources[template] = task
    return sources


def _ordered(graph: Graph, names: Iterable[str]) -> list[str]:
    wanted = set(names)
    return [name for name in graph.tasks if name in wanted]


def _free_index(job: JobState, block: set[str], context: Callable[[int], tuple[int, int]], first: int) -> int:
    """The first index from ``first`` on whose instance names are all unused."""
    index = first
    while any(instance_name(t, *context(index)) in job.tasks for t in block):
        index += 1
    return index


def _copy_depends(
    job: JobState,
    graph: Graph,
    block: set[str],
    template: str,
    source: TaskState,
    context: tuple[int, int],
) -> list[str]:
    """Dependencies of a copy: inside the block, the sibling copies; outside, the source's own."""
    depends: list[str] = []
    for parent in graph.depends[template]:
        if parent in block:
            depends.append(instance_name(parent, *context))
        else:
            depends.extend(d for d in source.depends if job.tasks[d].template == parent)
    return depends


def _merge_into_successors(
    job: JobState, copies_of: dict[str, list[str]], block: set[str], *, append: bool
) -> set[str]:
    """Point tasks outside the block at the copies: after the source (replicate) or instead (loop)."""
    changed: set[str] = set()
    for task in list(job.tasks.values()):
        if task.template in block or not any(d in copies_of for d in task.depends):
            continue
        depends: list[str] = []
        for d in task.depends:
            copies = copies_of.get(d)
            if copies is None:
                depends.append(d)
            elif append:
                depends.append(d)
                depends.extend(copies)
            else:
                depends.extend(copies)
        task.depends = depends
        changed.add(task.name)
    return changed

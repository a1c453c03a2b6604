"""Building what a node needs to run one execution: merged variables, results, paths."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from runyard.errors import SchedulerError
from runyard.model import TaskStatus, parse_duration
from runyard.model.substitution import resolve, substitute
from runyard.nodes import native_scheduler
from runyard.nodes.protocol import NodeInfo, ParentResult, TaskSpec
from runyard.scheduler.graph import Graph
from runyard.scheduler.state import JobState, TaskState


@dataclass(frozen=True)
class Spaces:
    """Where executions keep their files, under the platform's data folder, and which folders a
    job may name as its data spaces."""

    root: Path
    extra_roots: tuple[Path, ...] | None = ()
    """Folders besides the owner's userspace and the global space that ``inputSpace`` and
    ``outputSpace`` may lie under; ``None``: any folder (``runyard run``, the user's own machine)."""

    # Paths made from one string each (a path per start and end of every execution: ``/`` costs more);
    # the scheduler's own uses take the strings (``*_name``): a ``Path`` costs ~10 µs to make.

    def localspace(self, job_id: int, task: TaskState) -> Path:
        return Path(self.localspace_name(job_id, task))

    def localspace_name(self, job_id: int, task: TaskState) -> str:
        return f"{self.root}/spaces/local/{job_id}/{task.number}-{task.executions}"

    def log(self, job_id: int, task_number: int, execution: int) -> Path:
        return Path(self.log_name(job_id, task_number, execution))

    def log_name(self, job_id: int, task_number: int, execution: int) -> str:
        return f"{self.root}/logs/{job_id}/{task_number}-{execution}.log"

    def userspace(self, owner: str) -> Path:
        return Path(self.userspace_name(owner))

    def userspace_name(self, owner: str) -> str:
        return f"{self.root}/spaces/user/{owner}"

    def globalspace(self) -> Path:
        return Path(f"{self.root}/spaces/global")

    def job_space(self, field: str, url: str, owner: str, base: str | None) -> str:
        """The folder a job's ``field`` (``userSpace``, ``globalSpace``, ``inputSpace``,
        ``outputSpace``) names: a folder or a ``file://`` URL, relative to ``base`` (the workflow
        file's folder), else to the owner's userspace. ``SchedulerError`` when it lies outside the
        folders the job may use, ``..`` and symbolic links followed."""
        path = Path(unquote(urlparse(url).path)) if url.startswith("file:") else Path(url)
        if not path.is_absolute():
            path = Path(base) / path if base is not None else self.userspace(owner) / path
        if self.extra_roots is None:
            return str(path)
        real = path.resolve()
        allowed = {"userSpace": [self.userspace(owner)], "globalSpace": [self.globalspace()]}.get(
            field, [self.userspace(owner), self.globalspace(), *self.extra_roots]
        )
        if not any(real.is_relative_to(root.resolve()) for root in allowed):
            where = {
                "userSpace": "its owner's userspace",
                "globalSpace": "the global space",
            }.get(field, "its owner's userspace, the global space or a configured data space root")
            raise SchedulerError(f"{field} {url!r} is outside {where}: a job may not name other folders")
        return str(real)


def task_variables(job: JobState, graph: Graph, task: TaskState) -> dict[str, Any]:
    """ProActive's merge order: job → propagated from parents (in order) → task's own."""
    merged: dict[str, Any] = dict(job.variables)
    for parent in task.depends:
        merged.update(job.tasks[parent].variables)
    for variable in graph.tasks[task.template].variables:
        if not (variable.inherited and variable.name in merged):
            merged[variable.name] = variable.value
    return merged


def instance_variables(job: JobState, task: TaskState) -> dict[str, Any]:
    """The system variables known before the instance is given a node."""
    return {
        "PA_JOB_ID": str(job.id),
        "PA_JOB_NAME": job.name,
        "PA_TASK_ID": task.task_id(job.id),
        "PA_TASK_NAME": task.name,
        "PA_TASK_ITERATION": task.iteration,
        "PA_TASK_REPLICATION": task.replication,
        "PA_USER": job.owner,
    }


def system_variables(job: JobState, task: TaskState, node: NodeInfo, urls: dict[str, str]) -> dict[str, Any]:
    return {
        **instance_variables(job, task),
        "PA_NODE_NAME": node.name,
        "PA_NODE_HOST": node.host,
        "PA_NODE_URL": node.url,
        "PA_NODE_SOURCE": node.source,
        "PA_NODESNUMBER": 1,
        **urls,
    }


def build_spec(
    job: JobState,
    graph: Graph,
    task: TaskState,
    node: NodeInfo,
    spaces: Spaces,
    urls: dict[str, str],
    node_tokens: Iterable[str] = (),
) -> TaskSpec:
    definition = graph.tasks[task.template]
    variables = resolve({**task_variables(job, graph, task), **system_variables(job, task, node, urls)})
    gi = {
        k: substitute(v, variables)
        for k, v in {**job.generic_information, **definition.generic_information}.items()
    }
    walltime = definition.walltime or gi.get("WALLTIME")  # both checked at submission
    flow = definition.control_flow.action if definition.control_flow is not None else None
    return TaskSpec(
        job_id=str(job.id),
        job_name=job.name,
        task_id=task.task_id(job.id),
        task_name=task.name,
        execution=task.executions,
        owner=job.owner,
        iteration=task.iteration,
        replication=task.replication,
        variables=variables,
        generic_information=gi,
        executable=definition.executable,  # type: ignore[arg-type]  # checked at submission
        parents=[_parent_result(job.tasks[name]) for name in task.depends],
        selection=definition.selection,
        pre=definition.pre,
        post=definition.post,
        flow=flow,
        cleaning=definition.cleaning,
        input_files=definition.input_files,
        output_files=definition.output_files,
        walltime=_walltime(walltime),
        localspace=spaces.localspace_name(job.id, task),
        userspace=_space(spaces, job, "userSpace", job.workflow.user_space, variables)
        or spaces.userspace_name(job.owner),
        globalspace=_space(spaces, job, "globalSpace", job.workflow.global_space, variables)
        or f"{spaces.root}/spaces/global",
        inputspace=_space(spaces, job, "inputSpace", job.workflow.input_space, variables),
        outputspace=_space(spaces, job, "outputSpace", job.workflow.output_space, variables),
        log_path=spaces.log_name(job.id, task.number, task.executions),
        source_dir=job.source_dir,
        fork=definition.fork is not False,
        node_tokens=sorted(node_tokens),
        run_as_me=definition.run_as_me,
    )


def _space(spaces: Spaces, job: JobState, field: str, url: str | None, variables: Mapping[str, Any]) -> str:
    """A declared data space as a folder ('' when undeclared), checked again now that the task's
    variables are known (a parent may have changed one it names)."""
    if not url:
        return ""
    return spaces.job_space(field, substitute(url, variables), job.owner, job.source_dir)


def declared_token(
    job_gi: Mapping[str, str], task_gi: Mapping[str, str], variables: Mapping[str, Any]
) -> str | None:
    """The ``NODE_ACCESS_TOKEN`` generic information (task GI over job GI), substituted."""
    token = task_gi.get("NODE_ACCESS_TOKEN", job_gi.get("NODE_ACCESS_TOKEN"))
    if token is None:
        return None
    return substitute(token, variables).strip() or None


def access_token(job: JobState, graph: Graph, task: TaskState) -> str | None:
    """The token a task instance needs from its node, if any: its ``NODE_ACCESS_TOKEN``, or the token of
    the nodes its ``NATIVE_SCHEDULER`` names (``SchedulerError`` if its parameters are refused)."""
    definition = graph.tasks[task.template]
    declared = definition.generic_information | job.generic_information
    if "NODE_ACCESS_TOKEN" not in declared and native_scheduler.NAME not in declared:
        return None  # the common case: no variable merge needed
    variables = {**task_variables(job, graph, task), **instance_variables(job, task)}
    native = native_scheduler.required_token(
        {
            name: substitute(value, variables)
            for name, value in {**job.generic_information, **definition.generic_information}.items()
            if name in (native_scheduler.NAME, native_scheduler.PARAMS)
        }
    )
    token = declared_token(job.generic_information, definition.generic_information, variables)
    if native is not None and token is not None:
        raise SchedulerError("NODE_ACCESS_TOKEN and NATIVE_SCHEDULER together: a task may use one of them")
    return native or token


def _walltime(text: str | None) -> float | None:
    """Seconds, or ``None``; a ``WALLTIME`` that only a propagated variable made unreadable is ignored
    (raising here would stop the scheduler for one bad value)."""
    if not text:
        return None
    try:
        return parse_duration(text)
    except ValueError:
        return None


def _parent_result(parent: TaskState) -> ParentResult:
    error = parent.error if parent.status is not TaskStatus.FINISHED and parent.error else None
    return ParentResult(task_name=parent.name, value=parent.result, error=error)

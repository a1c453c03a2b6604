"""runyard's jobs and tasks as ProActive's REST DTOs (``rest-api`` ``scheduler.dto``): ``JobIdData``,
``JobInfoData``, ``UserJobData``, ``JobStateData``, ``TaskStateData``, ``TaskInfoData``, ``TaskResultData``,
``JobResultData``, ``RestPage``, ``RestMapPage``.

Times are epoch milliseconds, -1 when not reached yet (as ProActive's ``JobInfoImpl``); statuses and
priorities are enum names. A task's id is ``job id * 10000 + its number`` (ProActive's ``TaskId``
long value). Task results: ``value`` is the value as text (a JSON value's text; a string as is; Java's
``true``/``false``), ``serializedValue`` that text as a serialized ``java.lang.String`` (base64), which
ProActive's Java client deserializes (runyard holds no Java objects of its own).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runyard.model import JobStatus, TaskStatus
from runyard.scheduler.state import JobState, TaskState
from runyard.store.job_endpoints import AttachedService, Endpoint
from runyard.store.jobs import ExecutionRecord
from runyard.store.signals import Signal, proactive_names

LastExecutions = Mapping[int, ExecutionRecord]
"""The last execution of each task instance, by task number."""

TASK_ID_FACTOR = 10_000

_PENDING = {TaskStatus.SUBMITTED, TaskStatus.PENDING, TaskStatus.PAUSED}
_RUNNING = {TaskStatus.RUNNING, TaskStatus.WAITING_ON_ERROR, TaskStatus.WAITING_ON_FAILURE}
_FAILED = {TaskStatus.FAILED, TaskStatus.NOT_STARTED, TaskStatus.NOT_RESTARTED, TaskStatus.ABORTED}


def millis(seconds: float | None) -> int:
    return -1 if seconds is None else round(seconds * 1000)


def job_id_data(job_id: int, name: str) -> dict[str, Any]:
    return {"id": job_id, "readableName": name}


def task_id(job_id: int, task: TaskState) -> int:
    return job_id * TASK_ID_FACTOR + task.number


def task_counts(statuses: Mapping[str, int]) -> dict[str, int]:
    """ProActive's ``numberOf…Tasks`` from a count of task instances by status."""
    counted = Counter({TaskStatus(status): n for status, n in statuses.items()})

    def among(kinds: Iterable[TaskStatus]) -> int:
        return sum(counted[kind] for kind in kinds)

    return {
        "totalNumberOfTasks": sum(counted.values()),
        "numberOfPendingTasks": among(_PENDING),
        "numberOfRunningTasks": among(_RUNNING),
        "numberOfFinishedTasks": among(s for s in TaskStatus if s.is_terminal),
        "numberOfFailedTasks": among(_FAILED),
        "numberOfFaultyTasks": counted[TaskStatus.FAULTY],
        "numberOfInErrorTasks": counted[TaskStatus.IN_ERROR],
    }


def listed_job_info(summary: Mapping[str, Any]) -> dict[str, Any]:
    """``JobInfoData`` of a job as job lists hold it (``runyard.store.job_listing``): what a list needs;
    the maps of a job's own document (variables, generic information) are null there."""
    status = JobStatus(summary["status"])
    return {
        "jobId": job_id_data(summary["id"], summary["name"]),
        "jobOwner": summary["owner"],
        "tenant": None,
        "domain": None,
        "projectName": summary["project_name"] or "",
        "description": None,
        "bucketName": None,
        "label": None,
        "status": status.value,
        "priority": str(summary["priority"]).upper(),
        "submittedTime": millis(summary["submitted_at"]),
        "startTime": millis(summary["started_at"]),
        "finishedTime": millis(summary["finished_at"]),
        "inErrorTime": -1,
        "removedTime": -1,
        **task_counts(summary.get("task_counts", {})),
        "toBeRemoved": False,
        "genericInformation": None,
        "variables": None,
        "detailedVariables": None,
        "signals": None,
        "detailedSignals": None,
        "visualizationConnectionStrings": None,
        "visualizationIcons": None,
        "attachedServices": None,
        "externalEndpointUrls": None,
        "resultMapPresent": None,
        "preciousTasks": None,
        "parentId": summary.get("parent_id"),
        "childrenCount": 0,
        "cumulatedCoreTime": 0,
        "numberOfNodes": 0,
        "numberOfNodesInParallel": 0,
        "submissionMode": None,
        "startAt": None,
    }


def job_info(
    job: JobState,
    signals: Sequence[Signal],
    endpoints: Sequence[Endpoint] = (),
    services: Sequence[AttachedService] = (),
) -> dict[str, Any]:
    """``JobInfoData`` of a loaded job with its signals, external endpoints and attached services."""
    summary = {
        "id": job.id,
        "name": job.name,
        "owner": job.owner,
        "project_name": job.project_name,
        "status": job.status.value,
        "priority": job.priority.value,
        "submitted_at": job.submitted_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "parent_id": job.parent_id,
        "task_counts": Counter(task.status.value for task in job.tasks.values()),
    }
    in_error = [t.finished_at for t in job.tasks.values() if t.status is TaskStatus.IN_ERROR]
    return {
        **listed_job_info(summary),
        "description": job.workflow.description,
        "bucketName": job.generic_information.get("bucketName"),
        "inErrorTime": millis(max((t for t in in_error if t is not None), default=None)),
        "genericInformation": dict(job.generic_information),
        "variables": {name: text(value) for name, value in job.variables.items()},
        "detailedVariables": {
            v.name: {
                "name": v.name,
                "value": text(job.variables.get(v.name, v.value)),
                "model": v.model,
                "description": v.description,
                "group": v.group,
                "advanced": v.advanced,
                "hidden": v.hidden,
            }
            for v in job.workflow.variables
        },
        "signals": proactive_names(signals),
        "detailedSignals": {
            s.name: {v["name"]: {**v, "value": s.values.get(v["name"], v.get("value"))} for v in s.variables}
            for s in signals
        },
        "visualizationConnectionStrings": {},
        "visualizationIcons": {},
        "attachedServices": {str(s.instance_id): s.with_endpoints for s in services},
        "externalEndpointUrls": {e.name: {"url": e.url, "iconUri": e.icon} for e in endpoints},
        "resultMapPresent": bool(job.result_map),
        "preciousTasks": [t.name for t in job.workflow.tasks if t.precious_result],
    }


def user_job_data(info: dict[str, Any]) -> dict[str, Any]:
    """``UserJobData``: a job of a list."""
    return {"jobid": str(info["jobId"]["id"]), "jobOwner": info["jobOwner"], "jobInfo": info}


def task_state(job: JobState, task: TaskState, last: ExecutionRecord | None) -> dict[str, Any]:
    """``TaskStateData`` (``last``: the task's last execution, if it ran)."""
    template = next((t for t in job.workflow.tasks if t.name == task.template), None)
    executions = _int(template.max_number_of_execution if template else None, job.max_number_of_execution)
    nodes = _int(template.number_of_nodes if template else None, 1)
    return {
        "name": task.name,
        "description": template.description if template else None,
        "tag": None,
        "iterationIndex": task.iteration,
        "replicationIndex": task.replication,
        "maxNumberOfExecution": executions,
        "maxNumberOfExecutionOnFailure": executions,
        "taskInfo": {
            "jobId": job_id_data(job.id, job.name),
            "taskId": {"id": task_id(job.id, task), "readableName": task.name},
            "startTime": millis(task.started_at),
            "finishedTime": millis(task.finished_at),
            "inErrorTime": millis(task.finished_at) if task.status is TaskStatus.IN_ERROR else -1,
            "scheduledTime": -1,
            "executionDuration": _duration(task),
            "taskStatus": task.status.value,
            "executionHostName": task.node or (last.node if last else None),
            "numberOfExecutionLeft": max(0, executions - task.errors),
            "numberOfExecutionOnFailureLeft": max(0, executions - task.failures),
            "visualizationActivated": False,
            "visualizationConnectionString": None,
            "variables": {name: text(value) for name, value in task.variables.items()},
            "progress": 100 if task.status is TaskStatus.FINISHED else 0,
        },
        "parallelEnvironment": {"nodesNumber": nodes} if nodes > 1 else None,
        "genericInformation": {
            **job.generic_information,
            **(template.generic_information if template else {}),
        },
    }


def job_state(job: JobState, last: LastExecutions, signals: Sequence[Signal]) -> dict[str, Any]:
    """``JobStateData``."""
    info = job_info(job, signals)
    return {
        "name": job.name,
        "priority": info["priority"],
        "owner": job.owner,
        "tenant": None,
        "domain": None,
        "jobInfo": info,
        "projectName": info["projectName"],
        "tasks": {task.name: task_state(job, task, last.get(task.number)) for task in job.tasks.values()},
        "genericInformation": dict(job.generic_information),
    }


def task_result(job: JobState, task: TaskState, last: ExecutionRecord | None) -> dict[str, Any]:
    """``TaskResultData`` of an ended task (its output: its last execution's)."""
    value = result_text(task)
    failed = task.error is not None
    return {
        "id": {"id": task_id(job.id, task), "readableName": task.name},
        "value": value,
        "serializedValue": None if value is None else base64.b64encode(java_string(value)).decode(),
        "serializedException": None,
        "exceptionMessage": task.error if failed else None,
        "metadata": result_metadata(task),
        "propagatedVariables": {name: text(v) for name, v in task.variables.items()},
        "serializedPropagatedVariables": None,
        "output": {"stdoutLogs": last.output if last else "", "stderrLogs": ""},
        "raw": False,
    }


def job_result(job: JobState, last: LastExecutions, signals: Sequence[Signal]) -> dict[str, Any]:
    """``JobResultData``: the results of the tasks that ended."""
    ended = [t for t in job.tasks.values() if t.status.is_terminal]
    results = {t.name: task_result(job, t, last.get(t.number)) for t in ended}
    precious = {t.name for t in job.workflow.tasks if t.precious_result}
    return {
        "id": job_id_data(job.id, job.name),
        "jobInfo": job_info(job, signals),
        "allResults": results,
        "preciousResults": {name: r for name, r in results.items() if name in precious},
        "resultMap": {name: text(value) for name, value in job.result_map.items()},
        "serializedResultMap": None,
        "exceptionResults": {name: r for name, r in results.items() if r["exceptionMessage"] is not None},
    }


def result_text(task: TaskState) -> str | None:
    """A task result as ProActive's ``value`` shows it (its ``toString``)."""
    if task.result_json is not None:
        return text(task.result_json)
    return None if task.result_repr in (None, "None") else task.result_repr


def java_string(value: str) -> bytes:
    """``value`` as Java's ``ObjectOutputStream`` writes a ``String``: stream header, then ``TC_STRING``
    (or ``TC_LONGSTRING``) with its length and its modified UTF-8 (NUL as two bytes, characters beyond
    the BMP as two surrogates of three bytes each)."""
    encoded = bytearray()
    units = value.encode("utf-16-be", "surrogatepass")
    for i in range(0, len(units), 2):
        unit = int.from_bytes(units[i : i + 2], "big")
        if 0 < unit < 0x80:
            encoded.append(unit)
        elif unit < 0x800:
            encoded += bytes((0xC0 | unit >> 6, 0x80 | unit & 0x3F))
        else:
            encoded += bytes((0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F))
    header = b"\xac\xed\x00\x05"
    if len(encoded) <= 0xFFFF:
        return header + b"\x74" + len(encoded).to_bytes(2, "big") + bytes(encoded)
    return header + b"\x7c" + len(encoded).to_bytes(8, "big") + bytes(encoded)


def result_metadata(task: TaskState) -> dict[str, str]:
    """What the task's scripts put in ``resultMetadata`` (content type, file name...), as text."""
    return {str(key): text(value) for key, value in task.result_metadata.items()}


def text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def rest_page(items: list[Any], size: int) -> dict[str, Any]:
    """``RestPage``: a page of ``items`` out of ``size``."""
    return {"list": items, "size": size}


def _int(value: int | str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _duration(task: TaskState) -> int:
    if task.started_at is None or task.finished_at is None:
        return -1
    return round((task.finished_at - task.started_at) * 1000)

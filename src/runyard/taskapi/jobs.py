"""What ``schedulerapi`` returns, shaped like ProActive's objects where scripts call their methods:
``JobId`` (``.value()``), ``JobState`` (``.isFinished()``...), ``JobInfo``
(``.getNumberOfFinishedTasks()``...), ``JobResult`` (``.getResultMap()``...).

Each is also a plain ``str`` or ``dict``, so it travels as JSON to scripts running in a JVM (whose Groovy
adapter gives them back their methods) and prints readably.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from runyard.model import JobStatus, TaskStatus


class JobId(str):
    """A job's id as text, as ProActive's ``JobId``: ``value()`` is the text, ``longValue()`` the number."""

    def value(self) -> str:
        return str(self)

    def longValue(self) -> int:
        return int(self)

    def getReadableName(self) -> str:
        return str(self)


class JobInfo(dict[str, Any]):
    """A job's status and task counts (the fields of runyard's job document, plus the counts)."""

    @classmethod
    def of(cls, job: dict[str, Any]) -> JobInfo:
        """From a job document (with its ``tasks``) or a job listing's summary (with ``task_counts``)."""
        if "tasks" in job:
            statuses = Counter(TaskStatus(task["status"]) for task in job["tasks"])
        else:
            statuses = Counter({TaskStatus(status): n for status, n in job.get("task_counts", {}).items()})
        counts = {
            "finished_tasks": sum(n for status, n in statuses.items() if status.is_terminal),
            "running_tasks": statuses[TaskStatus.RUNNING],
            "pending_tasks": statuses[TaskStatus.PENDING] + statuses[TaskStatus.SUBMITTED],
            "total_tasks": statuses.total(),
        }
        return cls({key: value for key, value in job.items() if key not in ("tasks", "task_counts")} | counts)

    def getJobId(self) -> JobId:
        return JobId(self["id"])

    def getStatus(self) -> str:
        return str(self["status"])

    def isFinished(self) -> bool:
        """Whether the job has ended (FINISHED, CANCELED, FAILED or KILLED), as ProActive's."""
        return not JobStatus(self["status"]).is_alive

    def getNumberOfFinishedTasks(self) -> int:
        return int(self["finished_tasks"])

    def getNumberOfRunningTasks(self) -> int:
        return int(self["running_tasks"])

    def getNumberOfPendingTasks(self) -> int:
        return int(self["pending_tasks"])

    def getTotalNumberOfTasks(self) -> int:
        return int(self["total_tasks"])

    def getJobOwner(self) -> str:
        return str(self["owner"])

    def getSubmittedTime(self) -> int:
        return _milliseconds(self.get("submitted_at"))

    def getStartTime(self) -> int:
        return _milliseconds(self.get("started_at"))

    def getFinishedTime(self) -> int:
        return _milliseconds(self.get("finished_at"))


class JobState(JobInfo):
    """A job's state with its tasks (``tasks``: runyard's task documents)."""

    @classmethod
    def of(cls, job: dict[str, Any]) -> JobState:
        state = cls(JobInfo.of(job))
        state["tasks"] = job.get("tasks", [])
        return state

    def getName(self) -> str:
        return str(self["name"])

    def getJobInfo(self) -> JobInfo:
        return JobInfo({key: value for key, value in self.items() if key != "tasks"})

    def getTasks(self) -> list[dict[str, Any]]:
        return list(self["tasks"])

    def getVariables(self) -> dict[str, Any]:
        return dict(self.get("variables") or {})


class JobResult(dict[str, Any]):
    """A job's results: ``results`` (task → value), ``errors`` (task → why it failed), ``result_map``."""

    def getJobId(self) -> JobId:
        return JobId(self["id"])

    def getResultMap(self) -> dict[str, Any]:
        return dict(self["result_map"])

    def getAllResults(self) -> dict[str, Any]:
        return dict(self["results"])

    def hadException(self) -> bool:
        return bool(self["errors"])

    def getExceptionResults(self) -> dict[str, str]:
        return dict(self["errors"])

    def getResult(self, task_name: str) -> Any:
        return self["results"].get(task_name)


def _milliseconds(epoch: float | None) -> int:
    """ProActive's times: epoch milliseconds, -1 when not reached yet."""
    return -1 if epoch is None else int(epoch * 1000)

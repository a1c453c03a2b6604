"""``schedulerapi``: ProActive's ``SchedulerNodeClient`` for a task, over runyard's REST API as the job's
owner (what the job token allows: submitting and reading the owner's jobs, controlling the job and the jobs
it submitted). ProActive's timeouts are in milliseconds; so are they here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from runyard.model import JobStatus, TaskStatus
from runyard.taskapi.connection import TaskApiError, TaskConnection, job_number, seconds
from runyard.taskapi.jobs import JobId, JobInfo, JobResult, JobState
from runyard.taskapi.returned import call_returned

#: What ``getJobs`` passes on to the job listing.
_JOB_FILTERS = ("status", "name", "project", "sort")

POLL_SECONDS = 1.0
"""How often ``waitForAnyTask`` reads the job's tasks (no event names a task's end to a waiter)."""


class SchedulerApi:
    """Method names are ProActive's (camelCase) since scripts call them so."""

    def __init__(self, connection: TaskConnection) -> None:
        self._connection = connection

    # -- session ---------------------------------------------------------------------------------

    def connect(self) -> None:
        """Nothing to do: the task's credentials are its job token (checked at the first call)."""
        self._connection.client  # noqa: B018

    def disconnect(self) -> None:
        self._connection.close()

    def isConnected(self) -> bool:
        return True

    def getSession(self) -> str:
        """The task's job token: what it sends as ``Authorization: Bearer`` (ProActive's ``sessionid``)."""
        return self._connection.token

    # -- submitting ------------------------------------------------------------------------------

    def submit(
        self,
        workflow: Any,
        variables: Mapping[str, Any] | None = None,
        genericInfos: Mapping[str, Any] | None = None,
        requestHeaderParams: Mapping[str, Any] | None = None,
    ) -> JobId:
        """A workflow file (a path), its XML or YAML text, or a catalog ``…/buckets/B/resources/N/raw`` URL;
        ``requestHeaderParams`` are not needed (the task's token is sent)."""
        text = str(workflow)
        client = self._connection.client
        if text.startswith(("http://", "https://")):
            bucket, name = _catalog_object(text)
            return JobId(client.submit_from_catalog(bucket, name, _texts(variables), _texts(genericInfos)))
        source: str | Path = Path(text) if "\n" not in text and not text.lstrip().startswith("<") else text
        return JobId(client.submit(source, _texts(variables), _texts(genericInfos)))

    def submitFromCatalog(self, catalogRestUrl: str, *args: Any) -> JobId:
        """``submitFromCatalog(url, "bucket/name", variables, genericInfos)`` or
        ``submitFromCatalog(url, bucket, name, variables, genericInfos)``; the URL is this server's catalog
        whatever it says."""
        if args and isinstance(args[0], str) and len(args) >= 2 and isinstance(args[1], str):
            bucket, name, rest = args[0], args[1], args[2:]
        elif args and isinstance(args[0], str) and "/" in args[0]:
            (bucket, _, name), rest = args[0].partition("/"), args[1:]
        else:
            raise TaskApiError(
                "submitFromCatalog(url, 'bucket/name', variables, genericInfos): no workflow named"
            )
        variables = rest[0] if len(rest) > 0 else None
        generic = rest[1] if len(rest) > 1 else None
        client = self._connection.client
        return JobId(client.submit_from_catalog(bucket, name, _texts(variables), _texts(generic)))

    # -- reading and waiting ----------------------------------------------------------------------

    def getJobState(self, jobId: Any) -> JobState:
        return JobState.of(dict(self._connection.client.get_job(job_number(jobId))))

    def getJobInfo(self, jobId: Any) -> JobInfo:
        return JobInfo.of(dict(self._connection.client.get_job(job_number(jobId))))

    def getJobResult(self, jobId: Any) -> JobResult:
        return JobResult(self._connection.client.get_job_result(job_number(jobId)))

    def getJobResultMap(self, jobId: Any) -> dict[str, Any]:
        return dict(self._connection.client.get_job_result_map(job_number(jobId)))

    def getTaskResult(self, jobId: Any, taskName: str) -> Any:
        return self._connection.client.get_task_result(job_number(jobId), taskName)

    def isJobFinished(self, jobId: Any) -> bool:
        status = self._connection.client.get_job_status(job_number(jobId))
        return not JobStatus(status).is_alive

    def isFinished(self, jobId: Any) -> bool:
        return self.isJobFinished(jobId)

    def getJobs(self, offset: int = 0, limit: int = 50, filters: Any = None, *_sort: Any) -> list[JobInfo]:
        """The owner's jobs, newest first (``offset``/``limit``). ``filters``: a mapping of the job
        listing's ``status`` (a list), ``name``, ``project`` and ``sort``, as the Groovy adapter reads them
        from ProActive's ``JobFilterCriteria`` and ``SortParameter`` (anything else is not read)."""
        given = filters if isinstance(filters, Mapping) else {}
        chosen = {key: value for key, value in given.items() if key in _JOB_FILTERS and value}
        page = self._connection.client.list_jobs(
            offset=max(0, int(offset)), limit=max(1, min(int(limit), 1000)), **chosen
        )
        return [JobInfo.of(dict(job)) for job in page["jobs"]]

    def waitForJob(self, jobId: Any, timeout: Any = None) -> JobResult:
        """The job's result once it has ended (its events are followed); ``TimeoutError`` after ``timeout``
        milliseconds."""
        number = job_number(jobId)
        self._connection.client.wait_for_job(number, seconds(timeout))
        return self.getJobResult(number)

    def waitForAnyTask(self, jobId: Any, taskNames: Sequence[str], timeout: Any = None) -> str:
        """The name of the first of ``taskNames`` to end (read every second); ``TimeoutError`` after
        ``timeout`` milliseconds."""
        number, names = job_number(jobId), [str(name) for name in taskNames]
        limit = seconds(timeout)
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            for task in self._connection.client.get_job(number)["tasks"]:
                if task["name"] in names and TaskStatus(task["status"]).is_terminal:
                    return str(task["name"])
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"none of the tasks {names} of job {number} ended within {limit} s")
            time.sleep(
                POLL_SECONDS if deadline is None else max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
            )

    def callReturned(self, kind: str, document: Any, method: str, args: Sequence[Any] = ()) -> Any:
        """For the Groovy adapter: a method of a returned ``JobId``, ``JobInfo``, ``JobState`` or
        ``JobResult`` (see :mod:`runyard.taskapi.returned`)."""
        return call_returned(_RETURNED, kind, document, method, args)

    # -- services, endpoints and credentials ----------------------------------------------------------

    def registerService(self, jobId: Any, serviceInstanceId: Any, withEndpoints: Any = True) -> None:
        """Attach a service instance of the owner to the job (the task's own, or one it submitted)."""
        client = self._connection.client
        client.attach_service(job_number(jobId), job_number(serviceInstanceId), bool(withEndpoints))

    def detachService(self, jobId: Any, serviceInstanceId: Any) -> bool:
        """Whether the instance was attached to the job."""
        return bool(self._connection.client.detach_service(job_number(jobId), job_number(serviceInstanceId)))

    def addExternalEndpointUrl(self, jobId: Any, name: str, url: str, iconUri: Any = None) -> None:
        """A link the job's page shows (an http(s) URL); ``iconUri``: an http(s) URL or a server path."""
        icon = None if iconUri is None or str(iconUri) == "" else str(iconUri)
        self._connection.client.add_job_endpoint(job_number(jobId), str(name), str(url), icon)

    def removeExternalEndpointUrl(self, jobId: Any, name: str) -> bool:
        """Whether the job had an endpoint of that name."""
        return bool(self._connection.client.remove_job_endpoint(job_number(jobId), str(name)))

    def putThirdPartyCredential(self, key: str, value: Any) -> None:
        """Set a credential of the job's owner (write-only: tasks read them through ``credentials``)."""
        self._connection.client.put_credential(str(key), str(value))

    def removeThirdPartyCredential(self, key: str) -> None:
        """Nothing to do if there is none of that name (as ProActive)."""
        from runyard.client import ApiError  # here: making the APIs imports no client (test_lazy)

        try:
            self._connection.client.delete_credential(str(key))
        except ApiError as error:
            if error.status != 404:
                raise

    # -- control ---------------------------------------------------------------------------------

    def killJob(self, jobId: Any) -> bool:
        self._connection.client.kill_job(job_number(jobId))
        return True

    def pauseJob(self, jobId: Any) -> bool:
        self._connection.client.pause_job(job_number(jobId))
        return True

    def resumeJob(self, jobId: Any) -> bool:
        self._connection.client.resume_job(job_number(jobId))
        return True


_RETURNED: dict[str, type] = {
    "JobId": JobId,
    "JobInfo": JobInfo,
    "JobState": JobState,
    "JobResult": JobResult,
}


def _catalog_object(url: str) -> tuple[str, str]:
    """``…/buckets/B/resources/N[/raw]`` → (B, N)."""
    parts = [unquote(part) for part in urlsplit(url).path.split("/") if part]
    if "buckets" in parts and "resources" in parts:
        at = parts.index("buckets")
        if len(parts) > at + 3 and parts[at + 2] == "resources":
            return parts[at + 1], parts[at + 3]
    raise TaskApiError(f"{url} is not a catalog object's URL (…/buckets/BUCKET/resources/NAME/raw)")


def _texts(values: Mapping[str, Any] | None) -> dict[str, str] | None:
    return None if not values else {str(key): str(value) for key, value in values.items()}

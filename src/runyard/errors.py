"""The one error root of runyard and its tree.

::

    RunyardError
    ├── WorkflowError                  a workflow definition is wrong
    │   ├── WorkflowFormatError        unreadable or invalid file (carries every Problem with file:line)
    │   └── VariableValueError         a variable value does not match its model
    ├── ScriptError                    a script could not be loaded or run (unknown language, missing file)
    ├── SchedulerError                 an operation on jobs/tasks that the scheduler refuses
    │   ├── UnknownJobError
    │   └── InvalidTransitionError     e.g. resume a job that is not paused
    ├── NodeError                      a node or node source failed
    ├── StoreError                     the database could not be reached or migrated
    ├── NotFoundError                  no such user, bucket, object, revision, credential, node
    ├── ForbiddenError                 the user may not do that (another user's object, not admin)
    ├── ConflictError                  the object exists already, or its state forbids the change
    ├── InvalidRequestError            a value given to an operation is wrong (name, kind, size)
    └── RateLimitedError               too many requests of one source for now (retry after a delay)

The REST API answers each with a deliberate status (``runyard.api.errors.STATUSES``): the client's
mistakes are 4xx (``NotFoundError`` and ``UnknownJobError`` 404, ``ForbiddenError`` 403,
``ConflictError`` and ``InvalidTransitionError`` 409, ``WorkflowError``, ``ScriptError`` and
``InvalidRequestError`` 400, ``RateLimitedError`` 429 with ``Retry-After``); the platform's own
failures are 5xx (``StoreError``, ``SchedulerError`` and ``NodeError`` 503, a service engine's
``ServiceError`` 502). Errors defined
beside their side (services, ports, the SDK) are in that table too; a test walks every subclass.

User code never raises these: failures inside user scripts become a FAULTY task with the
script's traceback, not an exception in the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RunyardError(Exception):
    """Root of every error runyard raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow, located as precisely as known."""

    message: str
    source: str | None = None
    line: int | None = None
    task: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source if self.line is None else f"{self.source}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        subject = []
        if self.task:
            subject.append(f"task '{self.task}'")
        if self.field:
            subject.append(self.field)
        prefix = ": ".join(p for p in (where, ", ".join(subject)) if p)
        return f"{prefix}: {self.message}" if prefix else self.message


class WorkflowError(RunyardError):
    """A workflow definition is wrong; ``problems`` lists every issue found."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems: list[Problem] = problems
        super().__init__("\n".join(str(p) for p in problems))


class WorkflowFormatError(WorkflowError):
    """A workflow file cannot be parsed or does not follow its format."""


class VariableValueError(WorkflowError):
    """A variable's value does not match its model (``PA:Integer``, ``PA:List(...)``...)."""


class ScriptError(RunyardError):
    """A script cannot be prepared: unknown language, unreadable file or URL."""


class SchedulerError(RunyardError):
    """The scheduler refuses an operation."""


class UnknownJobError(SchedulerError):
    """No job with that id."""


class InvalidTransitionError(SchedulerError):
    """The job or task is not in a state that allows the operation."""


class NodeError(RunyardError):
    """A node or node source failed."""


class StoreError(RunyardError):
    """The database cannot be reached, created or migrated."""


class NotFoundError(RunyardError):
    """The named thing does not exist (or the user may not know it exists)."""


class ForbiddenError(RunyardError):
    """The user is known but not allowed to do this."""


class ConflictError(RunyardError):
    """The operation clashes with what exists: a duplicate name, a state that forbids it.

    ``details``: JSON-able facts a client can act on (such as the actions allowed instead)."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


class InvalidRequestError(RunyardError):
    """A value given to an operation is wrong; the message says which and why."""


class RateLimitedError(RunyardError):
    """Too many requests of one source for now: ``retry_after`` seconds until one more is allowed."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ClientError(RunyardError):
    """Root of the errors of a call to a runyard server (the SDK's: :mod:`runyard.client.errors`)."""


class ApiError(ClientError):
    """A non-2xx answer; the fields are the server's ``{"error", "message", "details"}`` body.

    ``error`` is a code (``unauthorized``, ``forbidden``, ``not_found``, ``conflict``,
    ``invalid_request``, ``invalid_workflow``...); ``details`` is what the server adds, such as the
    located problems of an invalid workflow.
    """

    def __init__(self, status: int, error: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status, self.error, self.message, self.details = status, error, message, details

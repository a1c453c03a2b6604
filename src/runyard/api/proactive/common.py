"""ProActive's REST conventions, shared by every router serving ProActive's paths.

- Who calls: the session id ProActive clients send in a ``sessionid`` header (the token of
  ``POST /api/v1/sessions``, or of ProActive's login routes; ``Authorization: Bearer`` works too):
  :data:`ProActiveUser`.
- Errors leave as ProActive's ``ExceptionToJson``, with the status its ``ExceptionMappers`` give:
  ``{"httpErrorCode": 404, "errorMessage": "...", "stackTrace": null, "exceptionClass": "..."}``.
  The stack trace is always null, as on a ProActive server hiding its exceptions
  (``web.hide_exceptions``): a caller learns nothing of the server's code. Routers get that shape
  for every error raised in their routes, dependencies and parameter checks alike, by being built
  with :func:`proactive_router` (their routes are :class:`ProActiveRoute`).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException

from runyard.api.deps import EngineDep
from runyard.api.errors import ApiError, route_answering_errors, status_of
from runyard.api.security import token_of, user_of
from runyard.auth import User
from runyard.errors import (
    ConflictError,
    ForbiddenError,
    InvalidTransitionError,
    NotFoundError,
    RunyardError,
    UnknownJobError,
    WorkflowError,
)

log = logging.getLogger(__name__)

SESSION_HEADER = "sessionid"
NOT_CONNECTED = "You are not connected to the scheduler, you should log on first"

_REST = "org.ow2.proactive_grid_cloud_portal.scheduler.exception."
NOT_CONNECTED_EXCEPTION = f"{_REST}NotConnectedRestException"
PERMISSION_EXCEPTION = f"{_REST}PermissionRestException"
UNKNOWN_JOB_EXCEPTION = f"{_REST}UnknownJobRestException"
UNKNOWN_TASK_EXCEPTION = f"{_REST}UnknownTaskRestException"
JOB_CREATION_EXCEPTION = f"{_REST}JobCreationRestException"
JOB_ALREADY_FINISHED_EXCEPTION = f"{_REST}JobAlreadyFinishedRestException"
SCHEDULER_EXCEPTION = f"{_REST}SchedulerRestException"
LOGIN_EXCEPTION = "javax.security.auth.login.LoginException"
NOT_FOUND_EXCEPTION = "javax.ws.rs.NotFoundException"
ILLEGAL_ARGUMENT_EXCEPTION = "java.lang.IllegalArgumentException"
RUNTIME_EXCEPTION = "java.lang.RuntimeException"

#: The exception class ProActive names for an answer of this status, when nothing more precise is known.
_CLASS_OF_STATUS = {
    400: ILLEGAL_ARGUMENT_EXCEPTION,
    401: NOT_CONNECTED_EXCEPTION,
    403: PERMISSION_EXCEPTION,
    404: NOT_FOUND_EXCEPTION,
}

#: runyard's errors as ProActive answers them, most specific first (ProActive's status, exception class).
_PROACTIVE_OF_ERROR: list[tuple[type[RunyardError], int, str]] = [
    (UnknownJobError, 404, UNKNOWN_JOB_EXCEPTION),
    (NotFoundError, 404, NOT_FOUND_EXCEPTION),
    (ForbiddenError, 403, PERMISSION_EXCEPTION),
    (InvalidTransitionError, 409, SCHEDULER_EXCEPTION),  # ProActive says 404; runyard's 409 is clearer
    (ConflictError, 409, SCHEDULER_EXCEPTION),
    (WorkflowError, 400, JOB_CREATION_EXCEPTION),
]


class ProActiveError(Exception):
    """Raise from a ProActive route to answer ``status`` with ProActive's error JSON."""

    def __init__(self, status: int, message: str, exception_class: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.exception_class = exception_class or _CLASS_OF_STATUS.get(status, RUNTIME_EXCEPTION)


def error_body(status: int, message: str, exception_class: str) -> dict[str, object]:
    """ProActive's ``ExceptionToJson`` (its stack trace hidden)."""
    return {
        "httpErrorCode": status,
        "errorMessage": message,
        "stackTrace": None,
        "exceptionClass": exception_class,
    }


def error_response(error: ProActiveError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = error_body(error.status, error.message, error.exception_class)
    return JSONResponse(body, status_code=error.status, headers=headers)


def as_proactive(error: Exception) -> ProActiveError | None:
    """The ProActive answer to an error raised serving a route; None for one nothing expected."""
    if isinstance(error, ProActiveError):
        return error
    if isinstance(error, ApiError):
        message = NOT_CONNECTED if error.status == 401 else error.message
        return ProActiveError(error.status, message)
    if isinstance(error, RunyardError):
        for kind, status, exception_class in _PROACTIVE_OF_ERROR:
            if isinstance(error, kind):
                return ProActiveError(status, str(error), exception_class)
        status = status_of(error)[0]
        if status >= 500:
            log.error("ProActive REST: %s", error, exc_info=error)
        return ProActiveError(status, str(error))
    if isinstance(error, RequestValidationError):
        problems = [f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in error.errors()]
        return ProActiveError(400, "; ".join(problems) or "invalid request")
    if isinstance(error, HTTPException):
        return ProActiveError(error.status_code, str(error.detail))
    return None


def _answer(error: Exception, headers: dict[str, str] | None) -> Response | None:
    known = as_proactive(error)
    return None if known is None else error_response(known, headers)


ProActiveRoute = route_answering_errors(
    _answer,
    lambda: error_response(ProActiveError(500, "the server failed unexpectedly; the error is in its log")),
)
"""A route whose errors (its own, its dependencies', its parameters') answer in ProActive's shape;
an unexpected one answers 500 with no detail, its traceback going to the server's log."""


def proactive_router(**options: Any) -> APIRouter:
    """An ``APIRouter`` whose routes answer errors in ProActive's shape."""
    return APIRouter(route_class=ProActiveRoute, **options)


_session_header = APIKeyHeader(
    name=SESSION_HEADER, auto_error=False, description="Session id from a ProActive login route"
)


async def proactive_user(
    request: Request, engine: EngineDep, _session: Annotated[str | None, Depends(_session_header)]
) -> User:
    """The user the ``sessionid`` header's session stands for; 401 ``NotConnectedRestException`` when it
    is missing, unknown or expired; 403 for a job token on a route not open to tasks
    (:mod:`runyard.api.task_scope`)."""
    return await user_of(request, engine, token_of(request))


ProActiveUser = Annotated[User, Depends(proactive_user)]

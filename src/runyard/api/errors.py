"""Every error leaves as ``{"error": code, "message": text, "details": ...}`` with the right status.

Domain errors map by class (:data:`STATUSES`, the most specific first); an exception nothing expected
answers 500 ``internal_error`` with no traceback, which goes to the server's log instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.client.errors import ClientError
from runyard.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    InvalidTransitionError,
    NodeError,
    NotFoundError,
    RateLimitedError,
    RunyardError,
    SchedulerError,
    ScriptError,
    StoreError,
    UnknownJobError,
    WorkflowError,
)
from runyard.services.engines import ServiceError
from runyard.services.engines.singularity import UnsupportedOperationError
from runyard.services.ports import NoFreePortError

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """What every 4xx/5xx answer carries."""

    error: str
    message: str
    details: Any = None


class ApiError(Exception):
    """Raise from a route to answer ``status`` with an error body."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        details: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.details = status, error, message, details
        self.headers = headers


#: Domain errors and their answers, most specific first; a ``RunyardError`` of no class listed is a 500.
STATUSES: list[tuple[type[RunyardError], int, str]] = [
    (UnknownJobError, 404, "not_found"),
    (NotFoundError, 404, "not_found"),
    (ForbiddenError, 403, "forbidden"),
    (InvalidTransitionError, 409, "conflict"),  # the job or task is not in a state that allows it
    (ConflictError, 409, "conflict"),
    (WorkflowError, 400, "invalid_workflow"),
    (ScriptError, 400, "invalid_script"),
    (InvalidRequestError, 400, "invalid_request"),
    (RateLimitedError, 429, "too_many_requests"),  # with Retry-After
    (StoreError, 503, "store_unavailable"),
    (SchedulerError, 503, "scheduler_unavailable"),  # stopped, or stopped by a failure of its store
    (NodeError, 503, "node_unavailable"),  # a node is down, busy or unreachable
    (NoFreePortError, 503, "no_free_port"),  # every port of the services' range is taken, for now
    (UnsupportedOperationError, 501, "not_supported"),  # the instance's engine cannot do this at all
    (ServiceError, 502, "service_engine_failed"),  # the container tool or a service's process failed
    (ClientError, 502, "upstream_failed"),  # the server's own call to a runyard server failed
]

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, error: str, message: str, details: Any = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    body = ErrorBody(error=error, message=message, details=details).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(error: RunyardError) -> tuple[int, str]:
    """The status and error code ``error`` answers with."""
    for kind, status, code in STATUSES:
        if isinstance(error, kind):
            return status, code
    return 500, "internal_error"


def install(app: FastAPI) -> None:
    app.add_middleware(CatchAll)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.error, error.message, error.details, error.headers)

    @app.exception_handler(RunyardError)
    async def domain_error(request: Request, error: RunyardError) -> JSONResponse:
        status, code = status_of(error)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, error, exc_info=error)
        return error_response(status, code, str(error), _details(error), _headers(error))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"location": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, d['location']))}: {d['message']}" for d in details)
        return error_response(400, "invalid_request", summary or "invalid request", details)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "error")
        return error_response(error.status_code, code, str(error.detail))


def _details(error: RunyardError) -> Any:
    if isinstance(error, WorkflowError):
        return [
            {"message": p.message, "source": p.source, "line": p.line, "task": p.task, "field": p.field}
            for p in error.problems
        ]
    if isinstance(error, ConflictError):
        return error.details
    if isinstance(error, RateLimitedError):
        return {"retry_after": error.retry_after}
    return None


def _headers(error: RunyardError) -> dict[str, str] | None:
    return {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimitedError) else None


class CatchAll:
    """ASGI middleware: an exception no handler took answers 500 in the envelope (once the answer has
    started, too late for that, the connection is dropped); its traceback goes to the log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            if tracked.started:
                raise
            message = "the server failed unexpectedly; the error is in its log"
            await send_error(send, 500, "internal_error", message, None)


class TrackedSend:
    """An ASGI ``send`` that knows whether the answer has started (an error can no longer be sent)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


async def send_error(send: Send, status: int, error: str, message: str, details: object) -> None:
    """Answer with the error envelope from ASGI middleware (below the app's exception handlers)."""
    body = json.dumps({"error": error, "message": message, "details": details}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


#: Answers an error raised serving a route (with the headers an ``ApiError`` asks for), or ``None`` for
#: one nothing expected.
ErrorAnswer = Callable[[Exception, dict[str, str] | None], Response | None]


def route_answering_errors(answer: ErrorAnswer, unexpected: Callable[[], Response]) -> type[APIRoute]:
    """A route class whose errors (the route's own, its dependencies', its parameters') are answered by
    ``answer``, in the shape of a compatibility API (ProActive's, Cytomine's); an error it does not know
    answers ``unexpected()``, its traceback going to the server's log."""

    class AnsweringRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def respond(request: Request) -> Response:
                try:
                    return await handler(request)
                except Exception as error:
                    headers = dict(error.headers) if isinstance(error, ApiError) and error.headers else None
                    response = answer(error, headers)
                    if response is None:
                        log.exception("unexpected error answering %s %s", request.method, request.url.path)
                        response = unexpected()
                    return response

            return respond

    return AnsweringRoute

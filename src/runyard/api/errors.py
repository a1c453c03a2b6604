"""Every error leaves as ``{"error": code, "message": text, "details": ...}`` with the right status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from runyard.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    InvalidTransitionError,
    NotFoundError,
    RunyardError,
    ScriptError,
    StoreError,
    UnknownJobError,
    WorkflowError,
)


class ErrorBody(BaseModel):
    """What every 4xx/5xx answer carries."""

    error: str
    message: str
    details: Any = None


class ApiError(Exception):
    """Raise from a route to answer ``status`` with an error body."""

    def __init__(self, status: int, error: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.details = status, error, message, details


#: Domain errors and their answers, most specific first.
_STATUSES: list[tuple[type[RunyardError], int, str]] = [
    (UnknownJobError, 404, "not_found"),
    (NotFoundError, 404, "not_found"),
    (ForbiddenError, 403, "forbidden"),
    (InvalidTransitionError, 409, "conflict"),
    (ConflictError, 409, "conflict"),
    (WorkflowError, 400, "invalid_workflow"),
    (ScriptError, 400, "invalid_script"),
    (InvalidRequestError, 400, "invalid_request"),
    (StoreError, 503, "store_unavailable"),
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


def error_response(status: int, error: str, message: str, details: Any = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = ErrorBody(error=error, message=message, details=details).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.error, error.message, error.details)

    @app.exception_handler(RunyardError)
    async def domain_error(_request: Request, error: RunyardError) -> JSONResponse:
        for kind, status, code in _STATUSES:
            if isinstance(error, kind):
                return error_response(status, code, str(error), _details(error))
        return error_response(400, "invalid_request", str(error))

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
    return None

"""What every App Engine route shares: errors in Cytomine's envelope, the caller, the storage."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from runyard.api.deps import EngineDep
from runyard.api.errors import ApiError, route_answering_errors, status_of
from runyard.api.limits import BodyTooLarge
from runyard.api.security import token_of, user_of
from runyard.appengine.errors import (
    BUNDLE_VALIDATION,
    REQUEST_VALIDATION,
    SERVER_ERROR,
    AppEngineError,
)
from runyard.appengine.storage import Storage
from runyard.auth import User
from runyard.errors import RunyardError

log = logging.getLogger(__name__)


def as_app_engine(error: Exception) -> AppEngineError | None:
    """The App Engine answer to an error raised serving a route; None for one nothing expected."""
    if isinstance(error, AppEngineError):
        return error
    if isinstance(error, BodyTooLarge):  # a streamed (chunked) body past the limit, met while reading it
        return AppEngineError(
            413, BUNDLE_VALIDATION, "max upload size exceeded: the request body is too large"
        )
    if isinstance(error, ApiError):  # runyard's own: authentication, limits
        return AppEngineError(error.status, f"APPE-runyard-{error.error}", error.message)
    if isinstance(error, RunyardError):
        status, code = status_of(error)
        if status >= 500:
            log.error("App Engine: %s", error, exc_info=error)
        return AppEngineError(status, f"APPE-runyard-{code}", str(error))
    if isinstance(error, RequestValidationError):
        problems = [f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in error.errors()]
        return AppEngineError(400, REQUEST_VALIDATION, "; ".join(problems) or "invalid request")
    if isinstance(error, HTTPException):
        return AppEngineError(error.status_code, BUNDLE_VALIDATION, str(error.detail))
    return None


def _answer(error: Exception, headers: dict[str, str] | None) -> Response | None:
    known = as_app_engine(error)
    return None if known is None else _response(known, headers)


def _response(error: AppEngineError, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(error.envelope(), status_code=error.status, headers=headers)


def _unexpected() -> Response:
    return _response(AppEngineError(500, SERVER_ERROR, "the server failed unexpectedly; see its log"))


AppEngineRoute = route_answering_errors(_answer, _unexpected)
"""A route whose errors (its own, its dependencies', its parameters') answer in Cytomine's envelope;
an unexpected one answers 500 ``APPE-internal-server-error`` with no detail, its traceback going to
the server's log."""


def app_engine_router(**options: Any) -> APIRouter:
    """An ``APIRouter`` whose routes answer errors in Cytomine's envelope."""
    return APIRouter(route_class=AppEngineRoute, **options)


async def app_engine_user(request: Request, engine: EngineDep) -> User:
    """The caller: a runyard session token (``Authorization: Bearer`` or ``sessionid``) or a job token.
    Cytomine's App Engine has no authentication; runyard's has (docs/app-engine.md)."""
    return await user_of(request, engine, token_of(request))


AppEngineUser = Annotated[User, Depends(app_engine_user)]


def storage_of(request: Request) -> Storage:
    return Storage(request.app.state.config.app_engine_folder)

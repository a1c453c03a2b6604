"""Health (no token), login (no token), logout and who-am-I."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, Field

from runyard import __version__
from runyard.api.deps import ConfigDep, EngineDep
from runyard.api.errors import ApiError, ErrorBody
from runyard.api.login_throttle import LoginThrottle
from runyard.api.security import CurrentUser, token_of
from runyard.auth import authenticate, close_session, open_session

router = APIRouter(tags=["sessions"])


class Health(BaseModel):
    status: str
    version: str


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)


class Session(BaseModel):
    token: str
    user: str
    role: str
    expires_at: float


class Me(BaseModel):
    name: str
    role: str


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok", version=__version__)


_LOGIN_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Wrong user name or password"},
    429: {"model": ErrorBody, "description": "Too many failed logins of the name or address (Retry-After)"},
}


@router.post("/sessions", response_model=Session, status_code=201, responses=_LOGIN_ERRORS)
async def login(credentials: Login, request: Request, engine: EngineDep, config: ConfigDep) -> Session:
    """Log in: the token goes in ``Authorization: Bearer <token>`` (or a ``sessionid`` header)."""
    return await _login(request, engine, config.session_ttl, credentials.username, credentials.password)


@router.post("/sessions/form", response_model=Session, status_code=201, responses=_LOGIN_ERRORS)
async def login_form(
    username: Annotated[str, Form(min_length=1, max_length=255)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    request: Request,
    engine: EngineDep,
    config: ConfigDep,
) -> Session:
    """The same with a form body (``username``, ``password``), as ProActive clients log in."""
    return await _login(request, engine, config.session_ttl, username, password)


@router.delete("/sessions/current", status_code=204)
def logout(request: Request, _user: CurrentUser, engine: EngineDep) -> Response:
    """Revoke the token this request carries."""
    token = token_of(request)
    with engine.begin() as connection:
        close_session(connection, token or "")
    request.app.state.sessions.forget(token)
    return Response(status_code=204)


@router.get("/me", response_model=Me)
def me(user: CurrentUser) -> Me:
    return Me(name=user.name, role=user.role)


async def _login(request: Request, engine: EngineDep, ttl: float, username: str, password: str) -> Session:
    """Throttled (429), then checked on the password-hashing threads, never on those serving requests."""
    throttle: LoginThrottle = request.app.state.login_throttle
    attempt = throttle.admit(username, request.client.host if request.client else "")
    hashing = request.app.state.password_hashing
    session = await asyncio.get_running_loop().run_in_executor(
        hashing, _open_session, engine, ttl, username, password
    )
    if session is None:
        raise ApiError(401, "unauthorized", "wrong user name or password")
    throttle.forgive(attempt)
    return session


def _open_session(engine: EngineDep, ttl: float, username: str, password: str) -> Session | None:
    with engine.begin() as connection:
        user = authenticate(connection, username, password)
        if user is None:
            return None
        now = time.time()
        token = open_session(connection, user, ttl=ttl, now=now)
    return Session(token=token, user=user.name, role=user.role, expires_at=now + ttl)

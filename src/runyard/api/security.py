"""Who is calling: a session token as ``Authorization: Bearer T`` or in a ``sessionid`` header.

Tasks call with a job token instead (:mod:`runyard.auth.job_tokens`): they act as the job's owner
while the job is alive, only on the routes :mod:`runyard.api.task_scope` opens to them. A service's
process may hold a notification token (:mod:`runyard.auth.notification_tokens`), good for raising
notifications only (:data:`CurrentNotifier`): any other route answers it 401, as an unknown token.

Every route but health and login depends on :data:`CurrentUser`; admin-only routes on
:data:`AdminUser`. Helpers here decide what a user may see: their own things, or all for admins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from runyard.api.deps import EngineDep
from runyard.api.errors import ApiError
from runyard.api.task_scope import check_reach
from runyard.auth import User, get_user, session_user
from runyard.auth.job_tokens import JobTokens
from runyard.auth.notification_tokens import NotificationTokens
from runyard.model import JobStatus
from runyard.services.states import ENDED
from runyard.store.schema import jobs, service_instances, users

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/sessions")
_session_header = APIKeyHeader(
    name="sessionid", auto_error=False, description="Same token (ProActive clients)"
)


def token_of(connection: HTTPConnection) -> str | None:
    """The token a request carries in its headers, if any (for logout)."""
    authorization = connection.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.headers.get("sessionid") or None


class SessionCache:
    """Tokens checked in the last ``SECONDS``: most requests then need no database lookup.

    Logging out forgets the token; removing a user or changing a password forgets every token, so
    in this process a revoked token stops working at once (another process would see it within
    ``SECONDS``).
    """

    SECONDS = 2.0

    def __init__(self) -> None:
        self._known: dict[str, tuple[User, float]] = {}

    def get(self, token: str, now: float) -> User | None:
        entry = self._known.get(token)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def put(self, token: str, user: User, now: float, expires_at: float) -> None:
        if len(self._known) > 10_000:  # tokens of clients gone for good: drop them all, cheaply
            self._known.clear()
        self._known[token] = (user, min(now + self.SECONDS, expires_at))

    def forget(self, token: str | None = None) -> None:
        """Forget ``token``, or every token."""
        if token is None:
            self._known.clear()
        else:
            self._known.pop(token, None)


async def current_user(
    request: Request,
    engine: EngineDep,
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _session_token: Annotated[str | None, Depends(_session_header)],
) -> User:
    return await user_of(request, engine, token_of(request))


async def user_of(connection: HTTPConnection, engine: sa.Engine, token: str | None) -> User:
    """The user a session or job token stands for (401 otherwise; 403 for a job token on a route it may
    not use); for requests and websockets alike."""
    if token is None:
        raise ApiError(401, "unauthorized", "a session token is needed: log in with POST /api/v1/sessions")
    cache: SessionCache = connection.app.state.sessions
    now = time.time()
    user = cache.get(token, now)
    if user is None:
        tokens: JobTokens = connection.app.state.job_tokens
        job = tokens.verify(token)
        found = await run_in_threadpool(
            _lookup if job is None else partial(_job_owner, job), engine, token, now
        )
        if found is not None:
            user, expires_at = found
            cache.put(token, user, now, expires_at)
    if user is None:
        raise ApiError(401, "unauthorized", "the session token is unknown, expired or revoked: log in again")
    await check_reach(connection, engine, user)
    return user


def _lookup(engine: sa.Engine, token: str, now: float) -> tuple[User, float] | None:
    with engine.connect() as connection:
        return session_user(connection, token, now=now)


def _job_owner(job: tuple[int, str], engine: sa.Engine, _token: str, now: float) -> tuple[User, float] | None:
    """The owner of a job token's job while that job is alive (valid for the cache's few seconds)."""
    job_id, owner = job
    with engine.connect() as connection:
        status = connection.execute(
            sa.select(jobs.c.status).where(jobs.c.id == job_id, jobs.c.owner == owner)
        ).scalar()
        user = get_user(connection, owner) if status is not None and JobStatus(status).is_alive else None
    return None if user is None else (replace(user, job=job_id), now + SessionCache.SECONDS)


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "only an admin may do this")
    return user


@dataclass(frozen=True)
class Notifier:
    """Who raises a notification: ``owner`` gets it, ``source`` says who raised it."""

    owner: str
    source: str
    """``service-instance:ID`` (its notification token), ``job:ID`` (a job token) or ``user:NAME``."""
    service_instance_id: int | None = None


async def current_notifier(
    request: Request,
    engine: EngineDep,
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _session_token: Annotated[str | None, Depends(_session_header)],
) -> Notifier:
    """A notification token's live service instance, for its owner; else the user a token stands for,
    notifying themself."""
    token = token_of(request)
    tokens: NotificationTokens = request.app.state.notification_tokens
    named = tokens.verify(token) if token is not None else None
    if named is None:
        user = await user_of(request, engine, token)
        source = f"user:{user.name}" if user.job is None else f"job:{user.job}"
        return Notifier(user.name, source)
    instance_id, owner = named
    if not await run_in_threadpool(_instance_lives, engine, instance_id, owner):
        message = f"service instance {instance_id} has ended or is gone: its notification token with it"
        raise ApiError(401, "unauthorized", message)
    return Notifier(owner, f"service-instance:{instance_id}", instance_id)


def _instance_lives(engine: sa.Engine, instance_id: int, owner: str) -> bool:
    """Whether the instance is still recorded, ``owner``'s (an account that still exists), and neither
    FINISHED nor KILLED."""
    c = service_instances.c
    with engine.connect() as connection:
        status = connection.execute(
            sa.select(c.status)
            .join(users, users.c.name == c.owner)
            .where(c.id == instance_id, c.owner == owner)
        ).scalar()
    return status is not None and status not in ENDED


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
CurrentNotifier = Annotated[Notifier, Depends(current_notifier)]


def may_see(user: User, owner: str) -> bool:
    return user.is_admin or user.name == owner

"""Who is calling: a session token as ``Authorization: Bearer T`` or in a ``sessionid`` header.

Every route but health and login depends on :data:`CurrentUser`; admin-only routes on
:data:`AdminUser`. Helpers here decide what a user may see: their own things, or all for admins.
"""

from __future__ import annotations

import time
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from runyard.api.deps import EngineDep
from runyard.api.errors import ApiError
from runyard.auth import User, session_user

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/sessions")
_session_header = APIKeyHeader(
    name="sessionid", auto_error=False, description="Same token (ProActive clients)"
)


def token_of(request: Request) -> str | None:
    """The token a request carries, if any (for logout)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("sessionid") or None


class SessionCache:
    """Tokens checked in the last ``SECONDS``: most requests then need no database lookup.

    Logging out forgets the token and removing a user forgets every token, so
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
    token = token_of(request)
    if token is None:
        raise ApiError(401, "unauthorized", "a session token is needed: log in with POST /api/v1/sessions")
    cache: SessionCache = request.app.state.sessions
    now = time.time()
    user = cache.get(token, now)
    if user is None:
        found = await run_in_threadpool(_lookup, engine, token, now)
        if found is not None:
            user, expires_at = found
            cache.put(token, user, now, expires_at)
    if user is None:
        raise ApiError(401, "unauthorized", "the session token is unknown, expired or revoked: log in again")
    return user


def _lookup(engine: sa.Engine, token: str, now: float) -> tuple[User, float] | None:
    with engine.connect() as connection:
        return session_user(connection, token, now=now)


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "only an admin may do this")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]


def may_see(user: User, owner: str) -> bool:
    return user.is_admin or user.name == owner

"""Who is calling: a session token as ``Authorization: Bearer T`` or in a ``sessionid`` header.

Every route but health and login depends on :data:`CurrentUser`; admin-only routes on
:data:`AdminUser`. Helpers here decide what a user may see: their own things, or all for admins.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
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


def current_user(
    request: Request,
    engine: EngineDep,
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _session_token: Annotated[str | None, Depends(_session_header)],
) -> User:
    token = token_of(request)
    if token is None:
        raise ApiError(401, "unauthorized", "a session token is needed: log in with POST /api/v1/sessions")
    with engine.connect() as connection:
        user = session_user(connection, token, now=time.time())
    if user is None:
        raise ApiError(401, "unauthorized", "the session token is unknown, expired or revoked: log in again")
    return user


def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "only an admin may do this")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]


def may_see(user: User, owner: str) -> bool:
    return user.is_admin or user.name == owner

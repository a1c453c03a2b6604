"""Accounts: admins list, create and remove users, and issue long-lived tokens; anyone changes their own
password."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from runyard.api.deps import EngineDep
from runyard.api.errors import ApiError
from runyard.api.routers.sessions import Session
from runyard.api.security import AdminUser, CurrentUser
from runyard.auth import add_user, get_user, list_users, open_session, remove_user, set_password

router = APIRouter(prefix="/users", tags=["users"])


class UserOut(BaseModel):
    name: str
    role: str


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    admin: bool = False


#: The longest a token issued by an admin lasts.
MAX_TOKEN_SECONDS = 366 * 24 * 3600.0


class NewToken(BaseModel):
    ttl: float = Field(gt=0, le=MAX_TOKEN_SECONDS)
    """Seconds the token stays valid (a year at most)."""


class NewPassword(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


@router.get("", response_model=list[UserOut])
def users(_admin: AdminUser, engine: EngineDep) -> list[UserOut]:
    with engine.connect() as connection:
        return [UserOut(name=u.name, role=u.role) for u in list_users(connection)]


@router.post("", response_model=UserOut, status_code=201)
def create_user(new: NewUser, _admin: AdminUser, engine: EngineDep) -> UserOut:
    with engine.begin() as connection:
        user = add_user(connection, new.name, new.password, admin=new.admin)
    return UserOut(name=user.name, role=user.role)


@router.delete("/{name}", status_code=204)
def delete_user(name: str, request: Request, admin: AdminUser, engine: EngineDep) -> Response:
    if name == admin.name:
        raise ApiError(409, "conflict", "an admin cannot remove their own account")
    with engine.begin() as connection:
        remove_user(connection, name)
    request.app.state.sessions.forget()
    return Response(status_code=204)


@router.put("/{name}/password", status_code=204)
def change_password(
    name: str, new: NewPassword, request: Request, user: CurrentUser, engine: EngineDep
) -> Response:
    """Users change their own password; admins anyone's. Every session of the account ends (the one
    asking too, when it is the account's own): log in again with the new password."""
    if name != user.name and not user.is_admin:
        raise ApiError(403, "forbidden", "you may only change your own password")
    with engine.begin() as connection:
        set_password(connection, name, new.password)
    request.app.state.sessions.forget()
    return Response(status_code=204)


@router.post("/{name}/tokens", response_model=Session, status_code=201)
def issue_token(name: str, new: NewToken, _admin: AdminUser, engine: EngineDep) -> Session:
    """A token of ``name`` valid ``ttl`` seconds, for a program acting as that account (a Cytomine core
    calling the App Engine, a CI job): a session like a login's, which ends as they do (logout with
    it, a password change, the account removed) or when its time is up. Admins only."""
    now = time.time()
    with engine.begin() as connection:
        user = get_user(connection, name)
        if user is None:
            raise ApiError(404, "not_found", f"no user {name!r}")
        token = open_session(connection, user, ttl=new.ttl, now=now)
    return Session(token=token, user=user.name, role=user.role, expires_at=now + new.ttl)

"""ProActive's third-party credentials, ``/rest/scheduler/credentials/``: the native vault
(:mod:`runyard.api.routers.credentials`), names listed, values never."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request

from runyard.api.deps import EngineDep
from runyard.api.proactive.common import ProActiveUser, proactive_router
from runyard.api.routers import credentials as native

router = proactive_router(prefix="/rest/scheduler")

Key = Annotated[str, Form(min_length=1, max_length=255)]


@router.post("/credentials/", status_code=204)
@router.post("/credentials", status_code=204)
def put_credential(
    key: Key,
    value: Annotated[str, Form(max_length=65536)],
    request: Request,
    user: ProActiveUser,
    engine: EngineDep,
) -> None:
    """Create or replace ``key`` (form ``key``, ``value``)."""
    native.put(key, native.Secret(value=value), request, user, engine)


@router.get("/credentials/")
@router.get("/credentials")
def credential_names(request: Request, user: ProActiveUser, engine: EngineDep) -> list[str]:
    """The names of the caller's credentials."""
    return native.names(request, user, engine).names


@router.delete("/credentials/", status_code=204)
@router.delete("/credentials", status_code=204)
def remove_credential(
    key: Annotated[str, Query(min_length=1, max_length=255)],
    request: Request,
    user: ProActiveUser,
    engine: EngineDep,
) -> None:
    native.delete(key, request, user, engine)

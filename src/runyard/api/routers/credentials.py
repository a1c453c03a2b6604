"""A user's third-party credentials: set, list names (never values), delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from runyard.api.deps import EngineDep
from runyard.api.security import CurrentUser
from runyard.credentials import Vault

router = APIRouter(prefix="/credentials", tags=["credentials"])

Name = Annotated[str, Path(min_length=1, max_length=255)]


class Secret(BaseModel):
    value: str = Field(max_length=65536)


class CredentialNames(BaseModel):
    names: list[str]


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


@router.get("", response_model=CredentialNames)
def names(request: Request, user: CurrentUser, engine: EngineDep) -> CredentialNames:
    with engine.connect() as connection:
        return CredentialNames(names=_vault(request).names(connection, user.name))


@router.put("/{name}", status_code=204, responses={201: {"description": "Created"}})
def put(name: Name, secret: Secret, request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    """Create or replace; scripts of your jobs read it as ``credentials['NAME']`` (``$credentials_NAME``)."""
    with engine.begin() as connection:
        created = _vault(request).put(connection, user.name, name, secret.value)
    return Response(status_code=201 if created else 204)


@router.delete("/{name}", status_code=204)
def delete(name: Name, request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    with engine.begin() as connection:
        _vault(request).delete(connection, user.name, name)
    return Response(status_code=204)

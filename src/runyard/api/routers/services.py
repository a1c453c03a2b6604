"""Services: the catalog's workflows grouped by ``pca.service.id``, their actions and variables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.requests import HTTPConnection

from runyard.api.security import CurrentUser
from runyard.catalog.metadata import VariableMetadata
from runyard.services.automation import ServiceAutomation
from runyard.services.definitions import Action, Service

router = APIRouter(prefix="/services", tags=["services"])

ServiceId = Annotated[str, Path(min_length=1, max_length=255)]


class TransitionOut(BaseModel):
    source: str
    target: str


class ActionOut(BaseModel):
    name: str
    """The catalog object's name: how the action is called."""
    bucket: str
    revision: int
    transitions: list[TransitionOut]
    activation: bool
    description: str | None
    icon: str | None
    documentation: str | None
    variables: list[VariableMetadata]


class ServiceOut(BaseModel):
    id: str
    bucket: str
    """The bucket its actions come from: the same id in another bucket is another service."""
    icon: str | None
    activations: list[str]
    actions: list[ActionOut]


def automation_of(connection: HTTPConnection) -> ServiceAutomation:
    automation: ServiceAutomation = connection.app.state.services
    return automation


def action_out(action: Action) -> ActionOut:
    return ActionOut(
        name=action.name,
        bucket=action.bucket,
        revision=action.revision,
        transitions=[TransitionOut(source=t.source, target=t.target) for t in action.transitions],
        activation=action.is_activation,
        description=action.description,
        icon=action.icon,
        documentation=action.documentation,
        variables=list(action.variables),
    )


def _service_out(service: Service) -> ServiceOut:
    return ServiceOut(
        id=service.id,
        bucket=service.bucket,
        icon=service.icon(),
        activations=[a.name for a in service.activations],
        actions=[action_out(a) for a in service.actions],
    )


@router.get("", response_model=list[ServiceOut])
def list_services(request: Request, user: CurrentUser) -> list[ServiceOut]:
    """Every service of the buckets you may read, by id and bucket."""
    return [_service_out(s) for s in automation_of(request).services(user)]


@router.get("/{service_id}", response_model=ServiceOut)
def get_service(
    service_id: ServiceId,
    request: Request,
    user: CurrentUser,
    bucket: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> ServiceOut:
    """The service of ``bucket``; without one, of your own buckets, else of the built-in and admins'
    ones (another user's bucket is only used when named: its workflows would run as you)."""
    return _service_out(automation_of(request).service(user, service_id, bucket))

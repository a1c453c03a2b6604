"""``/cloud-automation-service/catalog``: the services' workflows (actions) of the buckets you may read, as
PSA's service catalog lists them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from runyard.api.proactive.common import ProActiveUser, proactive_router
from runyard.api.proactive_catalog.service_shapes import cloud_automation_workflow
from runyard.api.routers.services import automation_of

router = proactive_router(prefix="/catalog", include_in_schema=False)


@router.get("")
def list_service_workflows(
    request: Request,
    user: ProActiveUser,
    service_id: Annotated[str | None, Query(alias="serviceId", max_length=255)] = None,
    activation: Annotated[bool | None, Query(description="Only activations (true) or only others")] = None,
) -> list[dict[str, Any]]:
    """Every action of every service, by service id and bucket; ``serviceId`` keeps one service's."""
    return [
        cloud_automation_workflow(action)
        for service in automation_of(request).services(user)
        if service_id is None or service.id == service_id
        for action in service.actions
        if activation is None or action.is_activation == activation
    ]

"""``/cloud-automation-service/services/{id}/endpoints/{endpoint}/…``: where ProActive serves a proxyfied
endpoint (its ``PCAProxyRule``), sent on (307) to the same path under runyard's service proxy, which checks
who may reach the instance. Only the instance id, the endpoint id and the rest of the path are kept: the
target is always the platform's own proxy origin."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Path, Request
from fastapi.responses import RedirectResponse

from runyard.api.proactive.common import proactive_router
from runyard.api.routers.jobs import MAX_ID
from runyard.services.proxy import endpoint_url

router = proactive_router(prefix="/services", include_in_schema=False)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{instance_id}/endpoints/{endpoint_id}/{path:path}", methods=METHODS)
def proxyfied_endpoint(
    instance_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    endpoint_id: Annotated[str, Path(min_length=1, max_length=255)],
    path: str,
    request: Request,
) -> RedirectResponse:
    target = endpoint_url(request.app.state.config.proxy_base_url, instance_id, endpoint_id)
    target += quote(path, safe="/")
    if request.url.query:
        target += f"?{request.url.query}"
    return RedirectResponse(target, status_code=307)

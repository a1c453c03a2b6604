"""Endpoints of PROXYFIED service instances, served through the platform (HTTP and WebSocket).

``/api/v1/service-instances/{id}/endpoints/{endpoint_id}/…`` forwards to the endpoint's URL, only for
users allowed to see the instance, and only while the instance holds the endpoint's port: the URL was
checked when recorded (loopback or the instance's node, a port reserved for it, see
:mod:`runyard.services.deployments`), so the server fetches nothing a client chose.

Browsers cannot send a bearer header, so the proxy also accepts the
token in a cookie scoped to the endpoint's path, set by opening the URL once with ``?token=T`` (then
redirected without it: the token does not stay in the address bar). The rest of the API never reads
that cookie, so a service's pages cannot act on the API as their visitor.

When the portal is served these routes live on an origin of their own (the proxy's port, see
:mod:`runyard.api.origins`): a service's pages are user code, and the portal's cookie would let their
scripts read and drive the portal on a shared origin.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Path, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse, Response

from runyard.api.errors import ApiError, error_response
from runyard.api.routers.jobs import MAX_ID
from runyard.api.routers.services import automation_of
from runyard.api.security import token_of, user_of
from runyard.services.deployments import endpoint_port_reserved
from runyard.services.proxy import SESSION_COOKIE, forward_http, forward_websocket, http_to_ws, target_url

router = APIRouter(prefix="/service-instances", tags=["service instances"], include_in_schema=False)

InstanceId = Annotated[int, Path(ge=1, le=MAX_ID)]
EndpointId = Annotated[str, Path(min_length=1, max_length=255)]
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_ROUTE = "/{instance_id}/endpoints/{endpoint_id}/{path:path}"


@router.api_route("/{instance_id}/endpoints/{endpoint_id}", methods=_METHODS)
async def endpoint_root(instance_id: InstanceId, endpoint_id: EndpointId, request: Request) -> Response:
    """The endpoint's root lives at its path with a trailing slash (relative links resolve there)."""
    url = request.url.replace(path=request.url.path + "/")
    return RedirectResponse(str(url), status_code=307)


@router.api_route(_ROUTE, methods=_METHODS)
async def proxy_http(
    instance_id: InstanceId, endpoint_id: EndpointId, path: str, request: Request
) -> Response:
    """Forward to the endpoint (502 when it does not answer, 504 when it answers too late)."""
    prefix = _prefix(instance_id, endpoint_id)
    given = request.query_params.get("token")
    endpoint_url = await _endpoint_url(request, instance_id, endpoint_id, given)
    if given is not None:  # keep it as a cookie for this endpoint only, and out of the address bar
        query = urlencode(
            [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "token"]
        )
        answer = RedirectResponse(str(request.url.replace(query=query)), status_code=303)
        answer.set_cookie(
            SESSION_COOKIE,
            given,
            path=prefix + "/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer
    upstream = target_url(endpoint_url, path, request.url.query)
    client = request.app.state.proxy_client
    return await forward_http(request, upstream, client, endpoint_url=endpoint_url, prefix=prefix)


@router.websocket(_ROUTE)
async def proxy_websocket(websocket: WebSocket, instance_id: int, endpoint_id: str, path: str) -> None:
    try:
        endpoint_url = await _endpoint_url(websocket, instance_id, endpoint_id, None)
    except ApiError as refused:  # before the handshake: answer in HTTP when the server can
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(
                error_response(refused.status, refused.error, refused.message)
            )
        else:
            await websocket.close(code=1008, reason=refused.message[:120])
        return
    upstream = http_to_ws(target_url(endpoint_url, path, websocket.url.query))
    await forward_websocket(websocket, upstream, prefix=_prefix(instance_id, endpoint_id))


def _prefix(instance_id: int, endpoint_id: str) -> str:
    return f"/api/v1/service-instances/{instance_id}/endpoints/{endpoint_id}"


async def _endpoint_url(
    connection: HTTPConnection, instance_id: int, endpoint_id: str, given: str | None
) -> str:
    """The URL of a proxyfied endpoint of an instance the caller may see (401, 403, 404 otherwise)."""
    token = given or token_of(connection) or connection.cookies.get(SESSION_COOKIE)
    user = await user_of(connection, connection.app.state.platform.engine, token)
    instance = await run_in_threadpool(automation_of(connection).instance, user, instance_id)
    endpoint = instance.endpoints.get(endpoint_id)
    if endpoint is None or not endpoint["url"]:
        raise ApiError(404, "not_found", f"service instance {instance_id} has no endpoint {endpoint_id!r}")
    if not endpoint["proxyfied"]:
        raise ApiError(404, "not_found", f"the endpoint {endpoint_id!r} is not proxyfied (PROXYFIED=false)")
    if not endpoint_port_reserved(str(endpoint["url"]), instance.ports):
        raise ApiError(404, "not_found", f"the endpoint {endpoint_id!r} is gone (its port was released)")
    return str(endpoint["url"])

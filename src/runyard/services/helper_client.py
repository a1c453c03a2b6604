"""The server as service workflows' tasks reach it: a small client of the routes the helpers call.

Every helper runs in a task process forked for one action (a finish, a health check), where importing
the SDK (httpx, its models, rich) cost ~0.5 s of a ~0.6 s action. This client speaks the same REST
API with the standard library's ``http.client`` (~40 ms to import) and imports nothing else of runyard
but its error root: the actions cost what the services they drive cost. It acts as the job's owner
(``RUNYARD_URL``, ``RUNYARD_TOKEN``), one connection per request (loopback or the node's network: a
connection costs less than handling a dropped keep-alive). Code that needs more than the helpers
do uses the SDK (``runyard.client.Client``), which takes the same URL and token.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from runyard.errors import ApiError

#: Seconds a request may take (a container start waits for the daemon).
TIMEOUT = 120.0

Scalar = str | int | float | bool


class HelperApiError(ApiError):
    """The server answered an error (``status``, ``error`` code and ``message`` of its body), or
    (``status`` 0) could not be reached."""


class HelperClient:
    """``with HelperClient(url, token) as api:``; the methods take and give the API's JSON documents."""

    def __init__(self, url: str, token: str, timeout: float = TIMEOUT) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HelperApiError(0, "invalid_url", f"RUNYARD_URL {url!r} is not an http(s) URL")
        self._secure = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._base = parts.path.removesuffix("/api/v1") + "/api/v1"
        self._token, self._timeout = token, timeout

    def __enter__(self) -> HelperClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None

    # -- instances -----------------------------------------------------------------------------------

    def get_service_instance(self, instance_id: int) -> dict[str, Any]:
        return dict(self._call("GET", _instance(instance_id)))

    def update_service_instance(
        self,
        instance_id: int,
        *,
        status: str | None = None,
        variables: Mapping[str, Scalar] | None = None,
        deployments: Sequence[Mapping[str, Any]] = (),
        channel: Mapping[str, Scalar] | None = None,
        groups: Sequence[str] = (),
        error: str | None = None,
    ) -> dict[str, Any]:
        """Set the status (ending the transition), merge variables and channel entries, add deployments."""
        body = {
            "status": status,
            "error": error,
            "variables": dict(variables or {}),
            "deployments": [dict(d) for d in deployments],
            "channel": dict(channel or {}),
            "groups": list(groups),
        }
        return dict(self._call("PATCH", _instance(instance_id), body))

    def reserve_service_port(self, instance_id: int, port: int = -1) -> int:
        return int(self._call("POST", f"{_instance(instance_id)}/ports", {"port": port})["port"])

    def add_service_node_token(self, instance_id: int, node: str, token: str) -> dict[str, Any]:
        body = {"node": node, "token": token}
        return dict(self._call("POST", f"{_instance(instance_id)}/node-tokens", body))

    def remove_service_node_token(
        self, instance_id: int, token: str, node: str | None = None
    ) -> dict[str, Any]:
        query = f"?{urlencode({'node': node})}" if node else ""
        return dict(self._call("DELETE", f"{_instance(instance_id)}/node-tokens/{_segment(token)}{query}"))

    def get_service_endpoints(self, instance_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"{_instance(instance_id)}/endpoints"))

    def create_notification_token(self, instance_id: int) -> str:
        return str(self._call("POST", f"{_instance(instance_id)}/notification-token")["token"])

    def job_status(self, job_id: int) -> str:
        return str(self._call("GET", f"/jobs/{_segment(job_id)}")["status"])

    # -- containers (started and controlled by the platform) -----------------------------------------

    def start_service_container(
        self,
        instance_id: int,
        name: str,
        image: str,
        *,
        ports: Mapping[int, int] | None = None,
        environment: Mapping[str, str] | None = None,
        volumes: Mapping[str, str] | None = None,
        command: str | Sequence[str] | None = None,
        options: str = "",
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "image": image,
            "ports": {str(k): v for k, v in (ports or {}).items()},
            "environment": dict(environment or {}),
            "volumes": dict(volumes or {}),
            "command": command if isinstance(command, str | None) else list(command),
            "options": options,
        }
        return dict(self._call("POST", _containers(instance_id), body))

    def get_service_container(self, instance_id: int, ref: str) -> dict[str, Any]:
        return dict(self._call("GET", f"{_containers(instance_id)}/{_segment(ref)}"))

    def change_service_container(self, instance_id: int, ref: str, change: str) -> dict[str, Any]:
        """``pause``, ``resume`` or ``stop``."""
        return dict(self._call("POST", f"{_containers(instance_id)}/{_segment(ref)}/{_segment(change)}"))

    def get_service_container_logs(self, instance_id: int, ref: str, since: float | None = None) -> str:
        query = "" if since is None else f"?{urlencode({'since': since})}"
        text: str = self._call("GET", f"{_containers(instance_id)}/{_segment(ref)}/logs{query}", text=True)
        return text

    # -- inside ----------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, *, text: bool = False) -> Any:
        connection_type = http.client.HTTPSConnection if self._secure else http.client.HTTPConnection
        connection = connection_type(self._host, self._port, timeout=self._timeout)
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, self._base + path, data, headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise HelperApiError(0, "connection_failed", f"{method} {path}: {error}") from None
        finally:
            connection.close()
        if response.status >= 400:
            raise _api_error(response.status, payload)
        if text:
            return payload.decode(errors="replace")
        return json.loads(payload) if payload else None


def _api_error(status: int, payload: bytes) -> HelperApiError:
    """The server's ``{"error", "message"}`` body, or what came instead."""
    try:
        body = json.loads(payload)
        return HelperApiError(status, str(body["error"]), str(body["message"]))
    except (ValueError, KeyError, TypeError):
        return HelperApiError(status, "http_error", payload.decode(errors="replace")[:500])


def _segment(value: str | int) -> str:
    return quote(str(value), safe="")


def _instance(instance_id: int) -> str:
    return f"/service-instances/{_segment(instance_id)}"


def _containers(instance_id: int) -> str:
    return f"{_instance(instance_id)}/containers"

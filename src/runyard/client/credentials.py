"""Third-party credentials: secrets your tasks read as ``credentials['NAME']`` (``$credentials_NAME``)."""

from __future__ import annotations

import httpx

from runyard.client.transport import Call, no_body, operation, segment


class CredentialsApi:
    @operation
    def list_credentials(self) -> Call[list[str]]:
        """The names of your credentials (values are never sent back)."""
        return Call("GET", "/credentials", _names)

    @operation
    def put_credential(self, name: str, value: str) -> Call[bool]:
        """Create or replace; ``True`` if it was created."""
        return Call("PUT", f"/credentials/{segment(name)}", _created, json={"value": value})

    @operation
    def delete_credential(self, name: str) -> Call[None]:
        return Call("DELETE", f"/credentials/{segment(name)}", no_body)


def _names(response: httpx.Response) -> list[str]:
    names: list[str] = response.json()["names"]
    return names


def _created(response: httpx.Response) -> bool:
    return response.status_code == 201

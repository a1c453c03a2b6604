"""Synchronization channels: your key/value stores of JSON values, shared by your tasks (their
``synchronizationapi``), each key versioned for compare-and-set."""

from __future__ import annotations

from typing import Any, TypedDict

import httpx

from runyard.client.transport import Call, json_body, no_body, operation, segment

WAIT_STEP = 20.0
"""Seconds one request waits on the server at most."""


class ChannelInfo(TypedDict):
    name: str
    persistent: bool
    created_at: float
    keys: int


class ChannelEntry(TypedDict):
    key: str
    value: Any
    """JSON; ``None`` with version 0 when the key is absent."""
    version: int
    """1 when created, one more at each change; 0: absent."""


class ChannelsApi:
    @operation
    def list_channels(self) -> Call[list[ChannelInfo]]:
        return Call("GET", "/channels", json_body)

    @operation
    def create_channel(self, name: str, *, persistent: bool = True, if_absent: bool = False) -> Call[bool]:
        """``True`` if created; an existing channel is ``ApiError`` 409, or ``False`` with ``if_absent``.
        Channel names hold no ``/``."""
        body = {"persistent": persistent, "if_absent": if_absent}
        return Call("PUT", _channel(name), _created, json=body)

    @operation
    def delete_channel(self, name: str) -> Call[None]:
        return Call("DELETE", _channel(name), no_body)

    @operation
    def channel_entries(self, name: str) -> Call[list[ChannelEntry]]:
        """Every key of the channel, by key."""
        return Call("GET", f"{_channel(name)}/entries", _entries)

    @operation
    def get_channel_entry(
        self, name: str, key: str, *, changed_from: int | None = None, wait: float = 0
    ) -> Call[ChannelEntry]:
        """The key's value and version (0 if absent); with ``changed_from``, the server waits up to ``wait``
        seconds (at most 20) for the key to leave that version first."""
        if changed_from is None:
            return Call("GET", _entry(name, key), json_body)
        held = min(max(wait, 0.0), WAIT_STEP)
        params = {"changed_from": changed_from, "timeout": held}
        return Call("GET", _entry(name, key), json_body, params=params, held=held)

    @operation
    def put_channel_entry(
        self, name: str, key: str, value: Any, *, expected_version: int | None = None
    ) -> Call[ChannelEntry]:
        """Set the key (to JSON ``value``); with ``expected_version``, only if the key is at that version
        (0: absent), else ``ApiError`` 409 whose ``details["version"]`` is the current one."""
        body = {"value": value, "expected_version": expected_version}
        return Call("PUT", _entry(name, key), json_body, json=body)

    @operation
    def remove_channel_entry(
        self, name: str, key: str, *, expected_version: int | None = None
    ) -> Call[ChannelEntry]:
        """Remove the key (only at ``expected_version`` if given); what it held (version 0: nothing)."""
        params = {} if expected_version is None else {"expected_version": expected_version}
        return Call("DELETE", _entry(name, key), json_body, params=params)


def _channel(name: str) -> str:
    if "/" in name:
        raise ValueError(f"a channel's name holds no '/': {name!r}")
    return f"/channels/{segment(name)}"


def _entry(name: str, key: str) -> str:
    if any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"a key is not a relative path: no '.' or '..' part ({key!r})")
    return f"{_channel(name)}/entries/{'/'.join(segment(part) for part in key.split('/'))}"


def _created(response: httpx.Response) -> bool:
    return response.status_code == 201


def _entries(response: httpx.Response) -> list[ChannelEntry]:
    found: list[ChannelEntry] = response.json()["entries"]
    return found

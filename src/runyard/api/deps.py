"""What routes get injected: the platform, the store engine, the server config.

These are ``async`` although they wait for nothing: FastAPI runs a plain ``def`` dependency in its
thread pool, a thread hop per dependency and request.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Header, Query, Request

from runyard.api.events import EventHub
from runyard.platform import Platform
from runyard.server.config import ServerConfig


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def _platform(request: Request) -> Platform:
    return platform_of(request)


async def _engine(request: Request) -> sa.Engine:
    return platform_of(request).engine


async def _config(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.config
    return config


async def _events(request: Request) -> EventHub:
    hub: EventHub = request.app.state.events
    return hub


async def _last_event_id(
    last_event_id: Annotated[
        str | None, Query(max_length=64, description="Resume after this event (as ``Last-Event-ID``)")
    ] = None,
    header: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=64, include_in_schema=False)
    ] = None,
) -> str | None:
    return header if header is not None else last_event_id


PlatformDep = Annotated[Platform, Depends(_platform)]
EngineDep = Annotated[sa.Engine, Depends(_engine)]
ConfigDep = Annotated[ServerConfig, Depends(_config)]
EventsDep = Annotated[EventHub, Depends(_events)]
LastEventIdDep = Annotated[str | None, Depends(_last_event_id)]
"""The SSE id a stream resumes after: the ``Last-Event-ID`` header (sent by browsers), else the
``last_event_id`` query parameter."""
WithLogs = Annotated[bool, Query(description="Also the job's output as it is printed (``log`` events)")]

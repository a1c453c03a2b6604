"""What routes get injected: the platform, the store engine, the server config."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from runyard.api.events import EventHub
from runyard.platform import Platform
from runyard.server.config import ServerConfig


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _engine(request: Request) -> sa.Engine:
    return _platform(request).engine


def _config(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.config
    return config


def _events(request: Request) -> EventHub:
    hub: EventHub = request.app.state.events
    return hub


PlatformDep = Annotated[Platform, Depends(_platform)]
EngineDep = Annotated[sa.Engine, Depends(_engine)]
ConfigDep = Annotated[ServerConfig, Depends(_config)]
EventsDep = Annotated[EventHub, Depends(_events)]

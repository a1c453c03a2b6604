"""The two clients: the same methods, run with httpx's sync or async client."""

from __future__ import annotations

from runyard.client.analytics import AnalyticsApi
from runyard.client.app_engine import AppEngineApi
from runyard.client.catalog import CatalogApi
from runyard.client.channels import ChannelsApi
from runyard.client.containers import ContainersApi
from runyard.client.credentials import CredentialsApi
from runyard.client.events import EventsApi
from runyard.client.job_endpoints import JobEndpointsApi
from runyard.client.jobs import JobsApi
from runyard.client.nodes import NodesApi
from runyard.client.notifications import NotificationsApi
from runyard.client.plans import PlansApi
from runyard.client.services import ServicesApi
from runyard.client.sessions import SessionsApi
from runyard.client.signals import SignalsApi
from runyard.client.transport import AsyncTransport, SyncTransport
from runyard.client.tuning import TuningApi
from runyard.client.users import UsersApi
from runyard.client.userspace import UserspaceApi
from runyard.client.workflows import WorkflowsApi


class Client(
    AnalyticsApi,
    SessionsApi,
    JobsApi,
    JobEndpointsApi,
    EventsApi,
    NodesApi,
    CredentialsApi,
    UsersApi,
    CatalogApi,
    ServicesApi,
    ContainersApi,
    TuningApi,
    UserspaceApi,
    NotificationsApi,
    PlansApi,
    WorkflowsApi,
    SignalsApi,
    ChannelsApi,
    AppEngineApi,
    SyncTransport,
):
    """A runyard server, from synchronous code.

    ``Client(url, token=None, *, timeout=30.0)``; ``url`` is the server's (``http://host:8080``, with
    or without ``/api/v1``). Use ``with Client(...) as client:`` or call ``close()``. Every failed
    request raises a :class:`~runyard.client.ClientError`.
    """


class AsyncClient(
    AnalyticsApi,
    SessionsApi,
    JobsApi,
    JobEndpointsApi,
    EventsApi,
    NodesApi,
    CredentialsApi,
    UsersApi,
    CatalogApi,
    ServicesApi,
    ContainersApi,
    TuningApi,
    UserspaceApi,
    NotificationsApi,
    PlansApi,
    WorkflowsApi,
    SignalsApi,
    ChannelsApi,
    AppEngineApi,
    AsyncTransport,
):
    """The same as :class:`Client` for asyncio: ``await`` each method, ``async for`` the streams
    (``events``, ``follow_logs``); ``async with`` or ``await client.aclose()``."""

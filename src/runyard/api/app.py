"""The server's ASGI app: REST routes over a platform started and stopped with the app."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from runyard import __version__, swagger_ui
from runyard.api import app_engine, errors, proactive_catalog
from runyard.api.change_waits import ChangeWaits
from runyard.api.events import EventHub
from runyard.api.idempotency import KeyLocks
from runyard.api.limits import RequestLimits
from runyard.api.login_throttle import LoginThrottle
from runyard.api.origins import ServiceOrigin
from runyard.api.proactive import routes as proactive_rest
from runyard.api.routers import (
    analytics,
    catalog,
    channels,
    credentials,
    events,
    index,
    job_endpoints,
    jobs,
    nodes,
    notifications,
    plans,
    service_containers,
    service_instances,
    service_proxy,
    services,
    sessions,
    signals,
    tuning_journal,
    users,
    userspace,
    workflows,
)
from runyard.api.security import SessionCache
from runyard.appengine import execution as app_engine_execution
from runyard.appengine import tasks as app_engine_tasks
from runyard.appengine.storage import Storage
from runyard.auth.bootstrap import FIRST_ADMIN, ensure_first_admin
from runyard.auth.job_tokens import JobTokens
from runyard.auth.notification_tokens import NotificationTokens
from runyard.catalog import load_builtin_buckets
from runyard.credentials import Vault
from runyard.planner import Planner
from runyard.platform import Platform
from runyard.server.config import ServerConfig
from runyard.server.task_start import (
    catalog_scripts_hook,
    credentials_hook,
    task_account_hook,
    task_session_hook,
)
from runyard.services import proxy
from runyard.services.automation import ServiceAutomation
from runyard.store.database import setting_up

log = logging.getLogger(__name__)
API = "/api/v1"
DOCS = f"{API}/docs"
OPENAPI = f"{API}/openapi.json"
#: Threads hashing passwords (argon2: tens of ms and 64 MiB each), apart from those serving requests.
PASSWORD_HASHING_THREADS = 2


def create_app(config: ServerConfig, announce: Callable[[str], None] = print) -> FastAPI:
    """The app; the platform starts (resuming unfinished jobs) when the app starts.

    With the portal, the app must be served on two sockets, the server's port and the proxy's
    (``config.proxy_listen_port``, not 0): see :mod:`runyard.api.origins`.

    ``announce`` gets what the operator must see once, such as the first admin's password.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = config.settings()
        vault = Vault(settings.data_dir / "credentials.key")
        tokens = JobTokens.from_file(settings.data_dir / "job-tokens.key")
        hooks = (
            credentials_hook(vault),
            catalog_scripts_hook(settings.catalog_rest_url),
            task_session_hook(tokens, config.base_url, settings.data_dir / "services", config.proxy_base_url),
            task_account_hook(settings),
            app_engine_execution.spec_hook(),  # last: an App Engine run's job gets the platform's runner
        )
        platform = Platform(settings, spec_hooks=hooks)
        with platform.engine.begin() as connection:
            setting_up(connection)
            password = ensure_first_admin(connection)
            written = load_builtin_buckets(connection)
        if password is not None:
            announce(
                f"runyard: created user {FIRST_ADMIN!r} with password {password} (shown only now; "
                f"log in with `runyard login`, change it with `runyard users password {FIRST_ADMIN}`)"
            )
        if written:
            log.info("built-in catalog objects written: %s", ", ".join(written))
        hub = EventHub()
        automation = ServiceAutomation(platform, port_range=config.service_port_range)
        hub.follow(platform, automation, config.proxy_base_url)
        app.state.platform, app.state.vault, app.state.events = platform, vault, hub
        app.state.job_tokens, app.state.services = tokens, automation
        app.state.notification_tokens = NotificationTokens.from_file(
            settings.data_dir / "notification-tokens.key"
        )
        app.state.proxy_client = proxy.new_client()
        hashing = ThreadPoolExecutor(PASSWORD_HASHING_THREADS, thread_name_prefix="password-hashing")
        app.state.password_hashing = hashing
        app.state.planner = planner = Planner(platform, vault)
        storage, mode = Storage(config.app_engine_folder), config.app_engine_run_mode
        runs = app_engine_execution.Execution(platform, storage, mode, config.app_engine_datasets)
        with platform, hashing, planner:
            automation.start_monitor()
            runs.start()  # follows App Engine runs' jobs; settles those the server left
            names = threading.Thread(
                target=app_engine_tasks.name_images,
                args=(platform.engine,),
                name="runyard-image-names",
                daemon=True,
            )
            names.start()  # an upload cut short may have left its task's image unnamed
            try:
                yield
            finally:
                names.join(timeout=5)
                runs.close()
                automation.stop_monitor()
                hub.close()
                await app.state.proxy_client.aclose()

    app = FastAPI(
        title="runyard",
        version=__version__,
        summary="Workflows of tasks on a pool of nodes; the services they start.",
        docs_url=None,  # swagger_ui serves it, with local assets
        openapi_url=OPENAPI,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.sessions = SessionCache()
    app.state.login_throttle = LoginThrottle(
        per_name=config.login_failures_per_name, per_address=config.login_failures_per_address
    )
    app.state.submission_keys = KeyLocks()
    app.state.change_waits = ChangeWaits()  # requests waiting for a signal or a channel key
    app.add_middleware(
        RequestLimits,
        max_bytes=config.max_body_bytes,
        uploads=app_engine.uploads(config.app_engine_max_upload_bytes),
    )
    errors.install(app)  # after: its catch-all must wrap the limits, which stop requests by raising
    for module in (
        analytics,
        sessions,
        users,
        tuning_journal,  # before jobs: POST /jobs/{id}/{action} would take its path
        signals,
        channels,
        job_endpoints,  # before jobs: POST /jobs/{id}/{action} would take its path
        jobs,
        events,
        notifications,
        nodes,
        credentials,
        plans,
        services,
        service_instances,
        service_containers,
        service_proxy,
        userspace,
        workflows,
    ):
        app.include_router(module.router, prefix=API)
    app.include_router(catalog.router, prefix=f"{API}/catalog")
    proactive_catalog.include(app)  # ProActive's /catalog and /cloud-automation-service
    proactive_rest.include(app)  # ProActive's /rest/scheduler, /rest/common, /rest/rm, /rest/data
    app_engine.include(app)  # Cytomine's App Engine: /app-engine/v1, /ping
    app.include_router(index.routes(API, DOCS, OPENAPI, landing=not config.portal))
    swagger_ui.install(app, DOCS, OPENAPI, "runyard: REST API")
    if config.portal:  # last: mounted at /, it takes every path the API has not
        from runyard import web

        web.mount(app, f"{config.local_url}{API}", config.data_dir / "portal.key", config.session_ttl)
    if config.separate_proxy:  # last: outermost, before the portal's and the API's own middleware
        if config.proxy_listen_port == 0:
            raise ValueError("bind the proxy's socket first and pass ServerConfig.with_proxy_port(its port)")
        app.add_middleware(
            ServiceOrigin, proxy_port=config.proxy_listen_port, proxy_url=config.proxy_base_url
        )
    return app

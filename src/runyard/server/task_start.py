"""What the server adds to a task's spec when it starts: credentials, catalog scripts, a job token,
the account it runs as.

All are :data:`runyard.scheduler.loop.SpecHook` functions, run by the scheduler once the start is
recorded, outside the write transaction (a raised ``RunyardError`` fails the start).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runyard.auth import get_user
from runyard.auth.job_tokens import JobTokens
from runyard.auth.users import account_number
from runyard.catalog.script_urls import read_script_url
from runyard.credentials import Vault
from runyard.errors import InvalidRequestError, NotFoundError
from runyard.model import Script, ScriptExecutable
from runyard.model.substitution import substitute
from runyard.nodes.accounts import can_switch_accounts, dedicated_account, mapped_account, own_account
from runyard.nodes.protocol import TaskSpec
from runyard.scheduler.loop import SpecHook
from runyard.scheduler.state import JobState
from runyard.scripts.registry import resolve_language
from runyard.settings import Settings


def credentials_hook(vault: Vault) -> SpecHook:
    def add_credentials(connection: sa.Connection, job: JobState, spec: TaskSpec) -> TaskSpec:
        secrets = vault.reveal(connection, job.owner)
        return dataclasses.replace(spec, credentials=secrets) if secrets else spec

    return add_credentials


def catalog_scripts_hook(catalog_url: str) -> SpecHook:
    """Scripts given by a URL into this server's catalog are read from the store, as the job's owner."""

    def inline(connection: sa.Connection, job: JobState, spec: TaskSpec) -> TaskSpec:
        owner = get_user(connection, job.owner)
        if owner is None:
            raise NotFoundError(f"the job's owner {job.owner!r} no longer exists")

        def read(script: Script) -> Script:
            if script.url is None:
                return script
            url = substitute(script.url, spec.variables)
            found = read_script_url(connection, catalog_url, url, owner.name, owner.is_admin)
            if found is None:
                return script
            # The URL ends in /raw: the language comes from the declaration, else the object's
            # content type, else the object's name.
            object_name = url.split("/resources/", 1)[1].split("/", 1)[0]
            language = script.language or found.language or resolve_language(Script(url=object_name))
            return dataclasses.replace(script, url=None, code=found.text, language=language)

        return _map_scripts(spec, read)

    return inline


def _map_scripts(spec: TaskSpec, change: Callable[[Script], Script]) -> TaskSpec:
    updates: dict[str, Any] = {}
    for name in ("pre", "post", "cleaning"):
        script = getattr(spec, name)
        if script is not None:
            updates[name] = change(script)
    if isinstance(spec.executable, ScriptExecutable):
        updates["executable"] = dataclasses.replace(spec.executable, script=change(spec.executable.script))
    if spec.flow is not None:
        updates["flow"] = dataclasses.replace(spec.flow, script=change(spec.flow.script))
    updates["selection"] = [dataclasses.replace(s, script=change(s.script)) for s in spec.selection]
    return dataclasses.replace(spec, **updates)


def task_session_hook(
    tokens: JobTokens, server_url: str, services_root: Path, proxy_url: str | None = None
) -> SpecHook:
    """Tasks get ``RUNYARD_URL`` and a job token in ``RUNYARD_TOKEN``: the SDK, the CLI and the service
    helper API (:mod:`runyard.services.psa`) then act as the job's owner while the job lives.
    ``RUNYARD_PROXY_URL`` is the base URL of the origin serving proxied endpoints (``proxy_url``, by
    default the server's own).
    ``RUNYARD_SERVICES_DIR`` is where the process engine keeps the owner's services' folders on this
    host (the sandbox shows a task its owner's folder only)."""

    def add_session(_connection: sa.Connection, job: JobState, spec: TaskSpec) -> TaskSpec:
        services_dir = str(services_root / job.owner)
        environment = {
            **spec.environment,
            "RUNYARD_URL": server_url,
            "RUNYARD_PROXY_URL": proxy_url or server_url,
            "RUNYARD_TOKEN": tokens.issue(job.id, job.owner),
            "RUNYARD_SERVICES_DIR": services_dir,
        }
        return dataclasses.replace(spec, environment=environment, services_dir=services_dir)

    return add_session


def task_account_hook(settings: Settings) -> SpecHook:
    """Every task runs sandboxed as an OS account (:mod:`runyard.nodes.sandbox`): as root, its owner's
    dedicated one, or with ``runAsMe`` the one ``user_mapping`` names; otherwise the server's own.
    ``HOME`` and ``TMPDIR`` are its localspace (the server's are not for it)."""

    def add_account(connection: sa.Connection, job: JobState, spec: TaskSpec) -> TaskSpec:
        if not can_switch_accounts():
            account = own_account()
        elif spec.run_as_me:
            os_name = settings.user_mapping.get(job.owner)
            if os_name is None:  # checked at submission: the mapping changed since
                raise InvalidRequestError(f"runAsMe: user {job.owner!r} is not mapped to an OS account")
            account = mapped_account(os_name)
        else:
            account = dedicated_account(account_number(connection, job.owner), settings.task_uid_base)
        environment = {"HOME": spec.localspace, "TMPDIR": spec.localspace, **spec.environment}
        return dataclasses.replace(spec, account=account, environment=environment)

    return add_account

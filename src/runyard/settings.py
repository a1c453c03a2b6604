"""Every tunable of the platform, read once at start-up into one typed object.

Defaults live here and only here; each field says its unit and meaning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.errors import InvalidRequestError

#: A node source's name: it starts its nodes' names (``<source>-…``) and their folders' names.
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    """Folder holding the SQLite database, task logs and the data spaces."""

    database_url: str | None = None
    """SQLAlchemy URL; ``None`` means SQLite at ``<data_dir>/runyard.db``."""

    nodes: int = 2
    """How many local nodes (one task at a time each) the embedded node source starts."""

    node_sources: tuple[NodeSourceConfig, ...] = ()
    """The node sources of the config file (``[[node_sources]]``); none means one ``local`` source of
    ``nodes`` nodes, named ``local-1``…"""

    node_tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Access tokens held by nodes, by node name (``local-1``): such a node only takes tasks
    whose generic information ``NODE_ACCESS_TOKEN`` is one of them."""

    max_failures_per_task: int = 2
    """How many times a task may be lost with its node (killed agent, restarted runner) and be
    started again; ProActive's ``numberofexecutiononfailure``. Independent of
    ``maxNumberOfExecution``, which counts errors of the task itself."""

    selection_retry_delay: float = 1.0
    """Seconds before a node whose selection script said no is asked again for the same task."""

    max_output_bytes: int = 1_000_000
    """Largest part of one execution's output kept in the store (the end is kept)."""

    event_log_max_bytes: int = 64 * 1024 * 1024
    """Size of the turns in the scheduler's event log file (``events.jsonl``, ~1.2 KB per task) past
    which it is rotated: closed, renamed ``events.jsonl.1`` (older ones shifted, the last three kept)
    and started afresh with a snapshot of the scheduler's state (docs/scheduler.md). At least 1."""

    scheduler_rest_url: str = ""
    """Value of ``PA_SCHEDULER_REST_URL`` given to tasks (empty while no server runs)."""

    catalog_rest_url: str = ""
    """Value of ``PA_CATALOG_REST_URL`` given to tasks (empty while no server runs)."""

    cloud_automation_rest_url: str = ""
    """Value of ``PA_CLOUD_AUTOMATION_REST_URL`` given to tasks: ProActive's Service Automation REST, which
    the PSA Java client of Groovy scripts calls (empty while no server runs)."""

    # -- containment of user code (docs/security.md) --

    contain_tasks: bool = False
    """Run every task sandboxed as its owner's OS account (the server sets it). Off, as in
    ``runyard run`` (the user's own workflow on their own machine), tasks run as the platform."""

    task_uid_base: int = 200_000
    """A server started as root runs the tasks of the user numbered N (``users.account_number``)
    as the unprivileged uid and gid ``task_uid_base + N`` (no ``/etc/passwd`` entry needed)."""

    user_mapping: dict[str, str] = field(default_factory=dict)
    """runyard user name -> OS account name: the account a ``runAsMe`` task of that user runs as
    (a ``runAsMe`` task of a user not mapped here is refused at submission)."""

    # -- bounds on what one job may ask (a job over them is refused or fails with the reason) --

    max_walltime: float = 30 * 24 * 3600.0
    """Longest walltime (seconds) a task may declare, in ``walltime`` or a ``WALLTIME`` generic
    information: refused at submission, or at the task's start when a variable gives it."""

    max_replicas: int = 10_000
    """Largest ``runs`` a replicate flow script may ask; more fails the job."""

    max_tasks_per_job: int = 50_000
    """Most task instances a job may have, counting every replica and loop iteration: a workflow
    with more tasks is refused, a flow script that would pass it fails the job."""

    data_space_roots: tuple[Path, ...] | None = ()
    """Folders a job's ``inputSpace``/``outputSpace`` may lie under besides its owner's userspace
    and the global space (its ``userSpace``/``globalSpace`` may only be those two); any other is
    refused at submission. ``None`` lets a job name any folder: ``runyard run``, on the user's own
    machine, as the user."""

    def __post_init__(self) -> None:
        # Tasks run in their own working folders: a relative data folder would mean another place there.
        object.__setattr__(self, "data_dir", Path(self.data_dir).absolute())
        if self.event_log_max_bytes < 1:
            raise InvalidRequestError(f"event_log_max_bytes: at least 1 byte, got {self.event_log_max_bytes}")

    @property
    def job_limits(self) -> JobLimits:
        return JobLimits(self.max_walltime, self.max_replicas, self.max_tasks_per_job)

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'runyard.db'}"


@dataclass(frozen=True)
class JobLimits:
    """The bounds of ``Settings`` that jobs are checked against (see the fields there)."""

    max_walltime: float
    max_replicas: int
    max_tasks_per_job: int


@dataclass(frozen=True)
class NodeSourceConfig:
    """One ``[[node_sources]]`` table: a named set of nodes of one type (``runyard.nodes.sources``)."""

    name: str
    type: str
    """``local``, ``dask``, ``slurm``, or ``module:callable`` (a factory of the config file only)."""
    options: dict[str, Any] = field(default_factory=dict)
    """The type's options: every key of the table but ``name``, ``type`` and ``tokens``."""
    tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Access tokens its nodes hold, by node name (``tokens = { "gpu-1" = ["t"] }``), as ``node_tokens``."""


def parse_node_sources(tables: Any, where: str) -> tuple[NodeSourceConfig, ...]:
    """The ``[[node_sources]]`` tables of a config file, checked; errors name the table and field
    (``where`` is the file)."""
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise InvalidRequestError(f"{where}: node_sources: expected [[node_sources]] tables")
    sources: list[NodeSourceConfig] = []
    for number, table in enumerate(tables, 1):
        options = dict(table)
        name = options.pop("name", None)
        at = f"{where}: [[node_sources]] #{number}" + (f" ({name})" if isinstance(name, str) else "")
        if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name):
            raise InvalidRequestError(f"{at}: name: {SOURCE_NAME_RULE}, got {name!r}")
        if any(source.name == name for source in sources):
            raise InvalidRequestError(f"{at}: name: another node source is named {name!r}")
        kind = options.pop("type", None)
        if not isinstance(kind, str) or not kind:
            raise InvalidRequestError(f"{at}: type: missing (local, dask, slurm or module:callable)")
        tokens = _source_tokens(options.pop("tokens", {}), name, f"{at}: tokens")
        sources.append(NodeSourceConfig(name, kind, options, tokens))
    return tuple(sources)


SOURCE_NAME_RULE = "letters, digits, '_', '.' or '-' (up to 64, starting with a letter or digit)"


def _source_tokens(given: Any, source: str, at: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(given, Mapping):
        raise InvalidRequestError(f"{at}: expected a table of node name = [tokens]")
    tokens = {}
    for node, held in given.items():
        if not node.startswith(f"{source}-"):
            raise InvalidRequestError(f"{at}: {node!r} is not a node of this source (named {source}-…)")
        if not isinstance(held, list) or not all(isinstance(token, str) and token for token in held):
            raise InvalidRequestError(f"{at}: {node}: expected a list of tokens")
        tokens[node] = tuple(held)
    return tokens

"""Node sources by configuration: the registry of their types and the composite the scheduler drives.

A type is a factory ``from_config(name, options, context) -> NodeSource``: ``local``, ``dask`` and
``slurm`` are built in (imported when first used, so a missing optional part is a clear error, not a
failed start); a config file may also name any ``module:callable``, which runs with the server's rights
and is therefore never accepted at run time. :class:`NodeSources` holds many sources as one, routes each
node's calls to the source that owns it (node names start with their source's name) and lets admins add
and remove sources while the scheduler runs.
"""

from __future__ import annotations

import logging
import pkgutil
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runyard.errors import ConflictError, InvalidRequestError, NodeError, NotFoundError
from runyard.nodes.local import LocalNodeSource
from runyard.nodes.protocol import (
    NodeEvent,
    NodeInfo,
    NodeRemoved,
    NodeSource,
    NodeUp,
    RecordedExecution,
    TaskSpec,
)

log = logging.getLogger(__name__)

#: Most nodes one ``local`` source starts (each is a process of the server's host).
MAX_LOCAL_NODES = 256


@dataclass(frozen=True)
class SourceContext:
    """What the platform gives every node source it builds."""

    data_dir: Path
    """The platform's data folder (database, keys, data spaces): the data spaces' root."""
    nodes_dir: Path
    """Where nodes keep their files, each in a folder named after it (``<nodes_dir>/<node>``); node names
    start with their source's name, so sources never share a folder."""
    private_dirs: tuple[Path, ...] = ()
    """Folders sandboxed executions must never see (the data folder, when tasks are contained)."""
    host_name: str = field(default_factory=socket.gethostname)
    """This host's name, as nodes started here report it."""


class SourceFactory(Protocol):
    def __call__(self, name: str, options: Mapping[str, Any], context: SourceContext) -> NodeSource: ...


#: The built-in types, as ``module:callable`` (imported when first used).
BUILTIN_TYPES: Mapping[str, str] = {
    "local": "runyard.nodes.sources:local_source",
    "dask": "runyard.nodes.dask:DaskNodeSource.from_config",
    "slurm": "runyard.nodes.slurm:SlurmNodeSource.from_config",
}


def source_factory(kind: str, *, builtin_only: bool) -> SourceFactory:
    """The factory of a type; ``builtin_only`` (run time, REST) refuses ``module:callable``."""
    path = BUILTIN_TYPES.get(kind)
    if path is None:
        if builtin_only or ":" not in kind:
            known = ", ".join(BUILTIN_TYPES)
            extra = "" if builtin_only else " or module:callable"
            refused = " (module:callable only in the server's config file)" if ":" in kind else ""
            raise InvalidRequestError(
                f"type: unknown node source type {kind!r}{refused}; known: {known}{extra}"
            )
        path = kind
    try:
        factory = pkgutil.resolve_name(path)
    except (ImportError, AttributeError, ValueError) as error:
        raise InvalidRequestError(f"type: node source type {kind!r} is not available here: {error}") from None
    if not callable(factory):
        raise InvalidRequestError(f"type: {kind!r} is not a callable")
    return factory  # type: ignore[no-any-return]


Options = TypeVar("Options", bound=BaseModel)


def parse_options(model: type[Options], options: Mapping[str, Any]) -> Options:
    """A source type's options checked against its pydantic model (unknown keys refused), or an
    ``InvalidRequestError`` naming each wrong field."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'options'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise InvalidRequestError(problems) from None


class LocalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    nodes: int = Field(ge=1, le=MAX_LOCAL_NODES)
    """How many node agents, child processes of the server, named ``<source>-1``…"""


def local_source(name: str, options: Mapping[str, Any], context: SourceContext) -> LocalNodeSource:
    """The ``local`` type: ``nodes = N`` agents on this host."""
    parsed = parse_options(LocalOptions, options)
    return LocalNodeSource(
        parsed.nodes, context.nodes_dir, name, host_name=context.host_name, private_dirs=context.private_dirs
    )


class Origin(StrEnum):
    CONFIG = "config"  # the server's config file (or the default local source): removed by editing it
    RUNTIME = "runtime"  # added by an admin, stored, removed by an admin


class SourceState(StrEnum):
    """ProActive's node source states."""

    DEPLOYING = "DEPLOYING"  # starting: its nodes may come up already
    DEPLOYED = "DEPLOYED"
    UNDEPLOYED = "UNDEPLOYED"  # it did not start (``error`` says why)
    SHUTTING_DOWN = "SHUTTING_DOWN"  # being removed


_RUNNING = (SourceState.DEPLOYING, SourceState.DEPLOYED)


@dataclass
class SourceEntry:
    """A node source with what it was built from."""

    name: str
    type: str
    options: dict[str, Any]
    origin: Origin
    source: NodeSource | None  # ``None``: its factory refused the options (``error``)
    added_by: str | None = None
    added_at: float | None = None
    state: SourceState = SourceState.UNDEPLOYED
    error: str | None = None


def held_tokens(source: NodeSource | None) -> dict[str, tuple[str, ...]]:
    """Access tokens a source's nodes hold by their nature, by node name (a ``slurm`` source's native
    nodes): a source type declares them as a ``held_tokens`` mapping, known before it starts."""
    return dict(getattr(source, "held_tokens", None) or {})


def build(
    name: str, kind: str, options: Mapping[str, Any], context: SourceContext, *, builtin_only: bool
) -> NodeSource:
    """A source of a type, not started; ``InvalidRequestError`` naming the source and field otherwise."""
    try:
        source = source_factory(kind, builtin_only=builtin_only)(name, options, context)
    except InvalidRequestError as error:
        raise InvalidRequestError(f"node source {name!r}: {error}") from None
    if source.name != name:
        raise NodeError(f"node source {name!r}: its type {kind!r} named it {source.name!r}")
    return source


class NodeSources:
    """Many node sources as the one the scheduler drives; sources may be added and removed while it runs.

    A removed source's nodes are announced with ``NodeRemoved`` (the scheduler re-runs what they ran
    elsewhere), then nothing more it says is passed on, and it is stopped."""

    name = "sources"

    def __init__(self) -> None:
        self._entries: dict[str, SourceEntry] = {}
        self._owners: dict[str, str] = {}  # node -> source name, from NodeUp
        self._lock = threading.RLock()
        self._on_event: Callable[[NodeEvent], None] | None = None

    def include(self, entry: SourceEntry) -> None:
        """Hold ``entry``, started with the others by ``start`` (or now, if they are started)."""
        with self._lock:
            if entry.name in self._entries:
                raise ConflictError(f"a node source named {entry.name!r} exists already")
            started = self._on_event is not None
            self._entries[entry.name] = entry
        if started:
            try:
                self._start(entry)
            except NodeError:
                with self._lock:
                    del self._entries[entry.name]
                raise

    def entries(self) -> list[SourceEntry]:
        with self._lock:
            return list(self._entries.values())

    def entry(self, name: str) -> SourceEntry:
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            raise NotFoundError(f"no node source {name!r}")
        return entry

    def may_hold(self, node: str) -> bool:
        """Whether ``node`` is a node of a held source, as far as known before the sources start."""
        entry = self._owner(node)
        if entry is None or not isinstance(entry.source, LocalNodeSource):
            return entry is not None
        return node in entry.source.node_names()

    def agent_pid(self, node: str) -> int:
        """The process id of a local node's agent."""
        entry = self._owner(node)
        if entry is None or not isinstance(entry.source, LocalNodeSource):
            raise NodeError(f"node {node} is not a local node")
        return entry.source.agent_pid(node)

    def remove(self, name: str) -> None:
        """Announce the source's nodes removed, stop it and forget it."""
        entry = self.entry(name)
        with self._lock:
            if entry.state is SourceState.SHUTTING_DOWN:
                raise ConflictError(f"node source {name!r} is being removed")
            entry.state = SourceState.SHUTTING_DOWN
        try:
            self._retire(entry, f"node source {name} removed")
        finally:
            with self._lock:
                del self._entries[name]

    def _retire(self, entry: SourceEntry, reason: str) -> None:
        """Tell the scheduler the nodes ``entry`` announced are gone for good, then stop it; it must be
        ``SHUTTING_DOWN`` already, so that nothing more it says is passed on."""
        with self._lock:
            gone = {node for node, owner in self._owners.items() if owner == entry.name}
            for node in gone:
                del self._owners[node]
        if entry.source is None:
            return
        gone |= {info.name for info in entry.source.nodes()}
        if self._on_event is not None:
            for node in sorted(gone):
                self._on_event(NodeRemoved(node, reason))
        # a source whose work outlives a stop, for the next server to adopt (slurm's native tasks' jobs),
        # ends it all when removed
        getattr(entry.source, "retire", entry.source.stop)()

    # -- NodeSource -----------------------------------------------------------------------

    def start(self, on_event: Callable[[NodeEvent], None]) -> None:
        """Start every source held; a config source that fails raises (the others are stopped), a stored
        run-time one stays listed as ``UNDEPLOYED`` with the reason."""
        self._on_event = on_event
        for entry in self.entries():
            try:
                self._start(entry)
            except NodeError as error:
                if entry.origin is Origin.CONFIG:
                    self.stop()
                    raise
                log.error("%s", error)

    def _start(self, entry: SourceEntry) -> None:
        if entry.source is None:
            raise NodeError(f"node source {entry.name!r} did not start: {entry.error}")
        entry.state = SourceState.DEPLOYING
        try:
            entry.source.start(self._forward(entry))
        except Exception as error:  # whatever the source's type raises: a failed start, said as such
            entry.error = str(error) or type(error).__name__
            entry.state = SourceState.SHUTTING_DOWN  # the nodes it announced meanwhile leave
            self._retire(entry, f"node source {entry.name} did not start")
            entry.state = SourceState.UNDEPLOYED
            raise NodeError(f"node source {entry.name!r} did not start: {entry.error}") from error
        entry.state, entry.error = SourceState.DEPLOYED, None

    def _forward(self, entry: SourceEntry) -> Callable[[NodeEvent], None]:
        def forward(event: NodeEvent) -> None:
            with self._lock:
                if entry.state is SourceState.SHUTTING_DOWN:
                    return  # its nodes are removed: the scheduler hears nothing more of them
                if isinstance(event, NodeUp):
                    self._owners[event.node.name] = entry.name
            if self._on_event is not None:
                self._on_event(event)

        return forward

    def nodes(self) -> list[NodeInfo]:
        return [info for entry in self.entries() if entry.source is not None for info in entry.source.nodes()]

    def run(self, node: str, spec: TaskSpec) -> None:
        source = self._source(node)
        if source is None:
            raise NodeError(f"node {node} belongs to no node source")
        source.run(node, spec)

    def kill(self, node: str, task_id: str, execution: int) -> None:
        source = self._source(node)
        if source is not None:  # else its source was removed, and what it ran with it
            source.kill(node, task_id, execution)

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        """Each source reconciles what ran on its nodes, all at once (a source that does not answer
        delays the recovery by ``timeout``, not once per source); executions of nodes no source owns
        any more are gone. The first source that raises fails the whole (the scheduler says why)."""
        shares: dict[str, tuple[NodeSource, list[RecordedExecution]]] = {}
        for execution in recorded:
            entry = self._owner(execution.node)
            if entry is not None and entry.state in _RUNNING and entry.source is not None:
                shares.setdefault(entry.name, (entry.source, []))[1].append(execution)
        if not shares:
            return []
        with ThreadPoolExecutor(len(shares), thread_name_prefix="runyard-reconcile") as pool:
            answers = [pool.submit(source.reconcile, share, timeout) for source, share in shares.values()]
            return [execution for answer in answers for execution in answer.result()]

    def stop(self) -> None:
        for entry in self.entries():
            if entry.source is not None and entry.state in _RUNNING:
                try:
                    entry.source.stop()
                except Exception:  # the others are stopped all the same
                    log.exception("node source %r did not stop cleanly", entry.name)
                entry.state = SourceState.UNDEPLOYED

    def _source(self, node: str) -> NodeSource | None:
        entry = self._owner(node)
        if entry is None or entry.state not in _RUNNING:
            return None
        return entry.source

    def _owner(self, node: str) -> SourceEntry | None:
        """The source of a node: the one that announced it, else the one its name starts with."""
        with self._lock:
            name = self._owners.get(node)
            if name is None:
                named = [entry for entry in self._entries if node.startswith(f"{entry}-")]
                name = max(named, key=len, default=None)
            return None if name is None else self._entries.get(name)

"""The embedded platform: a store, node sources and a scheduler, in one object.

``runyard run`` uses it to run one workflow with zero set-up, as the user who runs it; the server
hosts the same with ``contain_tasks``: every task sandboxed as its owner's account (docs/security.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import replace
from types import TracebackType
from typing import Any

from runyard.catalog.builtin import builtin_fetch
from runyard.errors import (
    ConflictError,
    InvalidRequestError,
    InvalidTransitionError,
    NodeError,
    NotFoundError,
    Problem,
    WorkflowError,
)
from runyard.formats.mapping import from_mapping
from runyard.formats.task_references import expand_references
from runyard.model import JobStatus, Priority, Workflow
from runyard.nodes.accounts import can_switch_accounts
from runyard.nodes.sandbox import make_undumpable
from runyard.nodes.sources import NodeSources, Origin, SourceContext, SourceEntry, build, held_tokens
from runyard.reports import JobReport, job_report
from runyard.scheduler.loop import JobEvent, NodeView, Scheduler, SpecHook
from runyard.scheduler.state import JobState
from runyard.scheduler.submission import prepare_job
from runyard.settings import SOURCE_NAME, SOURCE_NAME_RULE, NodeSourceConfig, Settings
from runyard.store.database import connect
from runyard.store.node_sources import StoredSource, delete_node_source, load_node_sources, save_node_source

log = logging.getLogger(__name__)


class Platform:
    """Start with ``with Platform(settings) as platform:``; every unfinished job resumes."""

    def __init__(self, settings: Settings, spec_hooks: tuple[SpecHook, ...] = ()) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if settings.contain_tasks:
            _make_private(settings)
        private = (settings.data_dir,) if settings.contain_tasks else ()
        self.source_context = SourceContext(settings.data_dir, settings.data_dir / "nodes", private)
        self.nodes = NodeSources()
        configured = settings.node_sources or (NodeSourceConfig("local", "local", {"nodes": settings.nodes}),)
        for config in configured:
            source = build(config.name, config.type, config.options, self.source_context, builtin_only=False)
            self.nodes.include(SourceEntry(config.name, config.type, config.options, Origin.CONFIG, source))
        given = [config.tokens for config in configured]
        held = [held_tokens(entry.source) for entry in self.nodes.entries()]  # slurm's native nodes
        self.settings = settings = replace(settings, node_tokens=_merged(*given, *held, settings.node_tokens))
        unknown = sorted(node for node in settings.node_tokens if not self.nodes.may_hold(node))
        if unknown:
            names = ", ".join(info.name for info in self.nodes.nodes()) or "none known before they start"
            raise NodeError(f"node tokens given for unknown nodes {', '.join(unknown)} (nodes: {names})")
        self.engine = connect(settings.resolved_database_url())
        self._include_stored_sources()
        self.scheduler = Scheduler(self.engine, self.nodes, settings, spec_hooks=spec_hooks)

    def _include_stored_sources(self) -> None:
        """The sources added at run time, to start with the others (listed ``UNDEPLOYED`` with the reason
        if their type refuses them now: a server never fails to start because of a run-time source)."""
        with self.engine.connect() as connection:
            stored = load_node_sources(connection)
        for row in stored:
            entry = SourceEntry(
                row.name, row.type, row.options, Origin.RUNTIME, None, row.added_by, row.added_at
            )
            try:
                entry.source = build(row.name, row.type, row.options, self.source_context, builtin_only=True)
            except (InvalidRequestError, NodeError) as error:
                entry.error = str(error)
                log.error("%s", error)
            try:
                self.nodes.include(entry)
            except ConflictError:
                log.error("node source %r added at run time is hidden by the config file's", row.name)

    def __enter__(self) -> Platform:
        self.scheduler.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.scheduler.stop()
        self.engine.dispose()

    def submit(
        self,
        workflow: Workflow,
        variables: Mapping[str, str] | None = None,
        generic_information: Mapping[str, str] | None = None,
        *,
        owner: str = "local",
        credentials: Collection[str] | None = None,
        parent_id: int | None = None,
    ) -> int:
        """Check and store a job; raises ``WorkflowError`` listing every problem, storing nothing.

        ``credentials``: the owner's credential names, for ``PA:CREDENTIAL`` variables; ``parent_id``:
        the job whose task submits this one."""
        later = self.submit_later(
            workflow,
            variables,
            generic_information,
            owner=owner,
            credentials=credentials,
            parent_id=parent_id,
        )
        return later.result().id

    def submit_later(
        self,
        workflow: Workflow,
        variables: Mapping[str, str] | None = None,
        generic_information: Mapping[str, str] | None = None,
        *,
        owner: str = "local",
        credentials: Collection[str] | None = None,
        parent_id: int | None = None,
        submission_key: str | None = None,
    ) -> Future[JobState]:
        """Check the job now (``WorkflowError``); the future is answered once it is stored (``id`` set).

        ``submission_key``: the owner's idempotency key, stored in the job's own transaction.

        Task references left in ``workflow`` resolve to the built-in buckets (the server resolves them
        against its catalog before)."""
        job = self.prepare(
            workflow,
            variables,
            generic_information,
            owner=owner,
            credentials=credentials,
            parent_id=parent_id,
        )
        job.submission_key = submission_key
        return self.scheduler.submit_later(job)

    def prepare(
        self,
        workflow: Workflow,
        variables: Mapping[str, str] | None = None,
        generic_information: Mapping[str, str] | None = None,
        *,
        owner: str = "local",
        credentials: Collection[str] | None = None,
        parent_id: int | None = None,
    ) -> JobState:
        """Every check of a submission, nothing stored: the job as it would be queued (``WorkflowError``
        listing every problem otherwise). What a submission and a validation share."""
        workflow = expand_references(workflow, builtin_fetch)
        self._check_accounts(workflow, owner)
        return prepare_job(
            workflow,
            variables,
            generic_information,
            owner=owner,
            now=time.time(),
            credentials=credentials,
            limits=self.settings.job_limits,
            spaces=self.scheduler.spaces,
            parent_id=parent_id,
        )

    def _check_accounts(self, workflow: Workflow, owner: str) -> None:
        """A ``runAsMe`` task needs an OS account for its owner (``user_mapping``) and a server that can
        switch to it: refused with the reason, never run as another account."""
        asking = [task.name for task in workflow.tasks if task.run_as_me]
        if not asking or not self.settings.contain_tasks:
            return  # ``runyard run``: the tasks already run as the user who runs the workflow
        if not can_switch_accounts():
            reason = "the server does not run as root: it cannot run a task as another OS account"
        elif owner not in self.settings.user_mapping:
            reason = f"user {owner!r} is not mapped to an OS account (setting user_mapping)"
        else:
            return
        raise WorkflowError([Problem(f"runAsMe: {reason}", task=name, field="runAsMe") for name in asking])

    def wait(self, job_id: int, timeout: float | None = None) -> JobStatus:
        return self.scheduler.wait(job_id, timeout)

    def kill_job(self, job_id: int) -> None:
        """Running tasks are killed (ABORTED), the others will not start; the job is KILLED."""
        self.scheduler.kill_job(job_id)

    def pause_job(self, job_id: int) -> None:
        """No task of the job starts until ``resume_job``; running ones go on."""
        self.scheduler.pause_job(job_id)

    def resume_job(self, job_id: int) -> None:
        self.scheduler.resume_job(job_id)

    def kill_task(self, job_id: int, task: str) -> None:
        """The task ends ABORTED; its successors go on as after a faulty task."""
        self.scheduler.kill_task(job_id, task)

    def pause_task(self, job_id: int, task: str) -> None:
        """A waiting task does not start until ``resume_task``."""
        self.scheduler.pause_task(job_id, task)

    def resume_task(self, job_id: int, task: str) -> None:
        self.scheduler.resume_task(job_id, task)

    def restart_task(self, job_id: int, task: str) -> None:
        """Run an IN_ERROR task again (``onTaskError`` suspendTask or pauseJob)."""
        self.scheduler.restart_task(job_id, task)

    def set_priority(self, job_id: int, priority: Priority | str) -> None:
        self.scheduler.set_priority(job_id, Priority(str(priority).lower()))

    def status(self, job_id: int) -> JobStatus:
        """The job's status as stored (``UnknownJobError`` if there is no such job)."""
        return self.scheduler.status(job_id)

    def remove_job(self, job_id: int) -> None:
        """Delete an ended job with its tasks, executions and logs."""
        self.scheduler.remove_job(job_id)

    def node_views(self) -> list[NodeView]:
        return self.scheduler.nodes()

    def lock_node(self, node: str, by: str) -> None:
        self.scheduler.lock_node(node, by)

    def unlock_node(self, node: str) -> None:
        self.scheduler.unlock_node(node)

    def add_node_token(self, node: str, token: str) -> None:
        self.scheduler.add_node_token(node, token)

    def remove_node_token(self, node: str, token: str) -> None:
        self.scheduler.remove_node_token(node, token)

    def node_sources(self) -> list[SourceEntry]:
        """Every node source: the config file's, then those added at run time."""
        return self.nodes.entries()

    def add_node_source(self, name: str, kind: str, options: Mapping[str, Any], by: str) -> SourceEntry:
        """Start a source of a built-in type and store it (it is started again after a restart); a source
        that does not start is an ``InvalidRequestError`` with the reason, and nothing is stored."""
        if not SOURCE_NAME.fullmatch(name):
            raise InvalidRequestError(f"name: {SOURCE_NAME_RULE}, got {name[:100]!r}")
        source = build(name, kind, options, self.source_context, builtin_only=True)
        entry = SourceEntry(name, kind, dict(options), Origin.RUNTIME, source, by, time.time())
        try:
            self.nodes.include(entry)
        except NodeError as error:
            raise InvalidRequestError(str(error)) from None
        try:
            with self.engine.begin() as connection:
                save_node_source(
                    connection, StoredSource(name, kind, entry.options, by, entry.added_at or 0.0)
                )
        except Exception:
            self.nodes.remove(name)
            raise
        for node, tokens in held_tokens(source).items():  # stored as an admin's: given again at each start
            for token in tokens:
                self.scheduler.add_node_token(node, token)
        return entry

    def remove_node_source(self, name: str) -> None:
        """Remove a source added at run time: its nodes leave (what they ran runs again elsewhere)."""
        entry = self.nodes.entry(name)
        if entry.origin is Origin.CONFIG:
            raise ConflictError(f"node source {name!r} comes from the server's config file: remove it there")
        for node, tokens in held_tokens(entry.source).items():
            for token in tokens:
                with suppress(NotFoundError, InvalidTransitionError):  # never came up; given at this start
                    self.scheduler.remove_node_token(node, token)
        self.nodes.remove(name)
        with self.engine.begin() as connection:
            delete_node_source(connection, name)

    def report(self, job_id: int) -> JobReport:
        with self.engine.connect() as connection:
            return job_report(connection, job_id, from_mapping)

    def alive_jobs(self) -> list[int]:
        return self.scheduler.alive_job_ids()

    def listen(self, listener: Callable[[JobEvent], None]) -> None:
        """Call ``listener(JobEvent)`` after each stored change."""
        self.scheduler.add_listener(listener)

    def listen_nodes(self, listener: Callable[[NodeView], None]) -> None:
        """Call ``listener(NodeView)`` after each stored change of a node (its state, task, lock, tokens)."""
        self.scheduler.add_node_listener(listener)


def _merged(*tokens: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Node tokens of several origins, per node."""
    merged: dict[str, tuple[str, ...]] = {}
    for given in tokens:
        for node, held in given.items():
            merged[node] = tuple(dict.fromkeys((*merged.get(node, ()), *held)))
    return merged


def _make_private(settings: Settings) -> None:
    """The data folder is the platform's alone (0700, keys 0600), and so are this process's memory
    and environment (``PR_SET_DUMPABLE 0``): tasks, even of the same uid, read neither."""
    make_undumpable()
    settings.data_dir.chmod(0o700)
    for key in settings.data_dir.glob("*.key"):
        key.chmod(0o600)


__all__ = ["JobEvent", "NodeView", "Platform", "SpecHook"]

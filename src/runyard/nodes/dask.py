"""The ``dask`` node source: runyard nodes hosted by the workers of a Dask cluster (docs/dask.md).

Every worker hosts ``nodes_per_worker`` nodes (``runyard.nodes.dask_worker``: a worker plugin runs
runyard's own node agents there), named ``<source>-<worker>-<i>``, url ``dask://<host>/<node>``, host
the worker's address. The nodes' own events (up, down) come through the Dask scheduler
(``Worker.log_event`` → ``Client.subscribe_topic``). Runs and kills go straight to the chosen worker's
comm (a handler the plugin registers, through the client's connection pool and security), and the
events of the executions come back the same way: the server keeps a call open to each worker for them
(a long poll), each call acknowledging the events the previous one brought; so the Dask scheduler's
batching is paid by neither. A worker the server cannot call is served through the Dask scheduler
instead (requests as Dask tasks pinned to it, its executions' events by ``Worker.log_event``). Output
comes as it grows, appended to the execution's log here. Without a shared file system the data spaces
travel with the run request and the outcome (``runyard.nodes.dask_spaces``).

A worker that leaves the cluster takes its nodes (``NodeDown``, then ``NodeRemoved``: the scheduler
re-runs what they ran); a lost Dask scheduler marks every node down until the client reconnects (the
plugin is registered again, the workers announce their nodes). Executions outlive the server: after a
restart :meth:`DaskNodeSource.reconcile` adopts those still running, or ended with their outcome held on
their worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future as CallFuture
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from distributed import Client, Future
from distributed.protocol.serialize import to_serialize
from pydantic import BaseModel, ConfigDict, Field

from runyard.errors import NodeError
from runyard.nodes import dask_worker
from runyard.nodes.accounts import Account
from runyard.nodes.dask_spaces import WRITABLE, Files, Limits, input_files, write_files
from runyard.nodes.local import _reported
from runyard.nodes.protocol import (
    NodeDown,
    NodeEvent,
    NodeInfo,
    NodeRemoved,
    NodeUp,
    OutcomeKind,
    RecordedExecution,
    TaskDone,
    TaskOutcome,
    TaskSpec,
    TaskStarted,
)
from runyard.nodes.sources import SourceContext, parse_options

log = logging.getLogger(__name__)

#: Seconds between two looks at the client's link to the Dask scheduler.
WATCH_INTERVAL = 1.0
#: Seconds a call to the workers (a run, files of an outcome, reconciliation) may take, tries included.
CALL_TIMEOUT = 60.0
#: Seconds between two tries of a call to a worker that could not be reached.
RETRY_INTERVAL = 0.5
#: Calls for events failed in a row after which a worker still in the cluster is reached through the
#: Dask scheduler (it is not reachable straight from the server).
UNREACHABLE_AFTER = 3


class DaskOptions(BaseModel):
    """The options of a ``[[node_sources]]`` table of type ``dask``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    scheduler: str = Field(pattern=r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")
    """The Dask scheduler's address, e.g. ``tcp://10.0.0.5:8786``."""
    nodes_per_worker: int = Field(1, ge=1, le=64)
    shared_fs: bool = False
    """The data folder's paths are valid on the workers: data spaces are used in place, not sent."""
    max_transfer_bytes: int = Field(Limits.max_bytes, ge=0)
    """Most bytes of data-space files an execution carries each way (without ``shared_fs``)."""
    connect_timeout: float = Field(30.0, gt=0)


@dataclass
class _Flight:
    """An execution sent to a node, with the server's paths its output and files go to."""

    node: str
    log_path: str
    spaces: dict[str, str]
    account: Account | None
    floor: int = 0  # its events numbered below are stale (relayed again from this one: see ``_adopt``)


@dataclass
class _Poll:
    """The server's calls to one worker for its executions' events (``dask_worker.NodeHost.events``)."""

    address: str
    worker_id: str
    after: int = 0  # the number of the last event taken: the next call acknowledges it
    reconciling: bool = False  # its events wait in ``stash`` until the adopted executions are known
    stash: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    order: threading.Lock = field(default_factory=threading.Lock)  # its events are handled in order
    task: asyncio.Task[None] | None = None
    indirect: bool = False  # not reached straight: requests and events go through the Dask scheduler
    failures: int = 0  # calls for events that failed in a row


class DaskNodeSource:
    """Nodes on the workers of the Dask cluster at ``scheduler`` (an address) or of ``cluster`` (a
    ``distributed`` cluster object, e.g. dask-jobqueue's ``SLURMCluster``: its owner closes it)."""

    def __init__(
        self,
        name: str,
        *,
        scheduler: str | None = None,
        cluster: Any = None,
        nodes_per_worker: int = 1,
        shared_fs: bool = False,
        sandbox: bool = False,
        limits: Limits | None = None,
        connect_timeout: float = 30.0,
        security: Any = None,
    ) -> None:
        if (scheduler is None) == (cluster is None):
            raise NodeError(f"node source {name!r}: give a Dask scheduler address or a cluster, not both")
        self.name = name
        self.scheduler = scheduler
        self.cluster = cluster
        self.options = dask_worker.HostOptions(name, nodes_per_worker, shared_fs, sandbox, limits or Limits())
        self.connect_timeout = connect_timeout
        self.security = security  # a ``distributed.Security`` for ``scheduler`` (a cluster has its own)
        self._client: Client | None = None
        self._nodes: dict[str, NodeInfo] = {}
        self._workers: dict[str, tuple[str, str]] = {}  # node -> (worker address, worker id)
        self._flights: dict[tuple[str, int], _Flight] = {}
        self._hello: tuple[str, threading.Event] = ("", threading.Event())  # see ``_link``
        self._polls: dict[tuple[str, str], _Poll] = {}  # (worker address, worker id) -> its poll
        self._order: dict[str, asyncio.Lock] = {}  # worker -> one request at a time (on the client's loop)
        self._sending: dict[str, tuple[str, Future[Any]]] = {}  # Dask tasks on their way: worker, future
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._deliveries = ThreadPoolExecutor(2, thread_name_prefix=f"runyard-{name}")
        self._on_event: Callable[[NodeEvent], None] = lambda event: None

    @classmethod
    def from_config(cls, name: str, options: Mapping[str, Any], context: SourceContext) -> DaskNodeSource:
        parsed = parse_options(DaskOptions, options)
        return cls(
            name,
            scheduler=parsed.scheduler,
            nodes_per_worker=parsed.nodes_per_worker,
            shared_fs=parsed.shared_fs,
            sandbox=bool(context.private_dirs),
            limits=Limits(max_bytes=parsed.max_transfer_bytes),
            connect_timeout=parsed.connect_timeout,
        )

    # -- NodeSource -----------------------------------------------------------------------

    def start(self, on_event: Callable[[NodeEvent], None]) -> None:
        """Connect to the cluster and have its workers host nodes (they come up as ``NodeUp``)."""
        self._on_event = on_event
        try:
            self._client = self._connect()
        except (OSError, TimeoutError) as error:
            where = self.scheduler or "the cluster's scheduler"
            raise NodeError(
                f"node source {self.name!r}: cannot reach the Dask scheduler at {where}: {error}"
            ) from None
        threading.Thread(target=self._watch, name=f"runyard-{self.name}-link", daemon=True).start()

    def nodes(self) -> list[NodeInfo]:
        with self._lock:
            return [replace(info) for info in self._nodes.values()]

    def run(self, node: str, spec: TaskSpec) -> None:
        with self._lock:
            info, worker = self._nodes.get(node), self._workers.get(node)
        if info is None or worker is None or not info.alive:
            raise NodeError(
                f"node {node} is down" if info else f"no node {node!r} in node source {self.name!r}"
            )
        key = (spec.task_id, spec.execution)
        spaces = {space: getattr(spec, space) for space in WRITABLE}
        with self._lock:
            self._flights[key] = _Flight(node, spec.log_path, spaces, spec.account)
        try:
            files = {} if self.options.shared_fs else input_files(spec, self.options.limits)
        except (NodeError, OSError) as error:
            self._end(node, TaskOutcome(*key, OutcomeKind.FAULTY, error=f"input file transfer: {error}"))
            return
        self._request(node, worker, "run", spec, files)

    def kill(self, node: str, task_id: str, execution: int) -> None:
        with self._lock:
            worker = self._workers.get(node)
            sent = (task_id, execution) in self._flights
        if worker is not None and sent:
            self._request(node, worker, "kill", task_id, execution)

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        """Adopt what the workers still run, or hold the outcome of; the output and outcomes follow."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._lock.wait_for(
                lambda: all(r.node in self._workers for r in recorded), max(0.0, deadline - time.monotonic())
            )
            by_worker: dict[tuple[str, str], list[RecordedExecution]] = {}
            for record in recorded:
                if record.node in self._workers:
                    by_worker.setdefault(self._workers[record.node], []).append(record)
        adopted: list[RecordedExecution] = []
        for worker, records in by_worker.items():
            try:
                adopted += self._adopt(worker, records)
            except (OSError, TimeoutError, NodeError) as error:
                log.warning(
                    "node source %s: worker %s could not be reconciled: %s", self.name, worker[0], error
                )
        return adopted

    def stop(self) -> None:
        """Stop the nodes on every worker and leave the cluster (a given cluster is left running)."""
        self._stopping.set()
        client = self._client
        if client is not None and client.status == "running":
            try:
                client.run(dask_worker.stop_host, self.name)
                client.unregister_worker_plugin(self.options.topic)  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError, ValueError) as error:
                log.warning("node source %s: its nodes could not all be stopped: %s", self.name, error)
        if client is not None:
            for topic in (self.options.topic, "all"):  # nothing more for it, not even its own leaving
                client.unsubscribe_topic(topic)  # type: ignore[no-untyped-call]
            client.close()  # type: ignore[no-untyped-call]
        self._deliveries.shutdown(wait=False, cancel_futures=True)

    def leave(self) -> None:
        """Leave the cluster without stopping its nodes: what they run goes on, and a source of the same
        name that connects later adopts it (:meth:`reconcile`)."""
        self._stopping.set()
        client = self._client
        if client is not None:
            for topic in (self.options.topic, "all"):
                client.unsubscribe_topic(topic)  # type: ignore[no-untyped-call]
            client.close()  # type: ignore[no-untyped-call]
        self._deliveries.shutdown(wait=False, cancel_futures=True)

    # -- the cluster ----------------------------------------------------------------------

    def _connect(self) -> Client:
        target = self.scheduler if self.scheduler is not None else self.cluster
        client = Client(  # type: ignore[no-untyped-call]
            target, timeout=self.connect_timeout, set_as_default=False, security=self.security
        )
        self._client = client  # before the nodes are announced: their polls call through it
        self._link(client)
        return client

    def _link(self, client: Client) -> None:
        """Subscribe to the nodes' events and to the cluster's; have every worker host nodes (a worker
        that already does keeps them, and announces them again)."""
        client.subscribe_topic(self.options.topic, self._on_node_message)  # type: ignore[no-untyped-call]
        client.subscribe_topic("all", self._on_cluster_message)  # type: ignore[no-untyped-call]
        # The subscriptions travel in the client's batched stream, the plugin in a call of its own: a worker
        # that already hosts nodes announces them at once. Our own event comes back once they are in effect
        # (sent until one does: it too is a call of its own, which may overtake them).
        hello = threading.Event()
        with self._lock:
            self._hello = (uuid.uuid4().hex, hello)
        deadline = time.monotonic() + self.connect_timeout
        while not hello.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError("the Dask scheduler did not confirm the subscription to the nodes' events")
            client.log_event(self.options.topic, {"op": "hello", "token": self._hello[0]})
            hello.wait(0.05)
        client.register_plugin(dask_worker.RunyardNodes(self.options), name=self.options.topic)

    def _watch(self) -> None:
        """Follow the link to the Dask scheduler: every node down once it is lost; linked again (the
        workers announce their nodes) when the client is back, or a new client once it gave up."""
        assert self._client is not None
        comm = self._client.scheduler_comm
        while not self._stopping.wait(WATCH_INTERVAL):
            client = self._client
            if client.status == "running" and client.scheduler_comm is comm:
                continue
            if comm is not None:
                comm = None
                self._all_down("the Dask scheduler is unreachable")
            try:
                if client.status == "running":
                    self._link(client)
                elif client.status == "closed":
                    self._client = client = self._connect()
                else:
                    continue  # the client is reconnecting
                comm = client.scheduler_comm
            except (OSError, TimeoutError) as error:
                log.info("node source %s: the Dask scheduler is unreachable: %s", self.name, error)

    def _all_down(self, reason: str) -> None:
        with self._lock:
            down = [name for name, info in self._nodes.items() if info.alive]
            for name in down:
                self._nodes[name].alive = False
            self._flights.clear()
        for name in down:
            self._on_event(NodeDown(name, reason))

    def _on_cluster_message(self, event: tuple[float, Any]) -> None:
        message = event[1]
        if not isinstance(message, dict) or message.get("action") != "remove-worker":
            return
        address = message.get("worker")
        with self._lock:
            gone = [node for node, (worker, _) in self._workers.items() if worker == address]
            for node in gone:
                del self._workers[node]
                self._nodes.pop(node, None)
            self._flights = {k: f for k, f in self._flights.items() if f.node not in gone}
            for worker in [w for w in self._polls if w[0] == address]:
                del self._polls[worker]
            stranded = [future for worker, future in self._sending.values() if worker == address]
            self._lock.notify_all()
        for future in stranded:  # pinned to a worker that will not run them
            future.cancel()  # type: ignore[no-untyped-call]
        for node in gone:  # its poll ends, and the requests still tried for it
            reason = f"its Dask worker {address} left the cluster"
            self._on_event(NodeDown(node, reason))
            self._on_event(NodeRemoved(node, reason))

    def _on_node_message(self, event: tuple[float, Any]) -> None:
        """A node's event, on the client's event loop."""
        message: dict[str, Any] = event[1]
        op = message.get("op")
        if op == "hello":
            with self._lock:
                if message.get("token") == self._hello[0]:
                    self._hello[1].set()
        elif op == "up":
            info = NodeInfo(message["node"], self.name, message["host"], message["url"], alive=True)
            worker = (message["worker"], message["worker_id"])
            with self._lock:
                self._nodes[info.name] = info
                self._workers[info.name] = worker
                self._lock.notify_all()
                poll = None if worker in self._polls else self._polls.setdefault(worker, _Poll(*worker))
            if poll is not None:
                poll.task = asyncio.ensure_future(self._poll(poll))
            self._on_event(NodeUp(replace(info)))
        elif op == "down":
            with self._lock:
                if message["node"] in self._nodes:
                    self._nodes[message["node"]].alive = False
            self._on_event(NodeDown(message["node"], message["reason"]))
        elif op in dask_worker.EXECUTION_EVENTS:  # relayed by a worker the server cannot reach
            with self._lock:
                poll = self._polls.get((message["worker"], message["worker_id"]))
            if poll is not None and poll.indirect:
                self._take(poll, [(message["number"], message)])

    async def _poll(self, poll: _Poll) -> None:
        """Take the events of the worker's executions straight from it, for as long as it is in the
        cluster (on the client's event loop)."""
        worker = (poll.address, poll.worker_id)
        try:
            while not self._stopping.is_set() and not poll.indirect:
                with self._lock:
                    if worker not in self._workers.values():
                        return
                try:
                    events = await self._call(poll.address, poll.worker_id, "events", poll.after)
                except NodeError:
                    raise
                except Exception as error:  # unreachable, or leaving: tried again while it is there
                    log.debug("node source %s: no events from %s: %s", self.name, poll.address, error)
                    poll.failures += 1
                    if poll.failures >= UNREACHABLE_AFTER and self._client_running():
                        self._make_indirect(worker, error)
                    await asyncio.sleep(RETRY_INTERVAL)
                    continue
                poll.failures = 0
                self._take(poll, events)
        except NodeError as error:
            log.debug("node source %s: %s", self.name, error)  # the worker started again: announced anew
        finally:
            with self._lock:
                if not poll.indirect:
                    self._polls.pop(worker, None)

    def _take(self, poll: _Poll, events: list[tuple[int, dict[str, Any]]]) -> None:
        """Handle the worker's events in order, each once (those numbered up to ``after`` arrived), or
        keep them while its executions are being adopted."""
        with poll.order:
            with self._lock:
                fresh = [(number, message) for number, message in events if number > poll.after]
                if fresh:
                    poll.after = fresh[-1][0]
                if poll.reconciling:
                    poll.stash += fresh
                    return
            for number, message in fresh:
                self._on_execution_event(number, message)

    def _client_running(self) -> bool:
        return self._client is not None and self._client.status == "running"

    def _make_indirect(self, worker: tuple[str, str], error: BaseException) -> None:
        """From now on, reach ``worker`` through the Dask scheduler: Dask tasks pinned to it for the
        requests, and its executions' events by ``Worker.log_event`` (those the server did not take
        first, then all)."""
        with self._lock:
            poll = self._polls.get(worker)
            if poll is None:
                poll = self._polls[worker] = _Poll(*worker)
            if poll.indirect:
                return
            poll.indirect = True
        log.warning(
            "node source %s: worker %s cannot be reached straight (%s): through the Dask scheduler",
            self.name, worker[0], error,
        )  # fmt: skip
        self._pinned(worker, "relay", poll.after)

    def _pinned(self, worker: tuple[str, str], call: str, *args: Any) -> Future[Any]:
        """``call`` as a Dask task pinned to ``worker`` (``dask_worker.serve``), through the scheduler."""
        assert self._client is not None
        key = f"runyard-{call}-{uuid.uuid4().hex}"
        future = self._client.submit(
            dask_worker.serve, self.name, worker[1], call, list(args),
            key=key, workers=[worker[0]], allow_other_workers=False, pure=False,
        )  # fmt: skip
        with self._lock:
            self._sending[key] = (worker[0], future)

        def arrived(_: Future[Any]) -> None:
            with self._lock:
                self._sending.pop(key, None)

        future.add_done_callback(arrived)  # type: ignore[no-untyped-call]
        return future

    def _indirect(self, worker: tuple[str, str]) -> bool:
        with self._lock:
            poll = self._polls.get(worker)
            return poll is not None and poll.indirect

    def _on_execution_event(self, number: int, message: dict[str, Any]) -> None:
        """An execution's event, the ``number``-th of its worker, in order (files are fetched elsewhere)."""
        flight = self._flight((message["task_id"], message["execution"]))
        if flight is None or number < flight.floor:
            return  # not (or no more) ours, or relayed again since
        op = message["op"]
        if op == "started":
            self._on_event(TaskStarted(message["node"], message["task_id"], message["execution"]))
        elif op == "output":
            _write_at(flight.log_path, message["at"], message["data"])
        elif op == "done" and message["files"]:
            self._deliveries.submit(self._deliver, message)
        elif op == "done":
            self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> None:
        """Write back the files of an ended execution, then report its outcome."""
        key = (message["task_id"], message["execution"])
        outcome = _reported(message["outcome"].encode(), key)
        flight = self._flight(key)
        if flight is None:
            return
        if message["files"]:
            try:
                self._write_back(flight, message)
            except Exception as error:  # whatever the call to the worker raised: the outcome says it
                error_text = f"output file transfer: {error}"
                outcome = replace(outcome, kind=OutcomeKind.FAULTY, error=outcome.error or error_text)
        self._end(message["node"], outcome)

    def _write_back(self, flight: _Flight, message: dict[str, Any]) -> None:
        with self._lock:
            worker = self._workers.get(flight.node)
        if worker is None:
            raise NodeError(f"node {flight.node} is gone with the files")
        asked = (flight.node, message["task_id"], message["execution"])
        files: Files = self._call_from_thread(worker, "files", *asked)
        for space, found in files.items():
            if space not in WRITABLE or not flight.spaces.get(space):
                raise NodeError(f"the worker sent files for {space!r}, which the task may not write")
            write_files(Path(flight.spaces[space]), found, flight.account)

    def _adopt(self, worker: tuple[str, str], records: list[RecordedExecution]) -> list[RecordedExecution]:
        """Adopt ``records`` on ``worker``: its events wait until their flights are known (then those
        numbered before each flight's floor are dropped: they are relayed again)."""
        with self._lock:
            poll = self._polls.get(worker)
            if poll is not None:
                poll.reconciling = True
        try:
            asked = [[r.node, r.task_id, r.execution] for r in records]
            found: list[dict[str, Any]] = self._call_from_thread(worker, "adopt", asked)
            with self._lock:
                for item in found:
                    origin = item["origin"]
                    spaces = {space: origin.get(space, "") for space in WRITABLE}
                    account = Account(*origin["account"]) if origin.get("account") else None
                    flight = _Flight(item["node"], origin["log_path"], spaces, account, item["floor"])
                    self._flights[(item["task_id"], item["execution"])] = flight
        finally:
            if poll is not None:
                with poll.order:
                    with self._lock:
                        poll.reconciling, stash, poll.stash = False, poll.stash, []
                    for number, message in stash:
                        self._on_execution_event(number, message)
        kept = {(item["task_id"], item["execution"]) for item in found}
        return [r for r in records if (r.task_id, r.execution) in kept]

    async def _call(self, address: str, worker_id: str, call: str, *args: Any) -> Any:
        """Call the worker's runyard handler (``dask_worker.handle_call``) straight, on the client's loop."""
        assert self._client is not None
        sent = to_serialize(list(args)) if call == "run" else list(args)  # type: ignore[no-untyped-call]
        answer: dict[str, Any] = await self._client.rpc(address).runyard_call(
            source=self.name, worker_id=worker_id, call=call, args=sent
        )
        if "error" in answer:
            raise NodeError(answer["error"])
        return answer["value"]

    def _call_from_thread(self, worker: tuple[str, str], call: str, *args: Any) -> Any:
        """:meth:`_call` from a thread other than the client's loop, waiting for its answer; through the
        Dask scheduler to a worker that cannot be reached straight."""
        if not self._indirect(worker):
            straight = asyncio.run_coroutine_threadsafe(self._call(*worker, call, *args), self._loop())
            try:
                return straight.result(CALL_TIMEOUT)
            except (OSError, TimeoutError) as error:
                if not self._client_running():
                    raise
                self._make_indirect(worker, error)
        answer: dict[str, Any] = self._pinned(worker, call, *args).result(timeout=CALL_TIMEOUT)
        if "error" in answer:
            raise NodeError(answer["error"])
        return answer["value"]

    def _loop(self) -> asyncio.AbstractEventLoop:
        assert self._client is not None and self._client.loop is not None
        loop: asyncio.AbstractEventLoop = self._client.loop.asyncio_loop  # type: ignore[attr-defined]
        return loop

    def _request(self, node: str, worker: tuple[str, str], call: str, *args: Any) -> None:
        """Send a run or a kill to the node's worker, in order (one request at a time per worker), tried
        again while the worker cannot be reached and is still in the cluster (a run sent twice runs
        once); a run that cannot be delivered ends FAULTY."""
        address, worker_id = worker
        key = (args[0].task_id, args[0].execution) if call == "run" else (args[0], args[1])

        def wanted() -> bool:
            with self._lock:
                return worker in self._workers.values() and (call == "kill" or key in self._flights)

        async def ordered() -> bool:  # sent straight, or (False) to send through the Dask scheduler
            async with self._order.setdefault(address, asyncio.Lock()):
                deadline = time.monotonic() + CALL_TIMEOUT
                while not self._indirect(worker):
                    try:
                        await self._call(address, worker_id, call, node, *args)
                        return True
                    except (OSError, TimeoutError):
                        if not wanted() or time.monotonic() > deadline:
                            raise
                    await asyncio.sleep(RETRY_INTERVAL)
                return False

        def failed(error: BaseException | str) -> None:
            if call == "run":
                why = f"the run could not reach node {node}: {error}"
                self._end(node, TaskOutcome(*key, OutcomeKind.FAULTY, error=why))
            else:
                log.warning(
                    "node source %s: the kill of %s could not reach node %s: %s", self.name, key, node, error
                )

        def pinned(done: Future[Any]) -> None:
            if done.status == "error":
                failed(done.exception())  # type: ignore[no-untyped-call]
            elif done.status == "finished" and "error" in done.result():
                failed(done.result()["error"])

        def sent(done: CallFuture[bool]) -> None:
            error = None if done.cancelled() else done.exception()
            if error is not None:
                failed(error)
            elif not done.cancelled() and not done.result():
                self._pinned(worker, call, node, *args).add_done_callback(pinned)  # type: ignore[no-untyped-call]

        asyncio.run_coroutine_threadsafe(ordered(), self._loop()).add_done_callback(sent)

    def _flight(self, key: tuple[str, int]) -> _Flight | None:
        with self._lock:
            return self._flights.get(key)

    def _end(self, node: str, outcome: TaskOutcome) -> None:
        with self._lock:
            if self._flights.pop((outcome.task_id, outcome.execution), None) is None:
                return
        self._on_event(TaskDone(node, outcome))


def _write_at(path: str, offset: int, data: bytes) -> None:
    """Write a chunk of an execution's output where it belongs in its log (a chunk sent again is
    written again at the same place)."""
    if not path:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)

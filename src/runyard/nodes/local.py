"""The embedded node source: ``size`` node agents on this host, each a child process of the server."""

from __future__ import annotations

import json
import logging
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runyard.errors import NodeError
from runyard.nodes.agent import kill_process_group
from runyard.nodes.channel import Channel
from runyard.nodes.messages import encode_kill, encode_run, outcome_from_json
from runyard.nodes.protocol import (
    NodeDown,
    NodeEvent,
    NodeInfo,
    NodeUp,
    OutcomeKind,
    RecordedExecution,
    TaskDone,
    TaskOutcome,
    TaskSpec,
    TaskStarted,
)

#: Seconds ``start`` waits for the agents to be ready, and ``stop`` for them to exit before SIGKILL.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
#: Seconds before a dead agent is started again, doubled at each death that follows quickly
#: (within ``STEADY_AFTER`` seconds of its start) up to ``RESTART_MAX_DELAY``.
RESTART_DELAY = 0.5
RESTART_MAX_DELAY = 30.0
STEADY_AFTER = 60.0

log = logging.getLogger(__name__)


@dataclass
class _Agent:
    info: NodeInfo
    process: subprocess.Popen[bytes]
    channel: Channel
    ready: threading.Event = field(default_factory=threading.Event)
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    task: tuple[str, int] | None = None  # (task_id, execution) it runs
    task_pid: int | None = None  # the forked task process, leader of its process group
    reader: threading.Thread | None = None


class LocalNodeSource:
    """Nodes ``<name>-1`` … ``<name>-<size>`` (url ``local://<host>/<node>``), one agent process each.

    Agents keep their own files (``agent.log``, ``cache/``) under ``work_dir/<node>``. A dead agent
    is reported as ``NodeDown`` (its task's processes are killed) and started again after a short
    delay (``NodeUp`` once it is ready). Sandboxed executions never see ``private_dirs``.
    """

    def __init__(
        self,
        size: int,
        work_dir: Path,
        name: str = "local",
        host_name: str | None = None,
        private_dirs: tuple[Path, ...] = (),
        scheme: str = "local",
    ) -> None:
        if size < 1:
            raise NodeError(f"a local node source needs at least one node, got {size}")
        self.name = name
        self.size = size
        self.work_dir = Path(work_dir)
        self.host = host_name or socket.gethostname()
        self.private_dirs = private_dirs
        self.scheme = scheme  # of the node urls: a Dask worker's nodes are ``dask://…``
        self._agents: dict[str, _Agent] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self._stopped = threading.Event()  # wakes watchers waiting to restart an agent
        self._on_event: Callable[[NodeEvent], None] = lambda event: None

    def start(self, on_event: Callable[[NodeEvent], None]) -> None:
        """Spawn the agents and wait (up to ``START_TIMEOUT``) until each is ready or gone."""
        self._on_event = on_event
        for node in self.node_names():
            agent = self._spawn(node)
            with self._lock:
                self._agents[agent.info.name] = agent
            name = f"runyard-{node}"
            agent.reader = threading.Thread(target=self._watch, args=(agent,), name=name, daemon=True)
            agent.reader.start()
        for agent in self._agents.values():
            agent.ready.wait(START_TIMEOUT)

    def node_names(self) -> list[str]:
        """The names of the nodes this source starts, known before it starts them."""
        return [f"{self.name}-{number}" for number in range(1, self.size + 1)]

    def nodes(self) -> list[NodeInfo]:
        with self._lock:
            return [replace(agent.info) for agent in self._agents.values()]

    def agent_pid(self, node: str) -> int:
        return self._agent(node).process.pid

    def run(self, node: str, spec: TaskSpec) -> None:
        agent = self._agent(node)
        with self._lock:
            if not agent.info.alive:
                raise NodeError(f"node {node} is down")
            if agent.task is not None:
                raise NodeError(f"node {node} is already running task {agent.task[0]}")
            agent.task = (spec.task_id, spec.execution)
        self._send(agent, encode_run(spec))

    def kill(self, node: str, task_id: str, execution: int) -> None:
        agent = self._agent(node)
        if agent.info.alive:
            self._send(agent, encode_kill(task_id, execution))

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        """Nothing outlives this source: its agents (and their tasks) die with the server."""
        return []

    def stop(self) -> None:
        """Stop every agent (they kill their task) and wait for them; SIGKILL the slow ones."""
        with self._lock:
            self._stopping = True
            self._stopped.set()
            agents = list(self._agents.values())
        for agent in agents:
            agent.channel.shutdown()
        for agent in agents:
            try:
                agent.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                agent.process.kill()
            if agent.reader is not None:
                agent.reader.join()
            agent.channel.close()

    def _spawn(self, node: str) -> _Agent:
        folder = self.work_dir / node
        folder.mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair()
        url = f"{self.scheme}://{self.host}/{node}"
        command = [
            sys.executable, "-m", "runyard.nodes.agent", "--channel-fd", str(theirs.fileno()),
            "--node", node, "--host", self.host, "--url", url, "--cachespace", str(folder / "cache"),
        ]  # fmt: skip
        for private in self.private_dirs:
            command += ["--private-dir", str(private)]
        with open(folder / "agent.log", "ab") as log:
            process = subprocess.Popen(
                command,
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # terminal signals (Ctrl-C) go to the server only
            )
        theirs.close()
        info = NodeInfo(name=node, source=self.name, host=self.host, url=url, alive=False)
        return _Agent(info, process, Channel(ours))

    def _watch(self, agent: _Agent) -> None:
        """Read the node's agent until it goes; start it again (after a delay) until the source stops."""
        quick_deaths = 0
        while True:
            started = time.monotonic()
            self._read(agent)
            if self._stopping:
                return  # ``stop`` closes the channel
            agent.channel.close()
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < STEADY_AFTER else 1
            delay = min(RESTART_DELAY * 2 ** (quick_deaths - 1), RESTART_MAX_DELAY)
            log.warning("node %s: its agent is gone; started again in %.1f s", agent.info.name, delay)
            if self._stopped.wait(delay):
                return
            with self._lock:
                if self._stopping:
                    return
                agent = self._spawn(agent.info.name)
                agent.reader = threading.current_thread()
                self._agents[agent.info.name] = agent
            log.warning("node %s: agent started again (pid %d)", agent.info.name, agent.process.pid)

    def _read(self, agent: _Agent) -> None:
        frames = _Frames(agent.channel.sock)
        try:
            while True:
                message = json.loads(frames.next())
                if message["type"] == "done":  # the outcome follows, as the task process wrote it
                    message["outcome"] = frames.next()
                self._handle(agent, message)
        except (EOFError, OSError):
            pass
        self._gone(agent)

    def _handle(self, agent: _Agent, message: dict[str, Any]) -> None:
        node = agent.info.name
        kind = message["type"]
        if kind == "ready":
            with self._lock:
                agent.info.alive = True
            agent.ready.set()
            self._emit(NodeUp(replace(agent.info)))
        elif kind == "started":
            agent.task_pid = message["pid"]
            self._emit(TaskStarted(node, message["task_id"], message["execution"]))
        elif kind == "done":
            execution = (message["task_id"], message["execution"])
            with self._lock:
                if agent.task == execution:
                    agent.task = None
                    agent.task_pid = None
            self._emit(TaskDone(node, _reported(message["outcome"], execution)))

    def _gone(self, agent: _Agent) -> None:
        """The agent's channel closed: kill its task's processes, reap it, report the node down."""
        if agent.task_pid is not None:
            kill_process_group(agent.task_pid)
        code = agent.process.wait()
        with self._lock:
            agent.info.alive = False
            agent.task = None
            agent.task_pid = None
        agent.ready.set()
        if not self._stopping:
            how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            self._emit(NodeDown(agent.info.name, f"node agent {how}"))

    def _send(self, agent: _Agent, message: bytes) -> None:
        try:
            with agent.send_lock:
                agent.channel.send_bytes(message)
        except OSError as error:
            raise NodeError(f"node {agent.info.name} cannot be reached: {error}") from None

    def _agent(self, node: str) -> _Agent:
        agent = self._agents.get(node)
        if agent is None:
            raise NodeError(f"no node {node!r} in node source {self.name!r}")
        return agent

    def _emit(self, event: NodeEvent) -> None:
        self._on_event(event)


class _Frames:
    """The agent's messages (``Channel``'s framing), read through a buffer: the messages that arrived
    together (a ``done`` and its outcome) take one ``recv``, not two per message."""

    _HEADER = struct.Struct("!Q")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def next(self) -> bytes:
        """The next message; ``EOFError`` once the channel is closed."""
        header = self._HEADER.size
        while True:
            if len(self.buffer) >= header:
                (size,) = self._HEADER.unpack_from(self.buffer)
                if len(self.buffer) >= header + size:
                    message = bytes(self.buffer[header : header + size])
                    del self.buffer[: header + size]
                    return message
                wanted = header + size - len(self.buffer)
            else:
                wanted = header - len(self.buffer)
            chunk = self.sock.recv(min(max(wanted, _RECV_SIZE), _RECV_MAX))
            if not chunk:
                raise EOFError("channel closed")
            self.buffer += chunk


#: Bytes asked of each ``recv`` of the agent's channel, at least (more when a message needs it) …
_RECV_SIZE = 1 << 16
#: At most (a big outcome comes in several).
_RECV_MAX = 1 << 20


def _reported(written: bytes, execution: tuple[str, int]) -> TaskOutcome:
    """The outcome a task process wrote for ``execution``: user code may have written anything there,
    so what does not read as that execution's outcome makes it FAULTY."""
    try:
        outcome = outcome_from_json(json.loads(written))
    except (ValueError, TypeError, KeyError, RecursionError) as unreadable:
        reason = f"unreadable ({type(unreadable).__name__})"
    else:
        if (outcome.task_id, outcome.execution) == execution:
            return outcome
        reason = f"it names another execution ({outcome.task_id!r}, {outcome.execution!r})"
    error = f"the task process reported a false outcome: {reason}"
    return TaskOutcome(*execution, OutcomeKind.FAULTY, error=error)

"""The node agent: a long-lived process that forks once per task execution (a warm fork: the engines
are imported once, no interpreter starts per task).

Run as ``python -m runyard.nodes.agent --channel-fd N --node NAME ...`` with ``N`` one end of a
socket pair. Parent → agent messages are pickled :class:`RunRequest` / :class:`KillRequest` (platform
data only); agent → parent messages are JSON objects (``ready``, ``started``, ``done``), so the parent
never unpickles anything user code produced. The agent exits, killing its task, when the channel closes.

The forked task process writes its outcome (JSON) to a pipe and closes it: the agent reports the
outcome at once and reaps the process when it has exited, so its teardown is off the critical path.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import pickle
import select
import shutil
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, NoReturn

from runyard.nodes.channel import Channel
from runyard.nodes.executor import NodeContext, execute
from runyard.nodes.messages import KillRequest, RunRequest, outcome_to_json
from runyard.nodes.protocol import OutcomeKind, TaskOutcome, TaskSpec

_PR_SET_PDEATHSIG = 1
_READ_SIZE = 1 << 20


@dataclass
class _TaskProcess:
    """A forked task process: a spare waiting for its request, then the running execution."""

    pid: int
    pidfd: int
    request_pipe: int  # write end: the pickled request goes there
    outcome_pipe: int | None  # read end; None once read to its end
    spec: TaskSpec | None = None
    started_at: float = 0.0
    deadline: float | None = None
    data: bytearray = field(default_factory=bytearray)
    stopped: OutcomeKind | None = None  # KILLED or WALLTIME once the agent killed it


class Agent:
    """Runs one execution at a time in a forked child, reporting over ``channel``.

    The next task process is forked ahead of time (right after the previous execution reported),
    so that neither the fork nor the child's start is on the path from a request to its outcome.
    """

    def __init__(self, channel: Channel, node: NodeContext) -> None:
        self.channel = channel
        self.node = node
        self.static_selection: dict[str, bool] = {}
        self.spare: _TaskProcess | None = None
        self.running: _TaskProcess | None = None
        self.exiting: dict[int, int] = {}  # pidfd -> pid of task processes that reported, not yet reaped
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl

    def serve(self) -> None:
        """Serve until the channel closes; the running task's process group is killed on the way out."""
        gc.freeze()  # what the agent holds now stays shared with every fork, untouched
        self.spare = self._fork()
        self._send({"type": "ready", "pid": os.getpid()})
        try:
            while self._serve_once():
                pass
        finally:
            for process in (self.running, self.spare):
                if process is not None:
                    kill_process_group(process.pid)

    def _serve_once(self) -> bool:
        running = self.running
        readable = [self.channel.fileno(), *self.exiting]
        timeout = None
        if running is not None:
            readable.append(running.pidfd)
            if running.outcome_pipe is not None:
                readable.append(running.outcome_pipe)
            if running.deadline is not None and running.stopped is None:
                timeout = max(0.0, running.deadline - time.time())
        ready, _, _ = select.select(readable, [], [], timeout)
        for pidfd in [fd for fd in ready if fd in self.exiting]:
            self._reap(self.exiting.pop(pidfd), pidfd)
        if running is not None:
            self._watch(running, ready)
        if self.channel.fileno() in ready:
            try:
                raw = self.channel.recv_bytes()
            except (EOFError, OSError):
                return False
            self._handle(raw, pickle.loads(raw))
        return True

    def _watch(self, running: _TaskProcess, ready: list[int]) -> None:
        pipe = running.outcome_pipe
        if pipe is not None and pipe in ready and self._read_outcome(running):
            outcome = self._reported_outcome(running)
            if outcome is not None:
                self.exiting[running.pidfd] = running.pid
                self._report(outcome)
                return
        if running.pidfd in ready:
            status = self._reap(running.pid, running.pidfd)
            if running.outcome_pipe is not None:
                self._read_outcome(running)
            self._report(self._reported_outcome(running) or self._death(running, status))
        elif not ready and running.stopped is None:
            running.stopped = OutcomeKind.WALLTIME
            kill_process_group(running.pid)

    def _handle(self, raw: bytes, request: RunRequest | KillRequest) -> None:
        running = self.running
        if isinstance(request, KillRequest):
            if (
                running is not None
                and running.spec is not None
                and (
                    running.spec.task_id,
                    running.spec.execution,
                )
                == (request.task_id, request.execution)
            ):
                running.stopped = running.stopped or OutcomeKind.KILLED
                kill_process_group(running.pid)
        elif running is not None:
            busy = f"node {self.node.name} is already running another task"
            spec = request.spec
            outcome = TaskOutcome(spec.task_id, spec.execution, OutcomeKind.FAULTY, error=busy)
            self._send({"type": "done", "outcome": outcome_to_json(outcome)})
        else:
            self._start(raw, request.spec)

    def _start(self, raw: bytes, spec: TaskSpec) -> None:
        process = self._take_spare()
        pid = process.pid
        process.spec = spec
        process.started_at = time.time()
        if spec.walltime is not None:
            process.deadline = process.started_at + spec.walltime
        self.running = process
        # A task process that died meanwhile shows up through its pidfd: the write error is moot.
        with contextlib.suppress(OSError):
            _write_all(process.request_pipe, raw)
        os.close(process.request_pipe)
        self._send({"type": "started", "task_id": spec.task_id, "execution": spec.execution, "pid": pid})

    def _take_spare(self) -> _TaskProcess:
        spare, self.spare = self.spare, None
        if spare is not None and not select.select([spare.pidfd], [], [], 0)[0]:
            return spare
        if spare is not None:  # it died while waiting
            self._reap(spare.pid, spare.pidfd)
            os.close(spare.request_pipe)
            if spare.outcome_pipe is not None:
                os.close(spare.outcome_pipe)
        return self._fork()

    def _fork(self) -> _TaskProcess:
        request_read, request_write = os.pipe()
        outcome_read, outcome_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(request_write)
            os.close(outcome_read)
            self._task_process(request_read, outcome_write)
        os.close(request_read)
        os.close(outcome_write)
        os.set_blocking(outcome_read, False)
        return _TaskProcess(pid, os.pidfd_open(pid), request_write, outcome_read)

    def _task_process(self, request_pipe: int, outcome_pipe: int) -> NoReturn:
        """In the forked process: wait for the request, run it, write the outcome, exit."""
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.channel.close()
            for pidfd in self.exiting:
                os.close(pidfd)
            os.setsid()
            self._prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            with os.fdopen(request_pipe, "rb") as requests:
                raw = requests.read()
            if raw:  # nothing: the agent is shutting down
                request: RunRequest = pickle.loads(raw)
                known = set(self.static_selection)
                outcome = execute(request.spec, self.static_selection, self.node)
                learnt = {k: v for k, v in self.static_selection.items() if k not in known}
                message = {"outcome": outcome_to_json(outcome), "static_selection": learnt}
                _write_all(outcome_pipe, json.dumps(message).encode())
            os.close(outcome_pipe)
        except BaseException:
            traceback.print_exc()
            code = 70
        finally:
            os._exit(code)

    def _read_outcome(self, running: _TaskProcess) -> bool:
        """Read what the task process wrote; True once its end is reached (the pipe is then closed)."""
        assert running.outcome_pipe is not None
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(running.outcome_pipe, _READ_SIZE):
                running.data += chunk
            os.close(running.outcome_pipe)
            running.outcome_pipe = None
            return True
        return False

    def _reported_outcome(self, running: _TaskProcess) -> dict[str, Any] | None:
        """The outcome the task process wrote, if it wrote one whole."""
        try:
            message = json.loads(running.data) if running.data else None
        except ValueError:  # cut short by a kill
            return None
        if message is None:
            return None
        self.static_selection.update(message["static_selection"])
        outcome: dict[str, Any] = message["outcome"]
        return outcome

    def _death(self, running: _TaskProcess, status: int) -> dict[str, Any]:
        """The outcome of a task process that exited without writing one."""
        assert running.spec is not None
        spec = running.spec
        kind: OutcomeKind = OutcomeKind.FAULTY
        if running.stopped is OutcomeKind.WALLTIME:
            kind, error = running.stopped, f"walltime of {spec.walltime:g} s exceeded: killed"
        elif running.stopped is OutcomeKind.KILLED:
            kind, error = running.stopped, "killed on request"
        elif os.WIFSIGNALED(status):
            error = f"task process died (signal {os.WTERMSIG(status)})"
        else:
            error = f"task process exited with code {os.WEXITSTATUS(status)} before reporting"
        shutil.rmtree(spec.localspace, ignore_errors=True)  # the task could not clean up after itself
        died = TaskOutcome(spec.task_id, spec.execution, kind, error=error)
        died.started_at, died.finished_at = running.started_at, time.time()
        return outcome_to_json(died)

    def _report(self, outcome: dict[str, Any]) -> None:
        self.running = None
        self._send({"type": "done", "outcome": outcome})
        self.spare = self._fork()

    @staticmethod
    def _reap(pid: int, pidfd: int) -> int:
        _, status = os.waitpid(pid, 0)
        os.close(pidfd)
        return status

    def _send(self, message: dict[str, Any]) -> None:
        self.channel.send_bytes(json.dumps(message).encode())


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def kill_process_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (a task process: it called ``setsid``), if still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runyard.nodes.agent", description=__doc__)
    parser.add_argument("--channel-fd", type=int, required=True, help="inherited socket to the node source")
    parser.add_argument("--node", required=True, help="node name, e.g. local-1")
    parser.add_argument("--host", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--cachespace", required=True, help="node-wide cache folder")
    args = parser.parse_args(argv)
    os.makedirs(args.cachespace, exist_ok=True)
    # SIGTERM ends the agent through ``serve``'s cleanup, which kills the running task.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    node = NodeContext(name=args.node, host=args.host, url=args.url, cachespace=args.cachespace)
    Agent(Channel(socket.socket(fileno=args.channel_fd)), node).serve()


if __name__ == "__main__":
    main()

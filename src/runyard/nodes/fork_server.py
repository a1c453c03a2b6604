"""The node agent's fork server: a process forked from the agent once the agent is warm, idle between
forks, that forks the agent's task processes.

Why: after a ``fork`` every page of the parent is shared with the child until one of them writes it,
and each first write then costs a page copy (a fault of 4 to 6 µs on a virtual machine). An agent that
forks each task process itself pays one for every page it writes while serving the execution
(messages, buffers, its frames), ~230 per task; the fork server writes next to nothing between
forks, so that cost is gone, and the agent's own writes are copied once, after this fork.

The task processes are this server's children, not the agent's: the agent watches them through
pidfds (they work for any process), kills their process groups as before, and asks this server for
an exit status (``wait``) or to reap one whose status it does not need (``forget``). Messages go over
a ``SOCK_SEQPACKET`` socket pair (one request or answer a packet, the pipes of a new process as
``SCM_RIGHTS``). The server dies with the agent (``PR_SET_PDEATHSIG``), and the task processes with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import struct
import traceback
from collections import deque
from collections.abc import Callable
from typing import NoReturn

from runyard.errors import NodeError

_PR_SET_PDEATHSIG = 1
_PID = struct.Struct("!i")
_ANSWER_SIZE = 4096

#: In the new process: ``(request_pipe, outcome_pipe, reusable, sandboxed, jvm_folder)``, never returns.
ChildMain = Callable[[int, int, bool, bool, str | None], NoReturn]


class ForkServer:
    """The agent's end: ``fork`` a task process (or ``ask`` for one and ``take`` it later), ``wait`` for
    one's exit status, ``forget`` one. Answers come in the order of the requests."""

    def __init__(self, child_main: ChildMain, in_server: Callable[[], None] = lambda: None) -> None:
        """Fork the server now (the agent calls it once warm); ``in_server`` runs first in the server
        (the agent closes there what the server and its children must not hold: its channel)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        agent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the server process (its work shows in the agent's tests)
            code = 0
            try:
                ours.close()
                in_server()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
                if os.getppid() != agent:  # the agent died before the line above
                    os._exit(0)
                _serve(theirs, child_main)
            except BaseException:
                traceback.print_exc()
                code = 70
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)  # readable once the server has died
        self.sock = ours
        self.asked = 0  # processes asked for whose answer is not read yet
        self.forked: deque[tuple[int, int, int]] = deque()  # answers read before they were taken

    def ask(self, *, reusable: bool, sandboxed: bool = True, jvm_folder: str | None = None) -> None:
        """Ask for a new task process, without waiting for it (``take`` it later): the agent serves on
        while it is forked, whatever the load of the machine. One not ``sandboxed`` runs the platform's
        own code: it prepares no sandbox."""
        folder = b"" if jvm_folder is None else b"/" + os.fsencode(jvm_folder)
        self._send(b"F" + (b"1" if reusable else b"0") + (b"1" if sandboxed else b"0") + folder)
        self.asked += 1

    def take(self) -> tuple[int, int, int]:
        """The process asked for first and not yet taken (waiting for it if need be): its pid, the write
        end of its request pipe, the read end of its outcome pipe."""
        if not self.forked:
            self._read_forked()
        return self.forked.popleft()

    def fork(
        self, *, reusable: bool, sandboxed: bool = True, jvm_folder: str | None = None
    ) -> tuple[int, int, int]:
        """A new task process, once those asked for before are taken (``ask`` then ``take``)."""
        assert not self.asked and not self.forked, "a process asked for is still to be taken"
        self.ask(reusable=reusable, sandboxed=sandboxed, jvm_folder=jvm_folder)
        return self.take()

    def _read_forked(self) -> None:
        """Read the answer to the oldest ``ask``."""
        assert self.asked, "no process asked for"
        self.asked -= 1
        try:
            answer, fds, _, _ = socket.recv_fds(self.sock, _ANSWER_SIZE, 2)
        except OSError as error:
            raise NodeError(f"the node's fork server is gone: {error}") from None
        if len(answer) != _PID.size or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            raise NodeError(
                f"the node's fork server could not fork: {answer[_PID.size :].decode(errors='replace')}"
            )
        (pid,) = _PID.unpack(answer)
        self.forked.append((pid, fds[0], fds[1]))

    def wait(self, pid: int) -> int:
        """Reap ``pid`` (a process it forked that has exited, or is about to): its ``waitpid`` status."""
        while self.asked:  # their answers come first
            self._read_forked()
        self._send(b"W" + _PID.pack(pid))
        try:
            answer = self.sock.recv(_ANSWER_SIZE)
        except OSError as error:
            raise NodeError(f"the node's fork server is gone: {error}") from None
        if len(answer) != _PID.size:
            raise NodeError("the node's fork server is gone")
        (status,) = _PID.unpack(answer)
        return int(status)

    def forget(self, pid: int) -> None:
        """Let the server reap ``pid`` once it has exited; its status is not wanted."""
        self._send(b"R" + _PID.pack(pid))

    def close(self) -> None:
        """End the server (it exits at the end of its input); its task processes are the caller's to kill."""
        self.sock.close()
        os.close(self.pidfd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)

    def _send(self, message: bytes) -> None:
        try:
            self.sock.send(message)
        except OSError as error:
            raise NodeError(f"the node's fork server is gone: {error}") from None


def _serve(sock: socket.socket, child_main: ChildMain) -> None:  # pragma: no cover - in the server
    """Answer the agent's requests until it closes its end; reap forgotten children as they exit."""
    forgotten: dict[int, int] = {}  # pidfd -> pid
    while True:
        ready, _, _ = select.select([sock.fileno(), *forgotten], [], [])
        for pidfd in [fd for fd in ready if fd in forgotten]:
            os.waitpid(forgotten.pop(pidfd), 0)
            os.close(pidfd)
        if sock.fileno() not in ready:
            continue
        message = sock.recv(_ANSWER_SIZE)
        if not message:  # the agent is stopping: the processes it left are removing their localspace
            for pid in forgotten.values():
                os.waitpid(pid, 0)
            return
        kind, body = message[:1], message[1:]
        if kind == b"F":  # parsed by hand: every object the server touches is a page copied again
            jvm_folder = os.fsdecode(body[3:]) if body[2:] else None
            flags = (body[:1] == b"1", body[1:2] == b"1")
            try:
                _fork(sock, child_main, flags, jvm_folder, tuple(forgotten))
            except OSError as error:
                sock.send(b"?" * _PID.size + str(error).encode()[:1000])
        elif kind == b"W":
            (pid,) = _PID.unpack(body)
            try:
                status = os.waitpid(pid, 0)[1]
            except ChildProcessError:
                status = 0
            sock.send(_PID.pack(status))
        elif kind == b"R":
            (pid,) = _PID.unpack(body)
            try:
                forgotten[os.pidfd_open(pid)] = pid
            except ProcessLookupError:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)


def _fork(
    sock: socket.socket,
    child_main: ChildMain,
    flags: tuple[bool, bool],
    jvm_folder: str | None,
    pidfds: tuple[int, ...],
) -> None:  # pragma: no cover - in the server
    request_read, request_write = os.pipe()
    outcome_read, outcome_write = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                sock.close()
                for fd in (request_write, outcome_read, *pidfds):
                    os.close(fd)
                child_main(request_read, outcome_write, *flags, jvm_folder)
            except BaseException:  # ``child_main`` reports what it can
                code = 70
            finally:
                os._exit(code)
        socket.send_fds(sock, [_PID.pack(pid)], [request_write, outcome_read])
    finally:
        for fd in (request_read, request_write, outcome_read, outcome_write):
            os.close(fd)

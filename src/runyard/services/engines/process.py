"""The ``process`` engine: a service is a supervised local process group on the node.

``start_process`` hands the command to a detached supervisor (``supervisor.py``, in a session of its
own): killing the task that started it, its node agent or the server, even with SIGKILL, reaches
neither the supervisor nor the service. The reference of a service is its run folder, and everything
``ProcessEngine`` needs is in the files there (``state.json``, ``output.log``, ``output.marks``), so a
restarted server or a new ``ProcessEngine`` adopts the services it finds without any memory of them.
Process ids are checked against their start time, so a recycled pid is never taken for the service.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil

from runyard.errors import ConflictError, InvalidRequestError, NotFoundError
from runyard.services.engines import RunState, ServiceError, ServiceStartError, supervisor
from runyard.services.engines.supervisor import (
    KILL_WAIT,
    LOG_FILE,
    MARKS_FILE,
    STATE_FILE,
    SUPERVISOR_LOG,
    ServiceRecord,
    end_group,
    group_members,
    is_alive,
    live_stat,
    read_state,
    session_members,
    signal_group,
    wait_for_exit,
    wait_until,
)

#: How long the supervisor may take to start the service and answer (a loaded node starts Python slowly).
START_TIMEOUT = 30.0
#: How long a SIGSTOP or SIGCONT may take to show in the state of the service.
_SIGNAL_WAIT = 2.0
_LIVE = (RunState.RUNNING, RunState.PAUSED)


def start_process(
    name: str,
    argv: Sequence[str],
    run_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stop_timeout: float = 10.0,
    stop_signal: int = signal.SIGTERM,
) -> str:
    """Start ``argv`` as a supervised process group and return its reference (``run_dir``, resolved).

    ``env`` replaces the environment (``None``: this process's); ``cwd`` defaults to ``run_dir``, as the
    starting task's folder may be cleaned up while the service runs. A stop sends ``stop_signal`` and
    waits ``stop_timeout`` seconds before SIGKILL. The command must stay in the foreground: when it ends, the
    supervisor ends what is left of its group. Refuses a ``run_dir`` that holds a live service.
    """
    command = list(argv)
    if not command:
        raise InvalidRequestError(f"service {name!r}: the command is empty")
    run_dir.mkdir(parents=True, exist_ok=True)
    ref = str(run_dir.resolve())
    spec = {
        "argv": command,
        "run_dir": ref,
        "cwd": str(cwd.resolve()) if cwd is not None else ref,
        "env": dict(env) if env is not None else None,
        "stop_timeout": stop_timeout,
        "stop_signal": int(stop_signal),
    }
    with _start_lock(run_dir):
        _refuse_live(ref)
        (run_dir / STATE_FILE).unlink(missing_ok=True)
        answer = _run_supervisor(name, spec, run_dir)
    if "error" in answer:
        raise ServiceStartError(f"cannot start service {name!r} ({shlex.join(command)}): {answer['error']}")
    return ref


@contextmanager
def _start_lock(run_dir: Path) -> Iterator[None]:
    """Serialize starts in one run folder, so two cannot both find it free."""
    with open(run_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _refuse_live(ref: str) -> None:
    record = read_state(ref)
    if record is None:
        return
    state = ProcessEngine().state(ref)
    if state in _LIVE:
        raise ConflictError(f"{ref} already holds a live service ({record['name']}, {state}): stop it first")
    if is_alive(record["supervisor_pid"], record["supervisor_ticks"]):
        raise ConflictError(f"{ref}: the supervisor of {record['name']} is still ending it, try again soon")


def _run_supervisor(name: str, spec: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Start the supervisor, send it ``spec``, return its answer: ``{"pid": ...}`` or ``{"error": ...}``."""
    ours, theirs = socket.socketpair()
    fd = theirs.fileno()
    command = [sys.executable, "-m", supervisor.__name__, "--channel-fd", str(fd), "--name", name]
    with ours:
        with theirs, open(run_dir / SUPERVISOR_LOG, "ab") as log:
            starter = subprocess.Popen(
                command,
                pass_fds=[fd],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=run_dir,
                start_new_session=True,  # out of reach of signals to the starting task's group
            )
        ours.settimeout(START_TIMEOUT)
        try:
            starter.wait(START_TIMEOUT)  # it forks the supervisor proper and exits at once
            ours.sendall(json.dumps(spec).encode())
            ours.shutdown(socket.SHUT_WR)
            answer = supervisor.receive(ours)
        except (TimeoutError, subprocess.TimeoutExpired) as error:
            starter.kill()
            starter.wait()
            raise ServiceStartError(
                f"service {name!r}: its supervisor did not answer within {START_TIMEOUT:g} s "
                f"(see {run_dir / SUPERVISOR_LOG})"
            ) from error
    if not answer:
        raise ServiceStartError(
            f"service {name!r}: its supervisor ended without answering (see {run_dir / SUPERVISOR_LOG})"
        )
    result: dict[str, Any] = json.loads(answer)
    return result


class ProcessEngine:
    """Controls services started by ``start_process``, knowing nothing but their run folders."""

    name = "process"

    def state(self, ref: str) -> RunState:
        record = read_state(ref)
        if record is None:
            return RunState.MISSING
        stat = live_stat(record["pid"], record["ticks"])
        if record["exit_code"] is not None or stat is None:
            return RunState.EXITED
        return RunState.PAUSED if stat.state == "T" else RunState.RUNNING

    def listens(self, ref: str, port: int) -> bool:
        """Whether a live process of the service's session listens on TCP ``port`` (any address). A
        connection to the port is not enough: between its reservation and the service's bind, another
        program may take the port, and its answer is not the service's."""
        record = read_state(ref)
        if record is None or self.state(ref) not in _LIVE:
            return False
        for pid in session_members(record["sid"]):
            with suppress(psutil.Error):
                for connection in psutil.Process(pid).net_connections("inet"):
                    if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                        return True
        return False

    def pause(self, ref: str) -> None:
        """SIGSTOP the whole group; returns once the service shows as stopped."""
        record = self._live_record(ref, "paused")
        signal_group(record["pgid"], record["sid"], signal.SIGSTOP)
        wait_until(lambda: self.state(ref) != RunState.RUNNING, _SIGNAL_WAIT)

    def resume(self, ref: str) -> None:
        record = self._live_record(ref, "resumed")
        signal_group(record["pgid"], record["sid"], signal.SIGCONT)
        wait_until(lambda: self.state(ref) != RunState.PAUSED, _SIGNAL_WAIT)

    def stop(self, ref: str) -> None:
        """Have the supervisor stop the group, or stop it here when the supervisor is gone; returns once
        nothing of the group remains (at most ``stop_timeout`` plus a few seconds). The files stay."""
        record = read_state(ref)
        if record is None:
            return
        supervisor_pid, ticks = record["supervisor_pid"], record["supervisor_ticks"]
        if is_alive(supervisor_pid, ticks):
            with suppress(ProcessLookupError):
                os.kill(supervisor_pid, signal.SIGTERM)
            wait_for_exit(supervisor_pid, ticks, record["stop_timeout"] + KILL_WAIT + 1)
        pgid, sid = record["pgid"], record["sid"]
        if not end_group(pgid, sid, record["stop_timeout"]):
            raise ServiceError(f"{ref}: processes {group_members(pgid, sid)} of the service survive SIGKILL")

    def logs(self, ref: str, since: float | None = None) -> str:
        """The service's output; with ``since``, from the line being written at that time on (to within
        ``supervisor.MARK_INTERVAL``: a little earlier output may come too, later output never lacks)."""
        run_dir = Path(ref)
        try:
            data = (run_dir / LOG_FILE).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError(f"no service output in {ref}") from None
        offset = 0 if since is None else _offset_at(run_dir / MARKS_FILE, since)
        start = data.rfind(b"\n", 0, offset) + 1
        return data[start:].decode(errors="replace")

    def _live_record(self, ref: str, action: str) -> ServiceRecord:
        record = read_state(ref)
        if record is None:
            raise NotFoundError(f"no service in {ref}")
        state = self.state(ref)
        if state not in _LIVE:
            raise ConflictError(f"the service in {ref} is {state}: it cannot be {action}")
        return record


def _offset_at(marks: Path, since: float) -> int:
    """Size of the log at the last mark taken no later than ``since``: what follows came after it."""
    try:
        lines = marks.read_text(encoding="ascii").split("\n")[:-1]  # the last one may be half-written
    except FileNotFoundError:
        return 0
    offset = 0
    for line in lines:
        when, size = line.split()
        if float(when) > since:
            break
        offset = int(size)
    return offset

"""The detached process that starts, watches and stops one service of the process engine.

``process.start_process`` runs ``python -m runyard.services.engines.supervisor --channel-fd N --name NAME``
in a new session. The supervisor forks at once so that it is nobody's child (the starter reaps the
parent), reads the launch spec (JSON) from the channel, starts the service in a process group of its
own with stdout and stderr appended to ``output.log``, writes ``state.json`` and answers on the channel.
Then it waits for the service to end, or for SIGTERM: it stops the group (SIGTERM and SIGCONT, SIGKILL
after ``stop_timeout``). Either way it ends what is left of the group, reaps the service and records its
exit code.

The service never depends on the supervisor: its output goes to a file, not through a pipe, so a
supervisor killed with SIGKILL leaves it running and ``ProcessEngine`` stops the group itself from the
files in the run folder. This module also holds that file format and the ``/proc`` helpers both sides
use; it imports only light standard modules because it starts with every service.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TypedDict, cast

STATE_FILE = "state.json"
LOG_FILE = "output.log"
#: Lines ``<epoch seconds> <size of output.log>``: when the log had which size (see ``LogMarks``).
MARKS_FILE = "output.marks"
SUPERVISOR_LOG = "supervisor.log"

#: How often the supervisor records the size of the log (the precision of ``logs(since=...)``).
MARK_INTERVAL = 1.0
#: How long a group may take to vanish after SIGKILL.
KILL_WAIT = 5.0
_POLL = 0.02


class ServiceRecord(TypedDict):
    """The content of ``state.json``: everything needed to find the service again after a restart."""

    name: str
    argv: list[str]
    supervisor_pid: int
    supervisor_ticks: int  # start time in clock ticks since boot (field 22 of /proc/<pid>/stat)
    pid: int
    ticks: int
    pgid: int
    sid: int
    started_at: float
    stop_timeout: float
    stop_signal: int  # what asks the service to stop (PostgreSQL: SIGINT, its fast shutdown)
    exit_code: int | None  # Popen's convention: -N when killed by signal N
    ended_at: float | None


class ProcStat(NamedTuple):
    state: str  # R, S, D, T (stopped), Z (zombie)...
    pgrp: int
    session: int
    start_ticks: int


def proc_stat(pid: int) -> ProcStat | None:
    """``/proc/<pid>/stat`` of ``pid`` (zombies included), ``None`` when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            text = file.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(b")") + 2 :].split()  # the command (field 2) may hold spaces and ")"
    return ProcStat(fields[0].decode(), int(fields[2]), int(fields[3]), int(fields[19]))


def live_stat(pid: int, ticks: int) -> ProcStat | None:
    """``proc_stat`` of ``pid`` if it still runs and is the process that started at ``ticks`` (not a
    later process that reuses its pid)."""
    stat = proc_stat(pid)
    return stat if stat is not None and stat.state not in "ZX" and stat.start_ticks == ticks else None


def is_alive(pid: int, ticks: int) -> bool:
    return live_stat(pid, ticks) is not None


def group_members(pgid: int, sid: int) -> list[int]:
    """Live processes of group ``pgid``; ``sid`` tells it from a later group that reuses the number."""
    return _live_processes(lambda stat: (stat.pgrp, stat.session) == (pgid, sid))


def session_members(sid: int) -> list[int]:
    """Live processes of session ``sid``: a service's processes, the groups it made included."""
    return _live_processes(lambda stat: stat.session == sid)


def _live_processes(chosen: Callable[[ProcStat], bool]) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None and stat.state not in "ZX" and chosen(stat):
                members.append(int(entry))
    return members


def signal_group(pgid: int, sid: int, signum: int) -> None:
    if group_members(pgid, sid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signum)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds (``True``) or ``timeout`` seconds passed (``False``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


def wait_for_exit(pid: int, ticks: int, timeout: float) -> bool:
    """Wait until the process ``pid`` that started at ``ticks`` has ended (``True``), at most ``timeout``
    seconds (``False``). It need not be a child: a pidfd tells the moment it exits (no polling delay);
    where none can be opened, its ``/proc`` entry is polled."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except OSError:  # no pidfd here (an old kernel, a seccomp filter)
        return wait_until(lambda: not is_alive(pid, ticks), timeout)
    try:
        # Opened first, checked then: the pidfd is of the process that started at ``ticks``, not of a
        # later one that took its pid.
        if not is_alive(pid, ticks):
            return True
        return bool(select.select([pidfd], [], [], max(0.0, timeout))[0]) or not is_alive(pid, ticks)
    finally:
        os.close(pidfd)


def end_group(pgid: int, sid: int, grace: float) -> bool:
    """SIGTERM what is left of the group, SIGKILL it after ``grace`` seconds; ``True`` once it is gone.

    SIGCONT follows SIGTERM because a paused process only acts on SIGTERM once it runs again.
    """

    def gone() -> bool:
        return not group_members(pgid, sid)

    if gone():
        return True
    signal_group(pgid, sid, signal.SIGTERM)
    signal_group(pgid, sid, signal.SIGCONT)
    if wait_until(gone, grace):
        return True
    signal_group(pgid, sid, signal.SIGKILL)
    return wait_until(gone, KILL_WAIT)


def read_state(run_dir: str) -> ServiceRecord | None:
    try:
        with open(os.path.join(run_dir, STATE_FILE), encoding="utf-8") as file:
            return cast(ServiceRecord, json.load(file))
    except (FileNotFoundError, NotADirectoryError):
        return None


def write_state(run_dir: str, record: ServiceRecord) -> None:
    """Replace ``state.json`` atomically: a reader sees the old record or the new one, never half."""
    path = os.path.join(run_dir, STATE_FILE)
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        json.dump(record, file)
    os.replace(path + ".tmp", path)


class LogMarks:
    """Appends ``<time> <size>`` to ``output.marks`` when the log grew: every byte past ``size`` was
    written after ``time``. The service writes its log itself (no pipe through the supervisor), so
    this is how ``logs(since=...)`` finds where to start, to within ``MARK_INTERVAL``."""

    def __init__(self, run_dir: str) -> None:
        self._log = os.path.join(run_dir, LOG_FILE)
        self._marks = os.path.join(run_dir, MARKS_FILE)
        self._size = -1

    def update(self) -> None:
        try:
            size = os.stat(self._log).st_size
        except FileNotFoundError:  # someone removed it: the service goes on, so does its supervisor
            return
        if size != self._size:
            now = time.time()  # read after the size: bytes before ``size`` were written before ``now``
            with open(self._marks, "a", encoding="ascii") as file:
                file.write(f"{now:.3f} {size}\n")
            self._size = size


class _Signals:
    """SIGTERM asks for a stop; SIGTERM and SIGCHLD wake ``sleep`` through a self-pipe."""

    def __init__(self) -> None:
        self.stop_requested = False
        self._wake, write_end = os.pipe()
        os.set_blocking(write_end, False)
        signal.set_wakeup_fd(write_end)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGCHLD})  # a starter's mask stays
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wakeup fd is written

    def _on_term(self, *_: object) -> None:
        self.stop_requested = True

    def sleep(self, timeout: float) -> None:
        if select.select([self._wake], [], [], timeout)[0]:
            os.read(self._wake, 512)


def _launch(spec: dict[str, Any], name: str) -> tuple[subprocess.Popen[bytes], ServiceRecord]:
    run_dir: str = spec["run_dir"]
    with open(os.path.join(run_dir, LOG_FILE), "ab") as log:
        service = subprocess.Popen(
            spec["argv"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=spec["cwd"],
            env=spec["env"],
            process_group=0,
        )
    me = proc_stat(os.getpid())
    started = proc_stat(service.pid)  # a zombie still has it, should the service have ended already
    assert me is not None and started is not None
    record = ServiceRecord(
        name=name,
        argv=spec["argv"],
        supervisor_pid=os.getpid(),
        supervisor_ticks=me.start_ticks,
        pid=service.pid,
        ticks=started.start_ticks,
        pgid=service.pid,
        sid=os.getsid(0),
        started_at=time.time(),
        stop_timeout=spec["stop_timeout"],
        stop_signal=spec["stop_signal"],
        exit_code=None,
        ended_at=None,
    )
    write_state(run_dir, record)
    return service, record


def _watch(
    service: subprocess.Popen[bytes], record: ServiceRecord, run_dir: str, marks: LogMarks, signals: _Signals
) -> None:
    while service.poll() is None and not signals.stop_requested:
        marks.update()
        signals.sleep(MARK_INTERVAL)
    pgid, sid, timeout = record["pgid"], record["sid"], record["stop_timeout"]
    deadline = time.monotonic() + timeout
    if service.poll() is None:
        # The service is this process's child, not reaped yet: its pid, the group's number, cannot have
        # been taken by another group, so the group is signalled without looking it up in /proc.
        for signum in (record["stop_signal"], signal.SIGCONT):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signum)
        # SIGCHLD wakes the sleep: the end is seen when it happens (Popen.wait polls up to 50 ms apart).
        while service.poll() is None and (left := deadline - time.monotonic()) > 0:
            signals.sleep(left)
        if service.poll() is None:
            signal_group(pgid, sid, signal.SIGKILL)
            service.wait()
    end_group(pgid, sid, max(0.0, deadline - time.monotonic()))  # what the service left behind
    marks.update()
    record["exit_code"] = service.returncode
    record["ended_at"] = time.time()
    write_state(run_dir, record)


def receive(channel: socket.socket) -> bytes:
    """All the peer sends until it shuts its end down."""
    chunks = []
    while chunk := channel.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runyard.services.engines.supervisor")
    parser.add_argument("--channel-fd", type=int, required=True, help="socket to the starter")
    parser.add_argument("--name", required=True, help="the service's name (shown by ps)")
    args = parser.parse_args(argv)
    if os.fork() > 0:
        os._exit(0)
    signals = _Signals()
    with socket.socket(fileno=args.channel_fd) as channel:
        spec = json.loads(receive(channel))
        try:
            service, record = _launch(spec, args.name)
        except (OSError, ValueError) as error:
            channel.sendall(json.dumps({"error": str(error)}).encode())
            return
        marks = LogMarks(spec["run_dir"])
        marks.update()  # where this run's output starts, before anyone can ask for it
        try:
            channel.sendall(json.dumps({"pid": service.pid}).encode())
        except OSError:  # the starter gave up waiting: nobody will ever know this service, stop it
            signals.stop_requested = True
    _watch(service, record, spec["run_dir"], marks, signals)
    # Its end is recorded: exit now. A stop waits for this process to be gone, and the interpreter's
    # own shutdown (module teardown, collection) would take 10-25 ms more for nothing left to do.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

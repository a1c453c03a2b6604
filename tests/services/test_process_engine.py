"""The process engine with real processes: start, state, pause, stop, logs, and re-adoption after the
death of whatever started the service or supervises it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from runyard.errors import ConflictError
from runyard.services.engines import RunState, ServiceStartError, engine_for
from runyard.services.engines.process import ProcessEngine, start_process
from runyard.services.engines.supervisor import (
    MARKS_FILE,
    ServiceRecord,
    group_members,
    is_alive,
    proc_stat,
    read_state,
    wait_for_exit,
    wait_until,
    write_state,
)
from runyard.services.ports import free_port, wait_for_port

SLEEPER = ["sleep", "60"]


class Start(Protocol):
    def __call__(self, argv: list[str], *, cwd: Path | None = None, stop_timeout: float = 10.0) -> str: ...


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """``start_process`` in a fresh run folder under ``tmp_path``; every service is stopped afterwards."""
    refs: list[str] = []

    def starter(argv: list[str], *, cwd: Path | None = None, stop_timeout: float = 10.0) -> str:
        ref = start_process("svc", argv, tmp_path / f"run-{len(refs)}", cwd=cwd, stop_timeout=stop_timeout)
        refs.append(ref)
        return ref

    yield starter
    for ref in refs:
        ProcessEngine().stop(ref)


def record(ref: str) -> ServiceRecord:
    found = read_state(ref)
    assert found is not None
    return found


def group_gone(ref: str) -> bool:
    return not group_members(record(ref)["pgid"], record(ref)["sid"])


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    assert wait_until(condition, timeout), "the condition did not come true in time"


def test_a_started_service_runs_and_its_output_is_kept(start: Start) -> None:
    engine = engine_for("process")
    ref = start(
        [
            sys.executable,
            "-c",
            "import sys, time; print('out'); print('err', file=sys.stderr); time.sleep(60)",
        ]
    )
    assert engine.state(ref) == RunState.RUNNING
    eventually(lambda: "out\n" in engine.logs(ref) and "err\n" in engine.logs(ref))


def test_an_http_service_answers_on_its_port(start: Start, tmp_path: Path) -> None:
    port = free_port()
    ref = start([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path)
    wait_for_port("127.0.0.1", port, timeout=4)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as answer:
        assert answer.status == 200
    eventually(lambda: "GET / " in ProcessEngine().logs(ref))
    # Its own listener counts; another program's does not.
    with socket.create_server(("127.0.0.1", 0)) as other:
        assert ProcessEngine().listens(ref, port)
        assert not ProcessEngine().listens(ref, other.getsockname()[1])
    ProcessEngine().stop(ref)
    assert not ProcessEngine().listens(ref, port)


def test_logs_since_a_time_leave_out_earlier_lines(start: Start, tmp_path: Path) -> None:
    engine = ProcessEngine()
    go = tmp_path / "go"
    code = (
        f"import os, time\nprint('first', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\nprint('second')"
    )
    ref = start([sys.executable, "-c", code])
    marks = Path(ref) / MARKS_FILE
    eventually(lambda: marks.read_text().endswith(" 6\n"))  # the supervisor saw 'first\n' written
    since = time.time()
    go.touch()
    eventually(lambda: "second" in engine.logs(ref))
    assert engine.logs(ref, since) == "second\n"
    assert engine.logs(ref, since - 60) == "first\nsecond\n"
    assert engine.logs(ref) == "first\nsecond\n"


def test_a_killed_service_is_exited_with_its_exit_code(start: Start) -> None:
    engine = ProcessEngine()
    ref = start(SLEEPER)
    os.kill(record(ref)["pid"], signal.SIGKILL)
    eventually(lambda: engine.state(ref) == RunState.EXITED)
    eventually(lambda: record(ref)["exit_code"] == -signal.SIGKILL)


def test_a_service_that_ends_leaves_nothing_of_its_group(start: Start) -> None:
    ref = start(["sh", "-c", "sleep 60 & exit 3"], stop_timeout=1.0)
    eventually(lambda: record(ref)["exit_code"] == 3)
    assert group_gone(ref)
    assert ProcessEngine().state(ref) == RunState.EXITED


def test_pause_and_resume_stop_and_continue_the_group(start: Start) -> None:
    engine = ProcessEngine()
    ref = start(SLEEPER)
    engine.pause(ref)
    assert engine.state(ref) == RunState.PAUSED
    engine.resume(ref)
    assert engine.state(ref) == RunState.RUNNING


def test_stop_ends_the_whole_group_even_paused_and_twice(start: Start) -> None:
    engine = ProcessEngine()
    ref = start(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    eventually(lambda: len(group_members(record(ref)["pgid"], record(ref)["sid"])) == 3)
    engine.pause(ref)
    engine.stop(ref)
    assert engine.state(ref) == RunState.EXITED
    assert group_gone(ref)
    engine.stop(ref)
    with pytest.raises(ConflictError, match="EXITED"):
        engine.pause(ref)


def test_stop_kills_a_service_that_ignores_sigterm_after_the_timeout(start: Start) -> None:
    ref = start(["sh", "-c", "trap '' TERM; sleep 60"], stop_timeout=0.5)
    began = time.monotonic()
    ProcessEngine().stop(ref)
    assert 0.5 <= time.monotonic() - began < 3
    assert group_gone(ref)
    assert record(ref)["exit_code"] == -signal.SIGKILL


def test_the_service_outlives_its_starter_and_is_adopted_by_a_new_engine(tmp_path: Path) -> None:
    code = (
        "import sys, time\nfrom pathlib import Path\n"
        "from runyard.services.engines.process import start_process\n"
        "print(start_process('svc', ['sleep', '60'], Path(sys.argv[1])), flush=True)\ntime.sleep(60)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "run")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as starter:
        assert starter.stdout is not None
        ref = starter.stdout.readline().strip()
        os.killpg(starter.pid, signal.SIGKILL)  # the task and its whole process group
    assert ref, "the starter printed no reference"
    try:
        engine = ProcessEngine()
        assert engine.state(ref) == RunState.RUNNING
        engine.stop(ref)
        assert engine.state(ref) == RunState.EXITED
        assert group_gone(ref)
    finally:
        ProcessEngine().stop(ref)


def test_the_service_outlives_its_supervisor_and_stop_still_ends_it(start: Start) -> None:
    engine = ProcessEngine()
    ref = start(["sh", "-c", "sleep 60 & sleep 60"])
    supervisor = record(ref)["supervisor_pid"], record(ref)["supervisor_ticks"]
    os.kill(supervisor[0], signal.SIGKILL)
    eventually(lambda: not is_alive(*supervisor))
    assert engine.state(ref) == RunState.RUNNING
    engine.stop(ref)
    assert engine.state(ref) == RunState.EXITED
    assert group_gone(ref)


def test_a_recycled_pid_is_not_taken_for_the_service(start: Start) -> None:
    """A record whose pids now belong to another process: the engine neither reports it nor stops it."""
    ref = start(SLEEPER)
    ProcessEngine().stop(ref)
    stranger = subprocess.Popen(SLEEPER, process_group=0)
    try:
        stale = record(ref)  # its start times are not the stranger's; nor is its session
        stale["exit_code"] = None
        stale["supervisor_pid"] = stale["pid"] = stale["pgid"] = stranger.pid
        stale["sid"] = os.getsid(stranger.pid) + 1
        write_state(ref, stale)
        assert ProcessEngine().state(ref) == RunState.EXITED
        ProcessEngine().stop(ref)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_an_unknown_run_folder_is_missing(tmp_path: Path) -> None:
    engine = ProcessEngine()
    assert engine.state(str(tmp_path / "nothing")) == RunState.MISSING
    engine.stop(str(tmp_path / "nothing"))


def test_a_command_that_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServiceStartError, match=r"'db' \(no-such-command -p 5432\).*No such file"):
        start_process("db", ["no-such-command", "-p", "5432"], tmp_path / "run")
    assert ProcessEngine().state(str(tmp_path / "run")) == RunState.MISSING


def test_a_run_folder_with_a_live_service_is_refused(start: Start, tmp_path: Path) -> None:
    ref = start(SLEEPER)
    with pytest.raises(ConflictError, match="already holds a live service"):
        start_process("again", SLEEPER, Path(ref))
    ProcessEngine().stop(ref)
    assert start_process("again", ["true"], Path(ref)) == ref
    eventually(lambda: record(ref)["exit_code"] == 0)


def test_wait_for_exit_returns_when_the_process_ends_not_at_its_timeout() -> None:
    with subprocess.Popen(["sleep", "0.2"]) as ending:
        stat = proc_stat(ending.pid)
        assert stat is not None
        began = time.monotonic()
        assert wait_for_exit(ending.pid, stat.start_ticks, 30)
        assert time.monotonic() - began < 10


def test_wait_for_exit_says_when_the_process_outlives_its_timeout() -> None:
    with subprocess.Popen(SLEEPER) as sleeper:
        try:
            stat = proc_stat(sleeper.pid)
            assert stat is not None
            assert not wait_for_exit(sleeper.pid, stat.start_ticks, 0.1)
        finally:
            sleeper.kill()


def test_wait_for_exit_takes_a_recycled_pid_for_an_ended_process() -> None:
    """The process that started at other ticks is not the one waited for: that one has ended."""
    with subprocess.Popen(SLEEPER) as stranger:
        try:
            stat = proc_stat(stranger.pid)
            assert stat is not None
            assert wait_for_exit(stranger.pid, stat.start_ticks - 1, 30)
            assert stranger.poll() is None
        finally:
            stranger.kill()

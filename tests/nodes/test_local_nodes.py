"""``LocalNodeSource`` and its agents: events, kills, walltime, dead agents, no orphan processes."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from runyard.errors import NodeError
from runyard.model import Script, SelectionScript, SelectionType
from runyard.nodes.local import LocalNodeSource
from runyard.nodes.messages import outcome_to_json
from runyard.nodes.protocol import NodeDown, NodeUp, OutcomeKind, TaskOutcome, TaskSpec, TaskStarted
from support.nodes import Events, SpecFactory


def wait_for_file(path: Path, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} was not written within {timeout} s")


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether ``pid`` has exited (zombies count as gone) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def test_nodes_come_up_and_run_a_task(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    names = [node.name for node in local_nodes.nodes()]
    assert names == ["local-1", "local-2"]
    assert [node.url for node in local_nodes.nodes()] == [
        "local://testhost/local-1",
        "local://testhost/local-2",
    ]
    assert all(node.alive and node.source == "local" for node in local_nodes.nodes())
    assert sorted(e.node.name for e in events.seen if isinstance(e, NodeUp)) == names
    spec = make_spec("print('hello', variables['NAME'])\nresult = variables['PA_JOB_ID'] + '!'")
    local_nodes.run("local-2", spec)
    done = events.done(spec.task_id)
    assert done.node == "local-2"
    assert done.outcome.kind is OutcomeKind.FINISHED
    assert done.outcome.result_json == "7!"
    assert isinstance(done.outcome.result, bytes)
    started = [e for e in events.seen if isinstance(e, TaskStarted)]
    assert [(e.node, e.task_id, e.execution) for e in started] == [("local-2", spec.task_id, 1)]
    assert Path(spec.log_path).read_text() == "hello world\n"


def test_sequential_tasks_on_one_node(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    for number in range(5):
        spec = make_spec(f"result = {number}")
        local_nodes.run("local-1", spec)
        assert events.done(spec.task_id).outcome.result_json == number


def test_busy_unknown_and_walltime(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, tmp_path: Path
) -> None:
    pid_file = tmp_path / "sleep.pid"
    spec = make_spec(Script(language="bash", code=f"sleep 60 & echo $! > {pid_file}\nwait"), walltime=1.0)
    local_nodes.run("local-1", spec)
    sleeper = int(wait_for_file(pid_file))
    with pytest.raises(NodeError, match="node local-1 is already running task"):
        local_nodes.run("local-1", make_spec())
    with pytest.raises(NodeError, match="no node 'local-9'"):
        local_nodes.run("local-9", make_spec())
    outcome = events.done(spec.task_id).outcome
    assert outcome.kind is OutcomeKind.WALLTIME
    assert outcome.error == "walltime of 1 s exceeded: killed"
    assert gone(sleeper), "the task's subprocess survived the walltime kill"


def test_kill(local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    spec = make_spec(f"import time\nopen({str(marker)!r}, 'w').close()\ntime.sleep(60)")
    local_nodes.run("local-2", spec)
    wait_for_file_exists(marker)
    local_nodes.kill("local-2", "other-task", 1)  # not running there: ignored
    local_nodes.kill("local-2", spec.task_id, spec.execution)
    outcome = events.done(spec.task_id).outcome
    assert (outcome.kind, outcome.error) == (OutcomeKind.KILLED, "killed on request")
    after = make_spec("result = 'next'")
    local_nodes.run("local-2", after)
    assert events.done(after.task_id).outcome.result_json == "next"


def test_a_kill_sent_right_after_the_run_ends_the_task(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    """The kill may reach the agent before the fresh task process has made its process group: it
    must still end it (it once ran on, its node busy, until the task ended by itself)."""
    for _ in range(8):
        spec = make_spec("import time\ntime.sleep(60)")
        local_nodes.run("local-1", spec)
        local_nodes.kill("local-1", spec.task_id, spec.execution)
        outcome = events.done(spec.task_id, timeout=10).outcome
        assert (outcome.kind, outcome.error) == (OutcomeKind.KILLED, "killed on request")


PLATFORM_MODULES = (
    "import os, sys\n"
    "result = [sorted(m for m in ('docker', 'runyard.appengine.runner') if m in sys.modules), os.getppid()]"
)


def test_the_platforms_own_code_starts_with_its_modules_and_users_tasks_never_get_them(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    """The platform's code (an App Engine runner) is forked by a fork server of its own, made once, that
    imported what it needs; users' tasks, before, between and after, come from the other one, without
    them (their forks would copy 16 MiB more of page tables)."""
    agent = psutil.Process(local_nodes.agent_pid("local-1"))
    parents: dict[str, set[int]] = {"users": set(), "platform": set()}
    for _ in range(3):
        users = make_spec(PLATFORM_MODULES)
        local_nodes.run("local-1", users)
        modules, parent = events.done(users.task_id).outcome.result_json
        assert modules == []
        parents["users"].add(parent)
        runner = make_spec(PLATFORM_MODULES, platform=True)
        local_nodes.run("local-1", runner)
        outcome = events.done(runner.task_id).outcome
        assert outcome.result_json is not None, outcome.error
        modules, parent = outcome.result_json
        assert modules == ["docker", "runyard.appengine.runner"]
        parents["platform"].add(parent)
    assert len(parents["users"]) == len(parents["platform"]) == 1
    assert parents["users"] != parents["platform"]
    assert {child.pid for child in agent.children()} >= parents["users"] | parents["platform"]
    sleeper = make_spec("import time\ntime.sleep(60)", platform=True)
    local_nodes.run("local-1", sleeper)
    events.wait(lambda e: isinstance(e, TaskStarted) and e.task_id == sleeper.task_id)
    local_nodes.kill("local-1", sleeper.task_id, sleeper.execution)
    assert events.done(sleeper.task_id, timeout=10).outcome.kind is OutcomeKind.KILLED
    _still_serving(local_nodes, events, make_spec, agent.pid)


def wait_for_file_exists(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not created within {timeout} s"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("import os\nos._exit(3)", "task process exited with code 3 before reporting"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "task process died (signal 9)"),
    ],
)
def test_task_process_dying(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, code: str, error: str
) -> None:
    spec = make_spec(code)
    local_nodes.run("local-1", spec)
    outcome = events.done(spec.task_id).outcome
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAULTY, error)


def test_static_selection_cache_survives_forks(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    code = f"with open({str(counter)!r}, 'a') as f:\n    f.write(nodename + ' ')\nselected = True"
    selection = [SelectionScript(Script(language="cpython", code=code), SelectionType.STATIC)]
    for node in ("local-1", "local-1", "local-2", "local-1", "local-2"):
        spec = make_spec(selection=selection)
        local_nodes.run(node, spec)
        assert events.done(spec.task_id).outcome.kind is OutcomeKind.FINISHED
    assert counter.read_text() == "local-1 local-2 "


def test_killed_agent_means_node_down_no_orphan_and_a_restart(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, tmp_path: Path
) -> None:
    pid_file = tmp_path / "sleep.pid"
    spec = make_spec(Script(language="bash", code=f"sleep 60 & echo $! > {pid_file}\nwait"))
    local_nodes.run("local-1", spec)
    sleeper = int(wait_for_file(pid_file))
    down_pid = local_nodes.agent_pid("local-1")
    os.kill(down_pid, signal.SIGKILL)
    down = events.wait(lambda e: isinstance(e, NodeDown))
    assert down == NodeDown("local-1", "node agent killed by signal 9")
    assert gone(sleeper), "the task's subprocess survived its agent"
    assert [node.alive for node in local_nodes.nodes()] == [False, True]
    with pytest.raises(NodeError, match="node local-1 is down"):
        local_nodes.run("local-1", make_spec())
    still = make_spec("result = 2")
    local_nodes.run("local-2", still)
    assert events.done(still.task_id).outcome.result_json == 2
    events.wait(lambda e: sum(isinstance(x, NodeUp) and x.node.name == "local-1" for x in events.seen) == 2)
    assert local_nodes.agent_pid("local-1") != down_pid
    again = make_spec("result = 3")
    local_nodes.run("local-1", again)
    assert events.done(again.task_id).outcome.result_json == 3


def test_stop_leaves_no_process(tmp_path: Path, events: Events, make_spec: SpecFactory) -> None:
    source = LocalNodeSource(2, tmp_path / "nodes")
    source.start(events)
    pid_file = tmp_path / "sleep.pid"
    source.run("local-1", make_spec(Script(language="bash", code=f"sleep 60 & echo $! > {pid_file}\nwait")))
    sleeper = int(wait_for_file(pid_file))
    agents = [source.agent_pid(node.name) for node in source.nodes()]
    descendants = [p.pid for pid in agents for p in psutil.Process(pid).children(recursive=True)]
    assert sleeper in descendants
    assert len(descendants) >= 4  # the running task, its bash, sleep, and spare task processes
    source.stop()
    for pid in [*agents, *descendants]:
        assert gone(pid, timeout=5.0), f"process {pid} outlived stop()"
    assert not any(isinstance(e, NodeDown) for e in events.seen)


def test_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(NodeError, match="at least one node"):
        LocalNodeSource(0, tmp_path)


@pytest.mark.parametrize("fork", [True, False])
def test_agent_keeps_no_descriptor_or_process_per_task(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, fork: bool
) -> None:
    agent = psutil.Process(local_nodes.agent_pid("local-1"))

    def run_tasks(count: int) -> None:
        for _ in range(count):
            spec = make_spec("print('x')", fork=fork)
            local_nodes.run("local-1", spec)
            assert events.done(spec.task_id).outcome.kind is OutcomeKind.FINISHED

    run_tasks(3)
    time.sleep(0.2)  # let the last task process exit
    fds, children = agent.num_fds(), len(agent.children())
    run_tasks(200)
    time.sleep(0.2)
    assert agent.num_fds() <= fds
    assert len(agent.children()) <= children


def test_static_selection_answers_are_each_owners(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    code = f"with open({str(counter)!r}, 'a') as f:\n    f.write('asked ')\nselected = True"
    selection = [SelectionScript(Script(language="cpython", code=code), SelectionType.STATIC)]
    for owner in ("alice", "alice", "bob", "alice", "bob"):
        spec = make_spec(selection=selection, owner=owner)
        local_nodes.run("local-1", spec)
        assert events.done(spec.task_id).outcome.kind is OutcomeKind.FINISHED
    assert counter.read_text() == "asked asked "  # once for each owner


#: Task code writing its own report to its outcome pipe: the answers it ``learnt``, then ``outcome``.
FORGED_REPORT = """
import fcntl, os, stat, struct
frames = [{learnt!r}, {outcome!r}]
for fd in map(int, os.listdir("/proc/self/fd")):
    try:
        piped = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        continue
    if piped and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
        os.write(fd, b"".join(struct.pack("!Q", len(frame)) + frame for frame in frames))
        os._exit(0)
"""


def _outcome(task_id: str, **fields: Any) -> bytes:
    outcome = TaskOutcome(task_id, 1, OutcomeKind.FINISHED, **fields)
    return json.dumps(outcome_to_json(outcome)).encode()


def _forge(make_spec: SpecFactory, learnt: bytes, outcome: bytes) -> TaskSpec:
    return make_spec(FORGED_REPORT.format(learnt=learnt, outcome=outcome), task_id="7t-forger")


def _still_serving(local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, agent: int) -> None:
    after = make_spec("result = 'still serving'")
    local_nodes.run("local-1", after)
    assert events.done(after.task_id).outcome.result_json == "still serving"
    assert local_nodes.agent_pid("local-1") == agent


@pytest.mark.parametrize("learnt", [b"[1]", b"not json", b"[" * 100_000])
def test_a_malformed_report_of_static_answers_leaves_the_agent_serving(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, learnt: bytes
) -> None:
    spec = _forge(make_spec, learnt, _outcome("7t-forger", result_json="forged"))
    agent = local_nodes.agent_pid("local-1")
    local_nodes.run("local-1", spec)
    assert events.done(spec.task_id).outcome.result_json == "forged"  # the report the task wrote
    _still_serving(local_nodes, events, make_spec, agent)


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (b"garbage", "unreadable (JSONDecodeError)"),
        (b'{"type": "started", "task_id": "x", "execution": 1, "pid": 1}', "unreadable (KeyError)"),
        (_outcome("9t1"), "it names another execution ('9t1', 1)"),
    ],
)
def test_a_false_outcome_makes_its_own_execution_faulty_and_the_node_serves_on(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, outcome: bytes, reason: str
) -> None:
    spec = _forge(make_spec, b"{}", outcome)
    agent = local_nodes.agent_pid("local-1")
    local_nodes.run("local-1", spec)
    done = events.done(spec.task_id).outcome
    assert (done.kind, done.error) == (
        OutcomeKind.FAULTY,
        f"the task process reported a false outcome: {reason}",
    )
    _still_serving(local_nodes, events, make_spec, agent)


def test_on_a_sandboxing_node_only_the_platforms_own_code_runs_out_of_the_sandbox(
    tmp_path: Path, events: Events, make_spec: SpecFactory
) -> None:
    """The platform's code (an App Engine runner) gets a process that prepared no sandbox: it sees the
    node's private folders and its mount namespace (a server not run as root could not leave a prepared
    one: its sandbox is a user namespace). A user's task without an account is refused there."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "platform.txt").write_text("the platform's")
    source = LocalNodeSource(1, tmp_path / "nodes", host_name="testhost", private_dirs=(private,))
    source.start(events)
    try:
        code = (
            f"import os\nresult = [open({str(private / 'platform.txt')!r}).read(),"
            " os.readlink('/proc/self/ns/mnt')]"
        )
        for _ in range(2):  # the spare left after the first is no platform one
            runner = make_spec(code, platform=True)
            source.run("local-1", runner)
            outcome = events.done(runner.task_id).outcome
            assert outcome.kind is OutcomeKind.FINISHED, outcome.error
            assert outcome.result_json == ["the platform's", os.readlink("/proc/self/ns/mnt")]
            users = make_spec(code)
            source.run("local-1", users)
            refused = events.done(users.task_id).outcome
            assert refused.kind is OutcomeKind.FAULTY
            assert "a task without an account is refused" in (refused.error or "")
    finally:
        source.stop()

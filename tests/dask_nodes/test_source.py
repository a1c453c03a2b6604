"""The dask node source driven directly, on the two-host cluster: bad options, an unreachable
scheduler, transfer limits, kill and walltime on a remote node, live output, runs and events straight
between the server and the workers, each outcome once to a server that restarts, a restarted Dask
scheduler."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client

from dask_nodes.conftest import Cluster
from runyard.errors import InvalidRequestError, NodeError
from runyard.model import FileSelector, Script, ScriptExecutable
from runyard.nodes.dask import DaskNodeSource
from runyard.nodes.dask_spaces import Limits
from runyard.nodes.protocol import (
    NodeDown,
    NodeUp,
    OutcomeKind,
    RecordedExecution,
    TaskDone,
    TaskOutcome,
    TaskSpec,
    TaskStarted,
)
from runyard.nodes.sources import SourceContext
from support.nodes import Events

REMOTE, MAIN = "direct-remote-1", "direct-main-1"
_numbers = itertools.count(1)


def wait_up(events: Events, node: str, after: int = 0) -> None:
    """Until ``node`` is announced up (after the first ``after`` events)."""
    events.wait(lambda e: e in events.seen[after:] and isinstance(e, NodeUp) and e.node.name == node, 60)


@pytest.fixture(scope="module")
def events() -> Events:
    return Events()


@pytest.fixture(scope="module")
def source(cluster: Cluster, events: Events) -> Iterator[DaskNodeSource]:
    started = DaskNodeSource("direct", scheduler=cluster.address, limits=Limits(max_bytes=1000))
    started.start(events)
    try:
        for node in (REMOTE, MAIN):
            wait_up(events, node)
        yield started
    finally:
        started.stop()


@pytest.fixture
def spec(tmp_path: Path) -> Callable[..., TaskSpec]:
    def make(code: str, **fields: Any) -> TaskSpec:
        number = next(_numbers)
        values: dict[str, Any] = {
            "job_id": "9", "job_name": "direct", "task_id": f"9t{number}", "task_name": f"T{number}",
            "execution": 1, "owner": "tester", "iteration": 0, "replication": 0, "variables": {},
            "generic_information": {}, "executable": ScriptExecutable(Script("cpython", code=code)),
            "localspace": str(tmp_path / "local"), "userspace": str(tmp_path / "user"),
            "globalspace": str(tmp_path / "global"), "log_path": str(tmp_path / "logs" / f"{number}.log"),
        }  # fmt: skip
        values.update(fields)
        return TaskSpec(**values)

    return make


def ran(
    source: DaskNodeSource, events: Events, node: str, spec: TaskSpec, timeout: float = 60
) -> TaskOutcome:
    source.run(node, spec)
    return events.done(spec.task_id, timeout).outcome


def test_bad_options_are_refused_naming_the_field(tmp_path: Path) -> None:
    context = SourceContext(tmp_path, tmp_path / "nodes")
    with pytest.raises(InvalidRequestError, match="scheduler"):
        DaskNodeSource.from_config("d", {"scheduler": "10.0.0.1:8786"}, context)
    with pytest.raises(InvalidRequestError, match="scheduler"):
        DaskNodeSource.from_config("d", {}, context)
    with pytest.raises(InvalidRequestError, match="nodes_per_worker"):
        DaskNodeSource.from_config("d", {"scheduler": "tcp://h:1", "nodes_per_worker": 0}, context)
    with pytest.raises(InvalidRequestError, match="bogus"):
        DaskNodeSource.from_config("d", {"scheduler": "tcp://h:1", "bogus": 1}, context)
    with pytest.raises(NodeError, match="not both"):
        DaskNodeSource("d", scheduler="tcp://h:1", cluster=object())


def test_an_unreachable_scheduler_fails_the_start_clearly() -> None:
    source = DaskNodeSource("gone", scheduler="tcp://127.0.0.1:9", connect_timeout=1)
    with pytest.raises(NodeError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        source.start(Events())
    source.stop()


def test_no_run_on_an_unknown_node(source: DaskNodeSource, spec: Callable[..., TaskSpec]) -> None:
    with pytest.raises(NodeError, match="no node 'direct-nowhere-1'"):
        source.run("direct-nowhere-1", spec("result = 1"))


def test_transfers_past_the_limit_fail_the_task_saying_why(
    source: DaskNodeSource, events: Events, spec: Callable[..., TaskSpec], tmp_path: Path
) -> None:
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "big.bin").write_bytes(b"x" * 2000)
    inputs = [FileSelector(["*.bin"], access_mode="transferFromUserSpace")]
    outcome = ran(source, events, REMOTE, spec("result = 1", input_files=inputs))
    assert outcome.kind is OutcomeKind.FAULTY
    assert "over 1000 bytes, the node source's limit (option max_transfer_bytes)" in (outcome.error or "")
    writes = "import os\nopen(os.path.join(userspace, 'out.bin'), 'wb').write(b'y' * 2000)"
    outcome = ran(source, events, REMOTE, spec(writes))
    assert outcome.kind is OutcomeKind.FAULTY and "left in its spaces are over 1000 bytes" in (
        outcome.error or ""
    )
    assert not (tmp_path / "user" / "out.bin").exists()


def test_kill_walltime_and_live_output_on_a_remote_node(
    source: DaskNodeSource, events: Events, spec: Callable[..., TaskSpec], tmp_path: Path
) -> None:
    go = tmp_path / "go"
    waits = (
        f"import os, time\nprint('first', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.05)"
    )
    task = spec(waits + "\nprint('second')")
    source.run(REMOTE, task)
    log = Path(task.log_path)
    deadline = time.monotonic() + 30
    while not (log.exists() and "first" in log.read_text()):  # the output arrives while the task runs
        assert time.monotonic() < deadline, "no live output"
        time.sleep(0.05)
    go.touch()
    assert events.done(task.task_id).outcome.kind is OutcomeKind.FINISHED
    assert log.read_text().split() == ["first", "second"]
    go.unlink()
    killed = spec(waits)
    source.run(REMOTE, killed)
    events.wait(lambda e: isinstance(e, TaskStarted) and e.task_id == killed.task_id)
    source.kill(REMOTE, killed.task_id, 1)
    assert events.done(killed.task_id).outcome.kind is OutcomeKind.KILLED
    assert ran(source, events, MAIN, spec(waits, walltime=0.5)).kind is OutcomeKind.WALLTIME


def runyard_dask_tasks(client: Client) -> int:
    """How many Dask tasks keyed ``runyard-...`` the Dask scheduler ever knew of."""

    def count(dask_scheduler: Any) -> int:
        prefix = dask_scheduler.task_prefixes.get("runyard")
        return 0 if prefix is None else sum(int(n) for n in prefix.state_counts.values())

    return int(client.run_on_scheduler(count))  # type: ignore[no-untyped-call]


def test_runs_and_their_events_go_straight_past_the_dask_scheduler(
    source: DaskNodeSource, events: Events, spec: Callable[..., TaskSpec], cluster: Cluster, tmp_path: Path
) -> None:
    (tmp_path / "user").mkdir(exist_ok=True)
    task = spec("import os\nprint('hello')\nopen(os.path.join(userspace, 'back.txt'), 'w').write('x')")
    with Client(cluster.address, timeout=30) as client:  # type: ignore[no-untyped-call]
        before = runyard_dask_tasks(client)
        assert ran(source, events, REMOTE, task).kind is OutcomeKind.FINISHED
        assert runyard_dask_tasks(client) == before  # neither the run nor the files were a Dask task
        relayed = [m for _, m in client.get_events("runyard-direct") if m.get("task_id") == task.task_id]
    assert relayed == []  # neither started, output nor done went by the scheduler's events
    assert Path(task.log_path).read_text() == "hello\n"
    assert (tmp_path / "user" / "back.txt").read_text() == "x"


class Unreachable(DaskNodeSource):
    """A source that cannot call the workers of one host straight (as behind a firewall)."""

    blocked = ""

    async def _call(self, address: str, worker_id: str, call: str, *args: Any) -> Any:
        if address.split("://")[1].rsplit(":", 1)[0] == self.blocked:
            raise OSError(f"{address} is unreachable from here (test)")
        return await super()._call(address, worker_id, call, *args)


def test_a_worker_the_server_cannot_reach_is_served_through_the_dask_scheduler(
    cluster: Cluster, spec: Callable[..., TaskSpec], tmp_path: Path
) -> None:
    events = Events()
    source = Unreachable("around", scheduler=cluster.address)
    source.blocked = cluster.host.address  # the remote worker's host
    source.start(events)
    try:
        for node in ("around-remote-1", "around-main-1"):
            wait_up(events, node)
        (tmp_path / "user").mkdir()
        writes = (
            "import os\nprint('hello', flush=True)\nopen(os.path.join(userspace, 'back.txt'), 'w').write('x')"
        )
        task = spec(writes)
        assert ran(source, events, "around-remote-1", task).kind is OutcomeKind.FINISHED
        assert Path(task.log_path).read_text() == "hello\n"
        assert (tmp_path / "user" / "back.txt").read_text() == "x"
        with Client(cluster.address, timeout=30) as client:  # type: ignore[no-untyped-call]
            relayed = {
                m["op"] for _, m in client.get_events("runyard-around") if m.get("task_id") == task.task_id
            }
        assert relayed == {"started", "output", "done"}  # by the Dask scheduler
        go = tmp_path / "go"
        killed = spec(f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.05)")
        source.run("around-remote-1", killed)
        events.wait(lambda e: isinstance(e, TaskStarted) and e.task_id == killed.task_id, 60)
        source.kill("around-remote-1", killed.task_id, 1)
        assert events.done(killed.task_id, 60).outcome.kind is OutcomeKind.KILLED
        assert ran(source, events, "around-main-1", spec("result = 4")).kind is OutcomeKind.FINISHED
    finally:
        source.stop()


def abandon(source: DaskNodeSource) -> None:
    """What a server killed -9 leaves: its client gone, its nodes and what they run as they are."""
    source._stopping.set()
    assert source._client is not None
    source._client.close()  # type: ignore[no-untyped-call]


def test_a_restarted_source_gets_each_outcome_once(
    cluster: Cluster, spec: Callable[..., TaskSpec], tmp_path: Path
) -> None:
    remote, main = "again-remote-1", "again-main-1"
    first_events, second_events = Events(), Events()
    first = DaskNodeSource("again", scheduler=cluster.address)
    first.start(first_events)
    for node in (remote, main):
        wait_up(first_events, node)
    go = tmp_path / "go"
    away = spec(
        f"import os, time\nprint('away', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.05)\nprint('back')\nresult = 1"
    )
    taken = spec("print('taken')\nresult = 2")
    # its outcome reached the server, which acknowledged it, and was killed before it stored it
    assert ran(first, first_events, main, taken).kind is OutcomeKind.FINISHED
    first.run(remote, away)
    first_events.wait(lambda e: isinstance(e, TaskStarted) and e.task_id == away.task_id, 60)
    Path(taken.log_path).unlink()
    abandon(first)
    go.touch()  # it ends while no server is there
    time.sleep(1)
    second = DaskNodeSource("again", scheduler=cluster.address)
    try:
        second.start(second_events)
        recorded = [
            RecordedExecution(remote, away.task_id, 1),
            RecordedExecution(main, taken.task_id, 1),
            RecordedExecution(remote, "9t-gone", 1),
        ]
        assert sorted(second.reconcile(recorded, 60), key=str) == sorted(recorded[:2], key=str)
        for task, result in ((away, 1), (taken, 2)):
            outcome = second_events.done(task.task_id, 60).outcome
            assert (outcome.kind, outcome.result_json) == (OutcomeKind.FINISHED, result)
        time.sleep(2)  # nothing more comes
        assert sorted(e.outcome.task_id for e in second_events.seen if isinstance(e, TaskDone)) == sorted(
            [away.task_id, taken.task_id]
        )
        assert Path(away.log_path).read_text() == "away\nback\n"
        assert Path(taken.log_path).read_text() == "taken\n"
        # the next run on the node: the held outcome is dropped, and nothing of it comes again
        assert ran(second, second_events, remote, spec("result = 3")).kind is OutcomeKind.FINISHED
    finally:
        second.stop()


def test_nodes_come_back_after_the_dask_scheduler_restarts(
    source: DaskNodeSource, events: Events, spec: Callable[..., TaskSpec], cluster: Cluster
) -> None:
    cluster.kill_scheduler()
    events.wait(lambda e: isinstance(e, NodeDown) and e.node == REMOTE, 30)
    for name in list(cluster.workers):  # Dask workers do not outlive their scheduler: started again
        cluster.kill(name)
    seen = len(events.seen)
    cluster.start_scheduler()
    for name in ("remote", "main"):
        cluster.start_worker(name)
    for node in (REMOTE, MAIN):
        wait_up(events, node, after=seen)
    assert ran(source, events, REMOTE, spec("result = 2")).kind is OutcomeKind.FINISHED

"""The dask node source driven directly, on the two-host cluster: bad options, an unreachable
scheduler, transfer limits, kill and walltime on a remote node, live output, a restarted Dask scheduler."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dask_nodes.conftest import Cluster
from runyard.errors import InvalidRequestError, NodeError
from runyard.model import FileSelector, Script, ScriptExecutable
from runyard.nodes.dask import DaskNodeSource
from runyard.nodes.dask_spaces import Limits
from runyard.nodes.protocol import NodeDown, NodeUp, OutcomeKind, TaskOutcome, TaskSpec, TaskStarted
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

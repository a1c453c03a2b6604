"""The node agent's fork server: it forks and reaps the task processes; it dies with its agent, and its
agent with it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from runyard.nodes.local import LocalNodeSource
from runyard.nodes.protocol import NodeDown, NodeUp, OutcomeKind
from support.nodes import Events, SpecFactory

PIDS = "import os\nresult = [os.getpid(), os.getppid()]"


def _fork_server(agent: int) -> psutil.Process:
    (server,) = psutil.Process(agent).children()  # the agent's only child
    return server


def test_task_processes_are_the_fork_servers_children_and_it_reaps_them(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    agent = local_nodes.agent_pid("local-1")
    server = _fork_server(agent)
    pids = set()
    for _ in range(20):
        spec = make_spec(PIDS)
        local_nodes.run("local-1", spec)
        done = events.done(spec.task_id).outcome
        assert done.kind is OutcomeKind.FINISHED
        pid, parent = done.result_json
        assert parent == server.pid
        pids.add(pid)
    assert len(pids) == 20  # a process per execution
    deadline = time.monotonic() + 10
    # left: the spare alone, alive (the last task process may still be removing its localspace, and the
    # next spare may not be forked yet); a zombie is a process it did not reap
    while len(children := _statuses(server)) != 1 or psutil.STATUS_ZOMBIE in children:
        assert time.monotonic() < deadline, f"the fork server left its task processes unreaped: {children}"
        time.sleep(0.02)
    assert _fork_server(agent).pid == server.pid


def _statuses(server: psutil.Process) -> list[str]:
    """The status of each child of ``server`` (one that exits meanwhile left out)."""
    statuses = []
    for child in server.children():
        try:
            statuses.append(child.status())
        except psutil.NoSuchProcess:
            continue
    return statuses


def test_a_dead_fork_server_takes_its_agent_down_and_the_node_comes_back(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    agent = local_nodes.agent_pid("local-1")
    os.kill(_fork_server(agent).pid, signal.SIGKILL)
    assert events.wait(lambda e: isinstance(e, NodeDown)) == NodeDown(
        "local-1", "node agent exited with code 1"
    )
    events.wait(lambda e: sum(isinstance(x, NodeUp) and x.node.name == "local-1" for x in events.seen) == 2)
    assert local_nodes.agent_pid("local-1") != agent
    spec = make_spec("result = 'served'")
    local_nodes.run("local-1", spec)
    assert events.done(spec.task_id).outcome.result_json == "served"


def test_a_task_process_removes_its_localspace_after_reporting(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    empty, littered = make_spec("result = 1"), make_spec("open('left', 'w').write('x')\nresult = 2")
    for spec in (empty, littered):
        local_nodes.run("local-1", spec)
        assert events.done(spec.task_id).outcome.kind is OutcomeKind.FINISHED
    deadline = time.monotonic() + 10
    while Path(empty.localspace).exists() or Path(littered.localspace).exists():
        assert time.monotonic() < deadline, "a localspace outlived its execution"
        time.sleep(0.02)

"""``fork=False`` executions: they share the node's long-lived worker process, forked ones do not."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runyard.model import JobStatus, Script, ScriptExecutable, SelectionScript, SelectionType, Task, Workflow
from runyard.nodes.local import LocalNodeSource
from runyard.nodes.protocol import OutcomeKind, TaskOutcome, TaskSpec
from runyard.platform import Platform
from runyard.settings import Settings
from support.nodes import Events, SpecFactory

PID = "import os\nresult = os.getpid()"


def run(nodes: LocalNodeSource, events: Events, spec: TaskSpec, node: str = "local-1") -> TaskOutcome:
    nodes.run(node, spec)
    return events.done(spec.task_id).outcome


def test_fork_false_tasks_share_one_process_and_forked_ones_do_not(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    shared = [run(local_nodes, events, make_spec(PID, fork=False)).result_json for _ in range(3)]
    forked = [run(local_nodes, events, make_spec(PID)).result_json for _ in range(3)]
    assert len(set(shared)) == 1
    assert len(set(forked)) == 3
    assert not set(shared) & set(forked)
    agent = local_nodes.agent_pid("local-1")
    assert agent not in shared + forked
    # The worker outlives a forked execution in between: the next fork=False task finds it again.
    assert run(local_nodes, events, make_spec(PID, fork=False)).result_json == shared[0]
    # Each node has its own worker.
    assert run(local_nodes, events, make_spec(PID, fork=False), "local-2").result_json != shared[0]


def test_fork_false_shares_interpreter_state_but_restores_cwd_and_output(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    first = make_spec(
        "import os, sys\nsys.runyard_counter = getattr(sys, 'runyard_counter', 0) + 1\n"
        "os.environ['RUNYARD_LEFT_BEHIND'] = 'yes'\nprint('first', os.getcwd() == localspace)\n"
        "result = sys.runyard_counter",
        fork=False,
    )
    second = make_spec(
        "import os, sys\nprint('second', os.getcwd() == localspace, file=sys.stderr)\n"
        "result = [sys.runyard_counter, os.environ.get('RUNYARD_LEFT_BEHIND')]",
        fork=False,
    )
    assert run(local_nodes, events, first).result_json == 1
    assert run(local_nodes, events, second).result_json == [1, "yes"]
    assert Path(first.log_path).read_text() == "first True\n"
    assert Path(second.log_path).read_text() == "second True\n"
    assert not Path(first.localspace).exists() and not Path(second.localspace).exists()


def test_fork_false_outcome_is_the_same_as_forked(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory
) -> None:
    code = "variables['OUT'] = variables['NAME'] + '!'\nresultMap.put('m', 1)\nresult = {'a': [1, 2]}"
    outcomes = [run(local_nodes, events, make_spec(code, fork=fork)) for fork in (True, False)]
    for outcome in outcomes:
        assert outcome.kind is OutcomeKind.FINISHED
        assert outcome.result_json == {"a": [1, 2]}
        assert outcome.variables["OUT"] == "world!"
        assert outcome.result_map == {"m": 1}
    failing = run(local_nodes, events, make_spec("raise ValueError('boom')", fork=False))
    assert failing.kind is OutcomeKind.FAULTY
    assert failing.error is not None and "ValueError: boom" in failing.error
    assert run(local_nodes, events, make_spec("result = 3", fork=False)).result_json == 3


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("import os\nos._exit(3)", "task process exited with code 3 before reporting"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "task process died (signal 9)"),
    ],
)
def test_a_dying_worker_is_faulty_and_replaced(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, code: str, error: str
) -> None:
    before = run(local_nodes, events, make_spec(PID, fork=False)).result_json
    died = make_spec(code, fork=False)
    outcome = run(local_nodes, events, died)
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAULTY, error)
    assert not Path(died.localspace).exists()
    after = run(local_nodes, events, make_spec(PID, fork=False))
    assert after.kind is OutcomeKind.FINISHED
    assert after.result_json != before


def test_walltime_and_kill_of_fork_false_tasks(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    sleeper = make_spec(f"import time\nopen({str(marker)!r}, 'w').close()\ntime.sleep(60)", fork=False)
    local_nodes.run("local-1", sleeper)
    _wait_for(marker)
    local_nodes.kill("local-1", sleeper.task_id, sleeper.execution)
    killed = events.done(sleeper.task_id).outcome
    assert (killed.kind, killed.error) == (OutcomeKind.KILLED, "killed on request")
    after_kill = run(local_nodes, events, make_spec("result = 'after kill'", fork=False))
    assert after_kill.result_json == "after kill"
    slow = make_spec(Script(language="bash", code="sleep 60"), fork=False, walltime=0.5)
    outcome = run(local_nodes, events, slow)
    assert (outcome.kind, outcome.error) == (OutcomeKind.WALLTIME, "walltime of 0.5 s exceeded: killed")
    next_one = run(local_nodes, events, make_spec("result = 'after walltime'", fork=False))
    assert next_one.result_json == "after walltime"


def test_static_selection_cache_is_shared_with_the_worker(
    local_nodes: LocalNodeSource, events: Events, make_spec: SpecFactory, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    code = f"with open({str(counter)!r}, 'a') as f:\n    f.write('asked ')\nselected = True"
    selection = [SelectionScript(Script(language="cpython", code=code), SelectionType.STATIC)]
    run(local_nodes, events, make_spec(fork=False))  # the worker of local-1 now exists, its cache empty
    # On local-1 a forked execution learns the answer and the worker uses it; on local-2 the reverse.
    for node, forks in (("local-1", (True, False, True)), ("local-2", (False, True, False))):
        for fork in forks:
            outcome = run(local_nodes, events, make_spec(selection=selection, fork=fork), node)
            assert outcome.kind is OutcomeKind.FINISHED
    assert counter.read_text() == "asked asked "


def _wait_for(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not created within {timeout} s"
        time.sleep(0.02)


def test_the_scheduler_passes_fork_false_from_the_workflow(tmp_path: Path) -> None:
    def task(name: str, *depends: str, fork: bool | None) -> Task:
        script = ScriptExecutable(Script("cpython", code=PID))
        return Task(name=name, executable=script, depends=list(depends), fork=fork)

    workflow = Workflow(
        name="Fork",
        tasks=[task("A", fork=False), task("B", "A", fork=False), task("C", "B", fork=None)],
    )
    with Platform(Settings(data_dir=tmp_path, nodes=1)) as platform:
        job = platform.submit(workflow)
        assert platform.wait(job, 30) is JobStatus.FINISHED
        pids = {task["name"]: task["result"] for task in platform.report(job)["tasks"]}
    assert pids["A"] == pids["B"] != pids["C"]

"""``execute``: the order of the steps, the error boundary, results, variables, flow decisions."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from runyard.model import (
    IfAction,
    JavaExecutable,
    LoopAction,
    NativeExecutable,
    ReplicateAction,
    Script,
    SelectionScript,
    SelectionType,
)
from runyard.nodes.executor import NodeContext, execute
from runyard.nodes.protocol import OutcomeKind, ParentResult
from support.nodes import SpecFactory


def py(code: str) -> Script:
    return Script(language="cpython", code=code)


def bash(code: str) -> Script:
    return Script(language="bash", code=code)


def trace(step: str) -> Script:
    """A script appending ``step`` to the ``TRACE`` variable."""
    return py(f"variables['TRACE'] = variables.get('TRACE', '') + '{step} '")


def write(path: str, expression: str, mode: str = "w") -> Script:
    """A script writing ``expression`` to ``path`` (not in localspace: it is removed at the end)."""
    return py(f"with open({path!r}, {mode!r}) as file:\n    file.write({expression})")


def test_steps_run_in_order(make_spec: SpecFactory, tmp_path: Path) -> None:
    spec = make_spec(
        "variables['TRACE'] += 'main '\nresult = 1",
        selection=[SelectionScript(py("variables['TRACE'] = 'selection '\nselected = True"))],
        pre=trace("pre"),
        post=trace("post"),
        flow=ReplicateAction(py("variables['TRACE'] += 'flow ' + variables['PA_TASK_SUCCESS']\nruns = 2")),
        cleaning=write(
            str(tmp_path / "clean.txt"), "variables['TRACE'] + ' clean ' + variables['PA_TASK_SUCCESS']"
        ),
    )
    outcome = execute(spec)
    assert outcome.kind is OutcomeKind.FINISHED, outcome.error
    assert outcome.variables["TRACE"] == "selection pre main post flow true"
    assert (tmp_path / "clean.txt").read_text() == "selection pre main post flow true clean true"
    assert outcome.flow == {"runs": 2}
    assert not Path(spec.localspace).exists()  # scratch space, removed after the execution
    assert outcome.variables["PA_JOB_ID"] == "7"
    assert outcome.started_at is not None and outcome.finished_at is not None
    assert outcome.started_at <= outcome.finished_at


def test_result_is_pickled_with_json_and_repr(make_spec: SpecFactory) -> None:
    outcome = execute(make_spec("result = {'a': [1, 2]}"))
    assert outcome.result is not None and pickle.loads(outcome.result) == {"a": [1, 2]}
    assert outcome.result_json == {"a": [1, 2]}
    assert outcome.result_repr == "{'a': [1, 2]}"
    other = execute(make_spec("result = {3}"))
    assert other.result_json is None and other.result_repr == "{3}"


def test_post_replaces_the_result(make_spec: SpecFactory) -> None:
    outcome = execute(make_spec("result = 20", post=py("result = result + 1")))
    assert outcome.result is not None and pickle.loads(outcome.result) == 21
    kept = execute(make_spec("result = 20", post=py("x = result")))
    assert kept.result is not None and pickle.loads(kept.result) == 20


def test_main_failure_skips_post_but_runs_flow_and_clean(make_spec: SpecFactory, tmp_path: Path) -> None:
    spec = make_spec(
        "raise RuntimeError('main broke')",
        post=trace("post"),
        flow=IfAction(
            "A", "B", None, py("branch = 'if' if variables['PA_TASK_SUCCESS'] == 'true' else 'else'")
        ),
        cleaning=write(str(tmp_path / "clean.txt"), "variables['PA_TASK_SUCCESS']"),
    )
    outcome = execute(spec)
    assert outcome.kind is OutcomeKind.FAULTY
    assert outcome.error is not None and "main script of task" in outcome.error
    assert "RuntimeError: main broke" in outcome.error
    assert "TRACE" not in outcome.variables
    assert outcome.flow == {"branch": "else"}
    assert outcome.result is None
    assert (tmp_path / "clean.txt").read_text() == "false"


def test_pre_failure_skips_main(make_spec: SpecFactory) -> None:
    outcome = execute(make_spec("variables['MAIN'] = 1", pre=bash("exit 2")))
    assert outcome.kind is OutcomeKind.FAULTY
    assert outcome.error is not None and outcome.error.endswith("failed: exited with code 2")
    assert outcome.error.startswith("pre script of task T")
    assert "MAIN" not in outcome.variables


def test_clean_failure_does_not_change_the_outcome(make_spec: SpecFactory) -> None:
    spec = make_spec("result = 1", cleaning=py("1 / 0"))
    outcome = execute(spec)
    assert outcome.kind is OutcomeKind.FINISHED
    assert outcome.error is None
    assert "cleaning script of task" in Path(spec.log_path).read_text()
    assert "ZeroDivisionError" in Path(spec.log_path).read_text()


def test_bash_and_native_results_are_exit_codes(make_spec: SpecFactory) -> None:
    ok = execute(make_spec(bash("exit 0")))
    assert ok.kind is OutcomeKind.FINISHED and ok.exit_value == 0 and ok.variables["EXIT_VALUE"] == 0
    assert ok.result is not None and pickle.loads(ok.result) == 0
    failed = execute(make_spec(bash("exit 4"), flow=ReplicateAction(py("runs = variables['EXIT_VALUE']"))))
    assert failed.kind is OutcomeKind.FAULTY and failed.exit_value == 4
    assert failed.error is not None and failed.error.endswith("failed: exited with code 4")
    assert failed.flow == {"runs": 4}
    native = execute(make_spec(executable=NativeExecutable("sh", ["-c", "exit $0", "${NAME}"])))
    assert native.kind is OutcomeKind.FAULTY and native.exit_value == 2  # sh: exit world → 2
    native_ok = execute(make_spec(executable=NativeExecutable("true")))
    assert native_ok.kind is OutcomeKind.FINISHED and native_ok.exit_value == 0


def test_java_executable_is_refused(make_spec: SpecFactory) -> None:
    outcome = execute(make_spec(executable=JavaExecutable("org.Example")))
    assert outcome.kind is OutcomeKind.FAULTY
    assert outcome.error is not None and "javaExecutable org.Example cannot run in runyard" in outcome.error


def test_parent_results_and_variables(make_spec: SpecFactory) -> None:
    parents = [ParentResult("A", pickle.dumps(2)), ParentResult("B", pickle.dumps(3))]
    outcome = execute(
        make_spec(
            "result = results[0].value() * results[1].value()\n"
            "variables.put('OBJ', object())\nvariables.put('LIST', [1])\nresultMap.put('k', {1})",
            parents=parents,
        )
    )
    assert outcome.result_json == 6
    assert outcome.variables["OBJ"].startswith("<object object at")
    assert outcome.variables["LIST"] == [1]
    assert outcome.result_map == {"k": "{1}"}


def test_unpicklable_result_is_faulty(make_spec: SpecFactory) -> None:
    outcome = execute(make_spec("result = lambda: 1"))
    assert outcome.kind is OutcomeKind.FAULTY
    assert outcome.error is not None and "the result, of type function, cannot be pickled" in outcome.error


def test_missing_script_file_and_unknown_language(make_spec: SpecFactory, tmp_path: Path) -> None:
    missing = execute(make_spec(Script(file="gone.py"), source_dir=str(tmp_path)))
    assert missing.kind is OutcomeKind.FAULTY
    assert missing.error is not None and f"script file not found: {tmp_path}/gone.py" in missing.error
    unknown = execute(make_spec(Script(language="cobol", code="DISPLAY 1")))
    assert unknown.error is not None and "unknown script language 'cobol'" in unknown.error


def test_output_goes_to_the_log_including_subprocesses(make_spec: SpecFactory, tmp_path: Path) -> None:
    spec = make_spec(
        "import subprocess, sys\nprint('from python')\nprint('to stderr', file=sys.stderr)\n"
        "subprocess.run(['echo', 'from a subprocess'])",
        post=bash("echo from bash; echo bash error >&2"),
    )
    Path(spec.log_path).parent.mkdir(parents=True, exist_ok=True)
    Path(spec.log_path).write_text("earlier\n")
    assert execute(spec).kind is OutcomeKind.FINISHED
    assert Path(spec.log_path).read_text().splitlines() == [
        "earlier",
        "from python",
        "to stderr",
        "from a subprocess",
        "from bash",
        "bash error",
    ]


@pytest.mark.parametrize(("code", "selected"), [("selected = True", True), ("selected = 'FALSE'", False)])
def test_selection(make_spec: SpecFactory, code: str, selected: bool) -> None:
    outcome = execute(make_spec("variables['RAN'] = 1", selection=[SelectionScript(py(code))]))
    assert outcome.kind is (OutcomeKind.FINISHED if selected else OutcomeKind.NOT_SELECTED)
    if not selected:
        assert outcome.error == "node local not selected by selection script #1"
        assert outcome.variables == {}


def test_selection_sees_the_node_and_bash_selection_uses_the_exit_code(make_spec: SpecFactory) -> None:
    node = NodeContext(name="n1", host="h", url="local://h/n1")
    by_node = SelectionScript(
        py("selected = (nodename, nodehost, nodeurl, nodeTokens) == ('n1', 'h', 'local://h/n1', ['t'])")
    )
    spec = make_spec(selection=[by_node], node_tokens=["t"])
    assert execute(spec, node=node).kind is OutcomeKind.FINISHED
    refused = SelectionScript(bash('test "$nodename" = other'))
    assert execute(make_spec(selection=[refused]), node=node).kind is OutcomeKind.NOT_SELECTED


@pytest.mark.parametrize(
    ("code", "message"), [("x = 1", "did not set 'selected'"), ("selected = 2", "must be true or false")]
)
def test_bad_selection_script_means_not_selected(make_spec: SpecFactory, code: str, message: str) -> None:
    outcome = execute(make_spec(selection=[SelectionScript(py(code))]))
    assert outcome.kind is OutcomeKind.NOT_SELECTED
    assert outcome.error is not None and message in outcome.error


def test_static_selection_is_cached(make_spec: SpecFactory, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    script = write(str(counter), "'x'", "a")
    assert script.code is not None
    script.code += "\nselected = True"
    cache: dict[str, bool] = {}
    static = SelectionScript(script, SelectionType.STATIC)
    dynamic = SelectionScript(Script("cpython", script.code), SelectionType.DYNAMIC)
    for _ in range(3):
        assert execute(make_spec(selection=[static]), cache).kind is OutcomeKind.FINISHED
    assert counter.read_text() == "x"
    assert list(cache.values()) == [True]
    for _ in range(2):
        execute(make_spec(selection=[dynamic]), cache)
    assert counter.read_text() == "xxx"


@pytest.mark.parametrize(
    ("action", "code", "decision"),
    [
        (IfAction("A", "B", None, py("")), "branch = 'IF'", {"branch": "if"}),
        (IfAction("A", "B", None, py("")), "branch = 'Else'", {"branch": "else"}),
        (LoopAction("A", py("")), "loop = True", {"loop": True}),
        (LoopAction("A", py("")), "loop = 'FALSE'", {"loop": False}),
        (LoopAction("A", py("")), "loop = '*/1 * * * *'", {"loop": "*/1 * * * *"}),
        (ReplicateAction(py("")), "runs = 3", {"runs": 3}),
        (ReplicateAction(py("")), "runs = ' 4 '", {"runs": 4}),
        (ReplicateAction(py("")), "runs = 2.9", {"runs": 2}),
        (ReplicateAction(py("")), "runs = '0'", {"runs": 0}),
    ],
)
def test_flow_decisions(
    make_spec: SpecFactory,
    action: IfAction | LoopAction | ReplicateAction,
    code: str,
    decision: dict[str, object],
) -> None:
    action.script = py(f"assert result == 'R'\n{code}")
    outcome = execute(make_spec("result = 'R'", flow=action))
    assert outcome.kind is OutcomeKind.FINISHED, outcome.error
    assert outcome.flow == decision


@pytest.mark.parametrize(
    ("action", "code", "message"),
    [
        (IfAction("A", "B", None, py("")), "x = 1", "the flow script of a if action must set 'branch'"),
        (
            IfAction("A", "B", None, py("")),
            "branch = 'maybe'",
            "'branch' must be \"if\" or \"else\", got 'maybe'",
        ),
        (LoopAction("A", py("")), "loop = None", "must set 'loop'"),
        (LoopAction("A", py("")), "loop = 'sometimes'", "'loop' must be true, false or a cron expression"),
        (LoopAction("A", py("")), "loop = 1", "'loop' must be true, false or a cron expression, got 1"),
        (ReplicateAction(py("")), "runs = -1", "'runs' must be a whole number >= 0, got -1"),
        (ReplicateAction(py("")), "runs = 'two'", "got 'two'"),
        (ReplicateAction(py("")), "runs = True", "got True"),
        (ReplicateAction(py("")), "runs = float('inf')", "got inf"),
    ],
)
def test_bad_flow_values_are_faulty(
    make_spec: SpecFactory, action: IfAction | LoopAction | ReplicateAction, code: str, message: str
) -> None:
    action.script = py(code)
    outcome = execute(make_spec(flow=action))
    assert outcome.kind is OutcomeKind.FAULTY
    assert outcome.error is not None and "flow script of task" in outcome.error and message in outcome.error


def test_bash_cannot_be_a_flow_script(make_spec: SpecFactory) -> None:
    outcome = execute(make_spec(flow=ReplicateAction(bash("echo 3"))))
    assert outcome.kind is OutcomeKind.FAULTY
    assert outcome.error is not None and "a bash flow script cannot set branch, runs or loop" in outcome.error


def test_file_transfers(make_spec: SpecFactory, tmp_path: Path) -> None:
    from runyard.model import FileSelector

    user, shared = tmp_path / "user", tmp_path / "global"
    for path in ("in/a.txt", "in/deep/b.txt", "in/c.log", "other.txt"):
        (user / path).parent.mkdir(parents=True, exist_ok=True)
        (user / path).write_text(path)
    (shared / "g.csv").parent.mkdir(parents=True)
    (shared / "g.csv").write_text("g")
    spec = make_spec(
        "import os\nresult = sorted(os.path.join(d, f) for d, _, fs in os.walk('.') for f in fs)\n"
        "os.makedirs('out', exist_ok=True)\nwith open('out/r.txt', 'w') as f:\n    f.write('r')",
        input_files=[
            FileSelector(["in/**/*.txt"], ["**/b.txt"], "transferFromUserSpace"),
            FileSelector(["*.csv"], [], "transferFromGlobalSpace"),
            FileSelector(["*.csv"], [], "cacheFromGlobalSpace"),
        ],
        output_files=[FileSelector(["out/*.txt"], [], "transferToGlobalSpace")],
    )
    cache = tmp_path / "cache"
    outcome = execute(spec, node=NodeContext(cachespace=str(cache)))
    assert outcome.kind is OutcomeKind.FINISHED, outcome.error
    assert outcome.result_json == ["./g.csv", "./in/a.txt"]
    assert (shared / "out" / "r.txt").read_text() == "r"
    assert (cache / "g.csv").read_text() == "g"


def test_input_and_output_spaces(make_spec: SpecFactory, tmp_path: Path) -> None:
    from runyard.model import FileSelector

    inputs, outputs = tmp_path / "input", tmp_path / "output"
    inputs.mkdir()
    (inputs / "data.txt").write_text("in")
    spec = make_spec(
        "from pathlib import Path\n"
        "result = Path('data.txt').read_text()\n"
        "Path('out.txt').write_text(result + '!')",
        input_files=[FileSelector(["*.txt"], [], "transferFromInputSpace")],
        output_files=[FileSelector(["out.txt"], [], "transferToOutputSpace")],
        inputspace=str(inputs),
        outputspace=str(outputs),
    )
    outcome = execute(spec)
    assert outcome.kind is OutcomeKind.FINISHED, outcome.error
    assert outcome.result_json == "in"
    assert (outputs / "out.txt").read_text() == "in!"


def test_a_transfer_from_a_space_the_job_does_not_declare_is_faulty(make_spec: SpecFactory) -> None:
    from runyard.model import FileSelector

    outcome = execute(make_spec(input_files=[FileSelector(["*"], [], "transferFromInputSpace")]))
    assert outcome.kind is OutcomeKind.FAULTY
    assert outcome.error is not None and "the job declares no inputSpace" in outcome.error
    outcome = execute(make_spec(input_files=[FileSelector(["*"], [], "transferFromNowhere")]))
    assert (
        outcome.error is not None and "unknown input file access mode 'transferFromNowhere'" in outcome.error
    )

"""Selection scripts, node tokens, bash variables, variable propagation and substitution, end to end."""

from __future__ import annotations

from pathlib import Path

from engine.helpers import bash_task, cli, cli_json, platform, python_task, runyard_process, tasks_by_name
from runyard.formats import dump_yaml
from runyard.model import (
    FileSelector,
    JobStatus,
    NativeExecutable,
    Script,
    SelectionScript,
    Task,
    Variable,
    Workflow,
)


def test_selection_script_picks_the_node(tmp_path: Path) -> None:
    only_two = SelectionScript(Script("cpython", code="selected = nodename == 'local-2'"))
    tasks = [
        python_task(f"T{i}", "result = variables.get('PA_NODE_NAME')", selection=[only_two]) for i in range(3)
    ]
    with platform(tmp_path) as p:
        job = p.submit(Workflow(name="Select", tasks=tasks))
        assert p.wait(job, 30) is JobStatus.FINISHED
        results = {t["result"] for t in p.report(job)["tasks"]}
    assert results == {"local-2"}


def test_node_tokens_reserve_a_node_for_tasks_holding_the_token(tmp_path: Path) -> None:
    with_token = [
        python_task(
            f"Tok{i}",
            "result = variables.get('PA_NODE_NAME')",
            generic_information={"NODE_ACCESS_TOKEN": "T"},
        )
        for i in range(3)
    ]
    without = [python_task(f"Free{i}", "result = variables.get('PA_NODE_NAME')") for i in range(3)]
    with platform(tmp_path, node_tokens={"local-1": ("T",)}) as p:
        job = p.submit(Workflow(name="Tokens", tasks=with_token + without))
        assert p.wait(job, 30) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
    assert {tasks[f"Tok{i}"]["result"] for i in range(3)} == {"local-1"}
    assert {tasks[f"Free{i}"]["result"] for i in range(3)} == {"local-2"}


def test_token_from_a_variable_and_cli_node_token(tmp_path: Path) -> None:
    workflow = Workflow(
        name="CliToken",
        variables=[Variable("TOKEN", "gpu")],
        generic_information={"NODE_ACCESS_TOKEN": "${TOKEN}"},
        tasks=[python_task("A", "result = variables.get('PA_NODE_NAME')")],
    )
    path = tmp_path / "token.yaml"
    path.write_text(dump_yaml(workflow))
    code, report = cli_json("run", str(path), "--node-token", "local-2=gpu")
    assert code == 0
    assert tasks_by_name(report)["A"]["result"] == "local-2"


def test_bash_sets_variables_through_the_variables_file_and_children_see_them(tmp_path: Path) -> None:
    workflow = Workflow(
        name="BashVars",
        variables=[Variable("GREETING", "hi")],
        tasks=[
            bash_task(
                "Set",
                'echo "COLOR=blue" >> "$localspace/.variables"\n'
                'echo "$variables_GREETING $variables_PA_TASK_NAME"',
            ),
            python_task("Read", "result = variables.get('COLOR') + ' ' + str(results[0].value())", "Set"),
            bash_task("Fail", "exit 3"),
        ],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        p.wait(job, 30)
        tasks = tasks_by_name(p.report(job))
    assert tasks["Set"]["output"] == "hi Set\n"
    assert tasks["Read"]["result"] == "blue 0"
    assert tasks["Fail"]["status"] == "FAULTY"


def test_variables_propagate_along_dependencies_and_task_variables_merge(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Propagation",
        variables=[Variable("JOB_VAR", "job"), Variable("COUNT", "1", model="PA:Integer")],
        tasks=[
            python_task(
                "A", "variables.put('FROM_A', 'a'); variables.put('COUNT', int(variables.get('COUNT')) + 1)"
            ),
            python_task(
                "B",
                "result = [variables.get(k) for k in ('JOB_VAR', 'FROM_A', 'COUNT', 'OWN', 'INHERITED')]",
                "A",
                variables=[
                    Variable("OWN", "own-${JOB_VAR}"),
                    Variable("INHERITED", "default", inherited=True),
                    Variable("FROM_A", "x", inherited=True),
                ],
            ),
        ],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow, {"JOB_VAR": "override"})
        p.wait(job, 30)
        b = tasks_by_name(p.report(job))["B"]
    assert b["result"] == ["override", "a", 2, "own-override", "default"]


def test_native_command_line_and_generic_information_are_substituted(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Native",
        variables=[Variable("WORD", "pebble")],
        tasks=[
            Task(name="Echo", executable=NativeExecutable("echo", ["${WORD}", "$PA_TASK_NAME"])),
            python_task(
                "GI", "result = genericInformation.get('LABEL')", generic_information={"LABEL": "w=$WORD"}
            ),
        ],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        p.wait(job, 30)
        tasks = tasks_by_name(p.report(job))
    assert tasks["Echo"]["output"] == "pebble Echo\n" and tasks["Echo"]["result"] == 0
    assert tasks["GI"]["result"] == "w=pebble"


def test_result_map_and_non_json_results(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Results",
        tasks=[
            python_task("A", "resultMap.put('a', 1); result = {1, 2}"),
            python_task("B", "resultMap.put('b', 'two'); result = sorted(results[0].value())", "A"),
        ],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        p.wait(job, 30)
        report = p.report(job)
    tasks = tasks_by_name(report)
    assert tasks["A"]["result"] == "{1, 2}"  # a set is not JSON: its repr
    assert tasks["B"]["result"] == [1, 2]  # the child got the real value
    assert report["result_map"] == {"a": 1, "b": "two"}


def test_run_warns_when_no_node_holds_a_needed_token(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Unheld",
        generic_information={"NODE_ACCESS_TOKEN": "gpu"},
        tasks=[python_task("A", "pass")],
    )
    path = tmp_path / "unheld.yaml"
    path.write_text(dump_yaml(workflow))
    code, _, err = cli("run", str(path), "--node-token", "local-1=gpu")
    assert code == 0 and "warning" not in err
    waiting = runyard_process("run", str(path))  # no node holds 'gpu': the job would wait forever
    try:
        assert waiting.stderr is not None
        first = waiting.stderr.readline()
    finally:
        waiting.kill()
        waiting.communicate()
    assert "task A needs node access token 'gpu', which no node holds" in first


def test_job_input_and_output_spaces(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "numbers.txt").write_text("1 2 3")
    workflow = Workflow(
        name="Spaces",
        input_space="in",  # relative to the workflow file
        output_space=(tmp_path / "out").as_uri(),
        tasks=[
            python_task(
                "Sum",
                "from pathlib import Path\n"
                "total = sum(int(n) for n in Path('numbers.txt').read_text().split())\n"
                "Path('sum.txt').write_text(str(total))\n"
                "result = inputspace",
                input_files=[FileSelector(["*.txt"], [], "transferFromInputSpace")],
                output_files=[FileSelector(["sum.txt"], [], "transferToOutputSpace")],
            )
        ],
    )
    path = tmp_path / "spaces.yaml"
    path.write_text(dump_yaml(workflow))
    code, report = cli_json("run", str(path))
    assert code == 0
    assert tasks_by_name(report)["Sum"]["result"] == str(tmp_path / "in")
    assert (tmp_path / "out" / "sum.txt").read_text() == "6"
    remote = dump_yaml(
        Workflow(name="Remote", input_space="ftp://host/data", tasks=[python_task("A", "pass")])
    )
    path.write_text(remote)
    code, _, err = cli("run", str(path))
    assert code == 2 and "only local folders and file:// URLs are supported" in err

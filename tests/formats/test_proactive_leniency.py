"""What ProActive accepts that real catalog workflows hit, accepted the same way (docs/workflow-format.md)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from runyard import formats
from runyard.cli.main import app
from runyard.client import ApiError, Client
from runyard.errors import WorkflowError
from runyard.scheduler.submission import prepare_job
from runyard.scripts import Bindings, ScriptOutput, ScriptSource, register
from support.server import live_server

JOB = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="lenient">
  <variables>
    <variable name="SETTINGS" value="" model="PA:JSON"/>
    <variable name="TWICE" value="first"/>
    <variable name="NODES" value="3" model="PA:Integer"/>
    <variable name="TWICE" value="second"/>
    <variable name="WHEN" value="0000-00-00 00:00" model="PA:DATETIME(yyyy-MM-dd HH:mm)"/>
  </variables>
  <taskFlow>
    <task name="A">
      <parallel numberOfNodes="${NODES}"/>
      <scriptExecutable>
        <script><file url="${PA_CATALOG_REST_URL}/buckets/scripts/resources/hello/raw"/></script>
      </scriptExecutable>
    </task>
  </taskFlow>
</job>
"""


def _validate(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "job.xml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(path)])
    return result.exit_code, result.output


def test_proactive_cases_are_valid(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, JOB)
    assert code == 0, output
    assert "valid (1 task)" in output


def test_cases_read_as_proactive_reads_them() -> None:
    workflow = formats.loads(JOB)
    variables = {v.name: v.value for v in workflow.variables}
    assert list(variables) == ["SETTINGS", "TWICE", "NODES", "WHEN"]  # the first place, the last value
    assert variables["TWICE"] == "second"
    job = prepare_job(workflow, {"NODES": "5"}, owner="alice", now=0.0)
    parallel = job.workflow.tasks[0].parallel
    assert parallel is not None and parallel.number_of_nodes == 5


def test_bad_values_are_still_refused(tmp_path: Path) -> None:
    workflow = formats.loads(JOB)
    try:
        prepare_job(workflow, {"NODES": "3", "SETTINGS": "{"}, owner="alice", now=0.0)
    except WorkflowError as error:
        assert "is not valid JSON" in str(error)
    else:
        raise AssertionError("an invalid JSON value was accepted")
    hostile = JOB.replace('value="3" model="PA:Integer"', 'value="3; rm -rf /"')
    try:
        prepare_job(formats.loads(hostile), owner="alice", now=0.0)
    except WorkflowError as error:
        assert "numberOfNodes" in str(error) and "3; rm -rf /" in str(error)
    else:
        raise AssertionError("a numberOfNodes that is not a number was accepted")
    code, output = _validate(tmp_path, JOB.replace('value="0000-00-00 00:00"', 'value="someday"'))
    assert code == 1 and "is not a date matching 'yyyy-MM-dd HH:mm'" in output


def test_unrunnable_languages_warn_at_validate_and_are_refused_at_submission(tmp_path: Path) -> None:
    text = """<job xmlns="urn:proactive:jobdescriptor:3.14" name="windows">
  <taskFlow>
    <task name="Ps"><scriptExecutable><script><code language="powershell">Write-Output 1</code></script>
    </scriptExecutable></task>
    <task name="Java"><javaExecutable class="org.example.Pi"/></task>
    <task name="Rb"><scriptExecutable><script><file path="tool.rb"/></script></scriptExecutable></task>
  </taskFlow>
</job>"""
    (tmp_path / "tool.rb").write_text("puts 1")
    code, output = _validate(tmp_path, text)
    assert code == 0, output
    assert "task 'Ps', scriptExecutable: powershell scripts cannot run here" in output
    assert "task 'Java', executable: javaExecutable org.example.Pi cannot run here" in output
    assert "tool.rb' is in ruby, which runyard cannot run" in output
    try:
        prepare_job(formats.load(tmp_path / "job.xml"), owner="alice", now=0.0)
    except WorkflowError as error:
        assert [(p.task, p.field) for p in error.problems] == [
            ("Ps", "scriptExecutable"),
            ("Java", "executable"),
            ("Rb", "scriptExecutable"),
        ]
    else:
        raise AssertionError("an unrunnable workflow was accepted at submission")


def test_an_unknown_language_is_still_an_error(tmp_path: Path) -> None:
    text = JOB.replace(
        '<file url="${PA_CATALOG_REST_URL}/buckets/scripts/resources/hello/raw"/>',
        "<code language='klingon'>x</code>",
    )
    code, output = _validate(tmp_path, text)
    assert code == 1 and "unknown script language 'klingon'" in output


class _AbsentInterpreter:
    def run(self, source: ScriptSource, bindings: Bindings) -> ScriptOutput:
        raise AssertionError("an unavailable engine ran")

    def unavailable(self) -> str:
        return "its interpreter is not installed"


def test_an_engine_that_says_it_is_unavailable(tmp_path: Path) -> None:
    register("acc-unavailable", _AbsentInterpreter())
    text = JOB.replace(
        '<file url="${PA_CATALOG_REST_URL}/buckets/scripts/resources/hello/raw"/>',
        "<code language='acc-unavailable'>x</code>",
    )
    code, output = _validate(tmp_path, text)
    assert code == 0 and "acc-unavailable scripts cannot run here: its interpreter is not installed" in output
    try:
        prepare_job(formats.loads(text), owner="alice", now=0.0)
    except WorkflowError as error:
        assert "its interpreter is not installed" in str(error)
    else:
        raise AssertionError("a script of an unavailable engine was accepted at submission")


WINDOWS = """<job xmlns="urn:proactive:jobdescriptor:3.14" name="windows">
  <taskFlow>
    <task name="Ps"><scriptExecutable><script><code language="powershell">Write-Output 1</code></script>
    </scriptExecutable></task>
  </taskFlow>
</job>"""


def test_rest_validate_warns_and_submission_refuses_with_the_reason(tmp_path: Path) -> None:
    with live_server(tmp_path / "server") as server:
        _, token = server.new_user()
        with Client(server.url, token) as client:
            checked = client.validate_workflow(WINDOWS)
            assert checked["valid"] and checked["problems"] == []
            [warning] = checked["warnings"]
            assert (warning["task"], warning["field"], warning["line"]) == ("Ps", "scriptExecutable", 3)
            assert "powershell scripts cannot run here" in warning["message"]
            try:
                client.submit(WINDOWS)
            except ApiError as error:
                assert error.status == 400 and error.error == "invalid_workflow"
                assert "task 'Ps', scriptExecutable: powershell scripts cannot run here" in error.message
            else:
                raise AssertionError("a powershell workflow was accepted at submission")
            assert client.list_jobs()["total"] == 0

"""ProActive job XML: reading every construct, locations, errors with lines, and writing."""

from __future__ import annotations

import pytest
from lxml import etree

from runyard import formats
from runyard.errors import WorkflowFormatError
from runyard.model import (
    Block,
    IfAction,
    JavaExecutable,
    NativeExecutable,
    ScriptExecutable,
    SelectionType,
)

FULL = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:{version}" name="Full" priority="${{PRIO}}" onTaskError="pauseJob"
     restartTaskOnError="elsewhere" maxNumberOfExecution="${{N}}" taskRetryDelay="1:00"
     projectName="p" tags="a, b">
  <variables>
    <variable name="N" value="2" model="PA:Integer" description="d" group="g" advanced="true" hidden="false"/>
    <variable name="PRIO" value="low"/>
  </variables>
  <description><![CDATA[ a job ]]></description>
  <genericInformation><info name="k" value="v"/></genericInformation>
  <inputSpace url="file:///in"/>
  <userSpace url="file:///user"/>
  <taskFlow>
    <task name="A" maxNumberOfExecution="3" fork="true" walltime="10:00" preciousResult="true">
      <variables><variable name="X" value="1" inherited="true"/></variables>
      <inputFiles>
        <files includes="a.txt,*.{{csv,tsv}}" excludes="b" accessMode="transferFromUserSpace"/>
      </inputFiles>
      <parallel numberOfNodes="2"><topology><thresholdProximity threshold="5"/></topology></parallel>
      <selection>
        <script type="static">
          <file url="http://x/check" language="groovy"><arguments><argument value="h"/></arguments></file>
        </script>
        <script><code language="cpython">selected = True</code></script>
      </selection>
      <forkEnvironment workingDir="/w" javaHome="/usr">
        <SystemEnvironment><variable name="PATH" value="/bin"/></SystemEnvironment>
        <jvmArgs><jvmArg value="-Xmx1g"/></jvmArgs>
        <additionalClasspath><pathElement path="x.jar"/></additionalClasspath>
        <envScript><script><code language="bash">echo env</code></script></envScript>
      </forkEnvironment>
      <pre><script><code language="bash"><![CDATA[
echo pre
]]></code></script></pre>
      <scriptExecutable><script><code language="cpython"><![CDATA[
print("hi")
result = 1
]]></code><arguments><argument value="a1"/></arguments></script></scriptExecutable>
      <controlFlow block="start">
        <if target="B" else="C" continuation="D"><script><file path="f.py" language="cpython"/></script></if>
      </controlFlow>
      <post><script><code language="bash">echo post</code></script></post>
      <cleaning><script><code language="bash">echo clean</code></script></cleaning>
      <outputFiles><files includes="out/**" accessMode="transferToUserSpace"/></outputFiles>
      <metadata><positionTop>1</positionTop></metadata>
    </task>
    <task name="B"><nativeExecutable>
      <staticCommand value="echo"><arguments><argument value="b"/></arguments></staticCommand>
    </nativeExecutable></task>
    <task name="C">
      <javaExecutable class="x.Y"><parameters><parameter name="p" value="1"/></parameters></javaExecutable>
    </task>
    <task name="D"><depends><task ref="B"/></depends>
      <nativeExecutable><staticCommand value="date"/></nativeExecutable></task>
  </taskFlow>
  <metadata><visualization><![CDATA[<html/>]]></visualization></metadata>
</job>
"""


@pytest.mark.parametrize("version", ["3.14", "3.3", "dev"])
def test_every_construct_is_read(version: str) -> None:
    workflow = formats.loads(FULL.format(version=version), validate=False)
    assert (workflow.name, workflow.priority, workflow.max_number_of_execution) == ("Full", "${PRIO}", "${N}")
    assert workflow.tags == ["a", "b"] and workflow.description == "a job"
    assert workflow.variables[0].advanced and workflow.variables[0].model == "PA:Integer"
    assert (workflow.input_space, workflow.user_space, workflow.output_space) == (
        "file:///in",
        "file:///user",
        None,
    )
    a = workflow.task("A")
    assert (a.max_number_of_execution, a.fork, a.walltime, a.precious_result) == (3, True, "10:00", True)
    assert a.variables[0].inherited
    assert a.input_files[0].includes == ["a.txt", "*.{csv,tsv}"]
    assert a.parallel is not None and (a.parallel.topology, a.parallel.threshold) == ("thresholdProximity", 5)
    assert [s.type for s in a.selection] == [SelectionType.STATIC, SelectionType.DYNAMIC]
    assert a.selection[0].script.arguments == ["h"] and a.selection[0].script.url == "http://x/check"
    assert a.fork_environment is not None and a.fork_environment.jvm_args == ["-Xmx1g"]
    assert a.pre is not None and a.pre.code == "echo pre"
    assert isinstance(a.executable, ScriptExecutable)
    assert a.executable.script.code == 'print("hi")\nresult = 1' and a.executable.script.arguments == ["a1"]
    assert a.control_flow is not None and a.control_flow.block is Block.START
    action = a.control_flow.action
    assert isinstance(action, IfAction) and (action.target, action.else_target, action.continuation) == (
        "B",
        "C",
        "D",
    )
    assert action.script.file == "f.py"
    assert a.metadata == "<positionTop>1</positionTop>"
    b, c = workflow.task("B").executable, workflow.task("C").executable
    assert b == NativeExecutable("echo", ["b"]) and c == JavaExecutable("x.Y", {"p": "1"})
    assert workflow.metadata == "<visualization>&lt;html/&gt;</visualization>"


def test_locations_record_source_lines() -> None:
    workflow = formats.loads(FULL.format(version="3.14"), source="full.xml", validate=False)
    assert workflow.source == "full.xml"
    assert workflow.locations["job"] == 4  # lxml counts the line where the start tag ends
    assert workflow.locations["variable:N"] == 6
    assert workflow.locations["task:A"] == 14
    assert workflow.locations["task:A/variable:X"] == 15
    assert workflow.locations["task:D/depends"] == 53


def test_writer_uses_namespace_3_14_and_cdata_and_reads_back_equal() -> None:
    workflow = formats.loads(FULL.format(version="3.3"), validate=False)
    text = formats.dump_xml(workflow)
    root = etree.fromstring(text.encode())
    assert root.tag == "{urn:proactive:jobdescriptor:3.14}job"
    assert "schedulerjob.xsd" in root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation", "")
    assert '<code language="cpython"><![CDATA[\nprint("hi")' in text
    order = [etree.QName(e).localname for e in root.find("{*}taskFlow/{*}task")]  # type: ignore[union-attr]
    assert order == [
        "variables",
        "inputFiles",
        "parallel",
        "selection",
        "forkEnvironment",
        "pre",
        "scriptExecutable",
        "controlFlow",
        "post",
        "cleaning",
        "outputFiles",
        "metadata",
    ]
    assert formats.loads(text, validate=False) == workflow


def test_malformed_xml_gives_file_line_and_column() -> None:
    with pytest.raises(WorkflowFormatError) as caught:
        formats.loads('<job name="x">\n  <taskFlow>\n  </task>\n</job>', source="bad.xml")
    [problem] = caught.value.problems
    assert (problem.source, problem.line) == ("bad.xml", 3)
    assert str(problem).startswith("bad.xml:3: column ") and "mismatch" in str(problem)


def test_a_document_that_is_not_a_job_is_refused() -> None:
    with pytest.raises(
        WorkflowFormatError, match=r"x\.xml:1: not a ProActive job: root element is <catalog>"
    ):
        formats.loads("<catalog/>", source="x.xml")


def test_unknown_elements_attributes_and_bad_values_are_located() -> None:
    text = (
        '<job xmlns="urn:proactive:jobdescriptor:3.14" name="Jobx" colour="red">\n'
        "  <taskFlow>\n"
        '    <task name="T" fork="maybe">\n'
        "      <wings/>\n"
        '      <scriptExecutable><script><code language="bash">true</code></script></scriptExecutable>\n'
        '      <controlFlow block="middle"/>\n'
        "    </task>\n"
        "  </taskFlow>\n"
        "</job>\n"
    )
    with pytest.raises(WorkflowFormatError) as caught:
        formats.loads(text, source="w.xml")
    assert [str(p) for p in caught.value.problems] == [
        "w.xml:1: unknown attribute 'colour' on <job>",
        "w.xml:3: task 'T': fork='maybe' is not a boolean (true or false)",
        "w.xml:4: task 'T': unknown element <wings> in <task>",
        "w.xml:6: task 'T': block='middle' is not 'start', 'end' or 'none'",
    ]


def test_legacy_cancel_job_on_error_becomes_on_task_error() -> None:
    text = (
        '<job name="Old" cancelJobOnError="true"><taskFlow><task name="T">'
        '<nativeExecutable><staticCommand value="x"/></nativeExecutable></task></taskFlow></job>'
    )
    assert formats.loads(text).on_task_error == "cancelJob"


def test_an_unknown_flow_action_is_located() -> None:
    text = (
        '<job name="Jump"><taskFlow><task name="T">\n'
        '<nativeExecutable><staticCommand value="x"/></nativeExecutable>\n'
        "<controlFlow><jump/></controlFlow></task></taskFlow></job>"
    )
    with pytest.raises(
        WorkflowFormatError, match=r"^j\.xml:3: task 'T': unknown element <jump> in <controlFlow>$"
    ):
        formats.loads(text, source="j.xml")

"""The constructed example of the ProActive reference (anchor §1.11): replicate, bash pre/clean scripts,
an inherited task variable, propagation, and file transfer through the user space."""

from __future__ import annotations

from pathlib import Path

from engine.helpers import cli_json, tasks_by_name

WORKFLOW = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Replicate_Bash_Python" priority="normal"
     onTaskError="continueJobExecution" maxNumberOfExecution="2" projectName="demo" tags="demo,replicate">
  <variables>
    <variable name="RUNS" value="3" model="PA:Integer[1,10]" description="number of branches"/>
    <variable name="VERBOSE" value="true" model="PA:Boolean"/>
    <variable name="GREETING" value="hello-${RUNS}"/>
  </variables>
  <description><![CDATA[ Split / process in parallel / merge ]]></description>
  <taskFlow>
    <task name="Split" fork="true">
      <scriptExecutable><script><code language="cpython"><![CDATA[
variables.put("SPLIT_DONE", "yes")
result = int(variables.get("RUNS"))
]]></code></script></scriptExecutable>
      <controlFlow>
        <replicate><script><code language="cpython"><![CDATA[
runs = int(variables.get("RUNS"))
]]></code></script></replicate>
      </controlFlow>
    </task>
    <task name="Process" preciousResult="true">
      <variables><variable name="SPLIT_DONE" value="no" inherited="true"/></variables>
      <depends><task ref="Split"/></depends>
      <pre><script><code language="bash"><![CDATA[
echo "pre $variables_PA_TASK_REPLICATION"
]]></code></script></pre>
      <scriptExecutable><script><code language="bash"><![CDATA[
echo "$variables_GREETING from $variables_PA_TASK_NAME ($variables_SPLIT_DONE)"
echo "r$variables_PA_TASK_REPLICATION" > "out_$variables_PA_TASK_REPLICATION.txt"
]]></code></script></scriptExecutable>
      <cleaning><script><code language="bash"><![CDATA[
echo "clean success=$variables_PA_TASK_SUCCESS"
]]></code></script></cleaning>
      <outputFiles><files includes="out_*.txt" accessMode="transferToUserSpace"/></outputFiles>
    </task>
    <task name="Merge">
      <depends><task ref="Process"/></depends>
      <inputFiles><files includes="out_*.txt" accessMode="transferFromUserSpace"/></inputFiles>
      <scriptExecutable><script><code language="cpython"><![CDATA[
import glob
print([str(r.value()) for r in results])
resultMap.put("merged", str(len(results)))
result = sorted(open(name).read().strip() for name in glob.glob("out_*.txt"))
]]></code></script></scriptExecutable>
    </task>
  </taskFlow>
</job>
"""


def test_reference_replicate_example_behaves_as_proactive(tmp_path: Path) -> None:
    path = tmp_path / "Replicate_Bash_Python.xml"
    path.write_text(WORKFLOW)
    code, report = cli_json("run", str(path))
    assert code == 0, report
    tasks = tasks_by_name(report)
    assert list(tasks) == ["Split", "Process", "Merge", "Process*1", "Process*2"]
    for replica in range(3):
        name = "Process" if replica == 0 else f"Process*{replica}"
        output = tasks[name]["output"]
        assert f"pre {replica}\n" in output
        assert f"hello-3 from {name} (yes)\n" in output  # propagated SPLIT_DONE beats the inherited default
        assert "clean success=true" in output
        assert tasks[name]["result"] == 0
    assert tasks["Merge"]["output"] == "['0', '0', '0']\n"  # the three replicas' results, in order
    assert tasks["Merge"]["result"] == ["r0", "r1", "r2"]  # files moved through the user space
    assert report["result_map"] == {"merged": "3"}
    assert report["variables"]["GREETING"] == "hello-3"

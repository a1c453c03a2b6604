"""What a task's ``resultMetadata`` held, in ProActive's result routes."""

from __future__ import annotations

from proactive_rest.conftest import ProActiveSession

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Report">
  <taskFlow>
    <task name="Render"><scriptExecutable><script><code language="groovy">
resultMetadata.put("file.name", "report.html")
resultMetadata.put("content.type", "text/html")
result = "&lt;h1&gt;done&lt;/h1&gt;"
</code></script></scriptExecutable></task>
  </taskFlow>
</job>"""


def test_result_metadata_is_served(sessions: list[ProActiveSession]) -> None:
    owner, other = sessions
    job = owner.submit(REPORT, who=None)
    assert owner.wait(job)["status"] == "FINISHED"
    expected = {"file.name": "report.html", "content.type": "text/html"}
    path = f"/rest/scheduler/jobs/{job}/tasks/Render/result"
    assert owner.client.get(f"{path}/metadata").json() == expected
    assert owner.client.get(path).json()["metadata"] == expected
    assert other.client.get(f"{path}/metadata").status_code == 403

"""What tasks get of ProActive's catalog: a script named by
``${PA_CATALOG_REST_URL}/buckets/B/resources/N/raw`` runs the object uploaded through ``/catalog``; a
task's own token reaches no ProActive route."""

from __future__ import annotations

import httpx

from proactive_catalog.callers import Caller
from runyard.client import Client
from support.server import LiveServer

WORKFLOW = """\
<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="CatalogScripts">
  <taskFlow>
    <task name="Compute">
      <scriptExecutable><script>
        <file url="${PA_CATALOG_REST_URL}/buckets/BUCKET/resources/compute.py/raw" language="cpython"/>
      </script></scriptExecutable>
    </task>
    <task name="Probe">
      <scriptExecutable><script><code language="cpython"><![CDATA[
import os, json, urllib.error, urllib.request
url = os.environ["RUNYARD_URL"].rstrip("/") + "/catalog/buckets/BUCKET/resources/compute.py/raw"
request = urllib.request.Request(url, headers={"sessionid": os.environ["RUNYARD_TOKEN"]})
try:
    urllib.request.urlopen(request, timeout=10)
    result = "reached"
except urllib.error.HTTPError as refused:
    result = json.dumps([refused.code, json.loads(refused.read())["exceptionClass"]])
]]></code></script></scriptExecutable>
    </task>
  </taskFlow>
</job>
"""


def test_catalog_scripts_and_job_tokens(server: LiveServer, alice: Caller) -> None:
    bucket = "tasks-scripts"
    assert (
        alice.http.post("/catalog/buckets", params={"name": bucket, "owner": alice.name}).status_code == 201
    )
    form = {
        "name": "compute.py",
        "kind": "Script/task",
        "commitMessage": "m",
        "objectContentType": "text/x-python",
    }
    script = "result = 6 * 7\n"
    uploaded = alice.http.post(
        f"/catalog/buckets/{bucket}/resources", data=form, files={"file": ("c.py", script)}
    )
    assert uploaded.status_code == 201, uploaded.text
    with Client(server.url, alice.token) as client:
        job_id = client.submit(WORKFLOW.replace("BUCKET", bucket))
        job = client.wait_for_job(job_id, timeout=60)
        assert job["status"] == "FINISHED", client.get_job_output(job_id)
        assert client.get_task_result(job_id, "Compute") == 42
        refused = client.get_task_result(job_id, "Probe")
    assert (
        refused == '[403, "org.ow2.proactive_grid_cloud_portal.scheduler.exception.PermissionRestException"]'
    )
    # the URL tasks are given serves the same content as ProActive's route
    given = f"{server.api}/catalog/buckets/{bucket}/resources/compute.py/raw"  # PA_CATALOG_REST_URL's
    native = httpx.get(given, headers={"sessionid": alice.token}).text
    assert native == alice.http.get(f"/catalog/buckets/{bucket}/resources/compute.py/raw").text == script

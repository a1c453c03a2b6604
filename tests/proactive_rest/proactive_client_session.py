"""Run by test_clients.py under an interpreter with the ``proactive`` package: URL USERNAME PASSWORD XML.

Prints ``what: value`` lines. The package's own quirks are worked around as its users do: job ids are
passed as text where its Java side takes a ``String``.
"""

import sys

import proactive  # type: ignore[import-not-found]  # not a dependency of runyard: see test_clients.py

url, username, password, workflow = sys.argv[1:5]
gateway = proactive.ProActiveGateway(url)
try:
    gateway.connect(username=username, password=password)
    print(f"connected: {gateway.isConnected()}", flush=True)
    job = gateway.submitWorkflowFromFile(workflow, {"WHO": "client"})
    print(f"job result: {gateway.getJobResult(job, 60000)}", flush=True)
    print(f"task result: {gateway.getTaskResult(job, 'Say', 60000)}", flush=True)
    print(f"finished: {gateway.isJobFinished(str(job))}", flush=True)
    print(f"job name: {gateway.getJobState(str(job))}", flush=True)
    print(f"output: {gateway.printJobOutput(job, 60000)}", flush=True)
    print(f"status: {gateway.getJobInfo(job).getStatus().toString()}", flush=True)
    print(f"hosts: {gateway.getProactiveRestApi().get_rm_model_hosts()}", flush=True)
    from_catalog = gateway.submitWorkflowFromCatalog("basic-examples", "Hello")
    print(f"catalog job result: {gateway.getJobResult(from_catalog, 60000)}", flush=True)
    gateway.disconnect()
finally:
    gateway.terminate()

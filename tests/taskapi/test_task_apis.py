"""The task-side APIs in real jobs: a task waits for a signal sent with the CLI; tasks incrementing one
channel key with ``compute`` at once lose no increment; a task submits a catalog workflow and waits for
it; the user space API stays in the user space; another user's tasks do not see one's channels."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_remote.conftest import Cli
from runyard.client import Client
from support.server import LiveServer, live_server

INCREMENTERS = 4
INCREMENTS = 5
_names = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server"), nodes=INCREMENTERS) as started:
        yield started


def workflow(name: str, tasks: dict[str, str], language: str = "cpython") -> str:
    """A YAML workflow of independent tasks in ``language``."""
    lines = [f"name: {name}", "tasks:"]
    for task, code in tasks.items():
        lines += [f"  {task}:", "    script:", f"      {language}: |-"]
        lines += [f"        {line}" for line in code.strip().splitlines()]
    return "\n".join(lines) + "\n"


def run(client: Client, text: str) -> dict[str, Any]:
    job_id = client.submit(text)
    job = client.wait_for_job(job_id, timeout=120)
    assert job["status"] == "FINISHED", client.get_job_output(job_id)
    return dict(job)


WAITER = """
signalapi.readyForSignal("Go", [{"name": "N", "value": "1", "model": "PA:Integer[1,10]"}])
print("ready", signalapi.getJobSignals())
signal = signalapi.waitForAny(["Go", "Stop"], 60000)
signalapi.removeManySignals(["ready_Go", "ready_Stop"])
result = signal.getName() + ":" + signal.getUpdatedVariables()["N"]
"""


def test_a_task_waits_for_a_signal_sent_with_the_cli(server: LiveServer, tmp_path: Path) -> None:
    _, token = server.new_user()
    with Client(server.url, token) as client:
        job_id = client.submit(workflow("Waiting", {"Wait": WAITER}))
        for event in client.events(job_id, subscribed=True):
            if event["kind"] == "subscribed" and client.list_signals(job_id)["signals"]:
                break
            if event["kind"] == "signal":
                break
        cli = Cli(server.url, token, tmp_path)
        listed = cli.json("signal", "list", str(job_id))
        assert listed["names"] == ["ready_Go"]
        assert listed["signals"][0]["task"] == "Wait"
        code, table, _ = cli("signal", "list", str(job_id))
        assert code == 0 and "Go" in table and "N=1 (PA:Integer[1,10])" in table
        _, other = server.new_user()
        code, _, error = Cli(server.url, other, tmp_path)("signal", "send", str(job_id), "Go")
        assert code == 2 and "another user" in error
        code, _, error = cli("signal", "send", str(job_id), "Go", "--var", "N=11")
        assert code == 2 and "N" in error  # out of the model's range: refused, still ready
        code, _, error = cli("signal", "send", str(job_id), "Go", "--var", "N=5")
        assert code == 0, error
        job = client.wait_for_job(job_id, timeout=60)
        assert job["status"] == "FINISHED", client.get_job_output(job_id)
        assert job["tasks"][0]["result"] == "Go:5"
        assert client.list_signals(job_id)["names"] == ["Go"]  # received; only the ready ones removed


INCREMENT = f"""
synchronizationapi.createChannelIfAbsent("counters", False)
for _ in range({INCREMENTS}):
    synchronizationapi.compute("counters", "count", lambda k, v: (v or 0) + 1)
result = synchronizationapi.get("counters", "count")
"""


def test_concurrent_computes_lose_no_increment(server: LiveServer) -> None:
    with server.new_client() as client:
        run(client, workflow("Count", {f"Add{i}": INCREMENT for i in range(INCREMENTERS)}))
        entry = client.get_channel_entry("counters", "count")
        assert entry["value"] == INCREMENTERS * INCREMENTS
        assert entry["version"] == INCREMENTERS * INCREMENTS


CHILD = """\
name: Child
variables:
  X:
    value: "1"
tasks:
  Double:
    script:
      cpython: |-
        resultMap.put("doubled", int(variables.get("X")) * 2)
        result = int(variables.get("X")) * 2
"""

PARENT = """
catalog = variables.get("PA_CATALOG_REST_URL")
job_id = schedulerapi.submitFromCatalog(catalog, "{bucket}/Child", {{"X": "21"}}, {{}})
print("submitted", job_id.value())
job_result = schedulerapi.waitForJob(job_id, 60000)
assert schedulerapi.isJobFinished(job_id)
assert schedulerapi.getJobInfo(job_id).getNumberOfFinishedTasks() == 1
listed = [info for info in schedulerapi.getJobs(0, 10) if info.getJobId() == job_id]
assert listed[0].getNumberOfFinishedTasks() == 1 and listed[0].isFinished()
result = [job_result.getResultMap()["doubled"], job_result.getAllResults()["Double"]]
"""


def test_a_task_submits_a_catalog_workflow_and_waits_for_it(server: LiveServer) -> None:
    bucket = f"taskapi-{next(_names)}"
    with server.new_client() as client:
        client.create_bucket(bucket)
        client.push_object(bucket, "Child", CHILD, kind="Workflow/standard")
        job = run(client, workflow("Parent", {"Submit": PARENT.format(bucket=bucket)}))
        assert job["tasks"][0]["result"] == [42, 42]
        children = client.list_jobs(name="Child")["jobs"]
        assert [child["parent_id"] for child in children] == [job["id"]]


USERSPACE = """
import os
from pathlib import Path
Path("note.txt").write_text("kept")
userspaceapi.connect()
userspaceapi.pushFile("note.txt", "notes/note.txt")
userspaceapi.pullFile("notes/note.txt", "copy.txt")
os.symlink("/tmp", os.path.join(userspace, "out"))  # a link leading out of the space
refused = []
for attempt in ("../escape.txt", "out/escape.txt", "notes/../../escape.txt"):
    try:
        userspaceapi.pushFile("note.txt", attempt)
    except Exception as error:
        refused.append(type(error).__name__)
os.unlink(os.path.join(userspace, "out"))
result = [Path("copy.txt").read_text(), userspaceapi.listFiles("notes"), refused]
"""


def test_the_user_space_api_stays_in_the_user_space(server: LiveServer) -> None:
    with server.new_client() as client:
        job = run(client, workflow("Spaces", {"Files": USERSPACE}))
        copy, listed, refused = job["tasks"][0]["result"]
        assert copy == "kept" and listed == ["note.txt"]
        assert refused == ["TaskApiError", "TaskApiError", "TaskApiError"]
        assert client.read_userspace_file("notes/note.txt") == b"kept"


SPY = """
synchronizationapi.createChannelIfAbsent("secrets", True)
result = [synchronizationapi.get("secrets", "password"), synchronizationapi.keySet("secrets")]
synchronizationapi.put("secrets", "password", "overwritten")
"""


def test_another_users_tasks_do_not_see_ones_channels(server: LiveServer) -> None:
    with server.new_client() as alice, server.new_client() as bob:
        alice.create_channel("secrets")
        alice.put_channel_entry("secrets", "password", {"hunter": 2})
        job = run(bob, workflow("Spy", {"Spy": SPY}))
        assert job["tasks"][0]["result"] == [None, []]
        assert alice.get_channel_entry("secrets", "password")["value"] == {"hunter": 2}
        assert json.dumps(bob.get_channel_entry("secrets", "password")["value"]) == '"overwritten"'


REFUSED = """
answers = []
for call in (
    lambda: rmapi.addNodeToken(variables.get("PA_NODE_URL"), "MINE"),
    lambda: signalapi.sendSignal("Nobody_Waits"),
    lambda: synchronizationapi.conditionalCompute("any", "k", "{k, v -> v}", lambda k, v: v),
):
    try:
        call()
        answers.append("done")
    except Exception as error:
        answers.append(str(error))
result = answers
"""


def test_what_a_task_may_not_do_fails_saying_why(server: LiveServer) -> None:
    with server.new_client() as client:
        job = run(client, workflow("Refusals", {"Try": REFUSED}))
        token, signal, closure = job["tasks"][0]["result"]
        assert "PCA_INSTANCE_ID" in token
        assert "not ready for the signal" in signal
        assert "not both" in closure
        assert client.list_credentials() == []


GROOVY_INCREMENT = f"""
synchronizationapi.createChannelIfAbsent("groovy-counters", false)
{INCREMENTS}.times {{ synchronizationapi.compute("groovy-counters", "count", "{{k, v -> (v ?: 0) + 1}}") }}
"""
GROOVY_WAITER = """
signalapi.readyForSignal("Go", [[name: "N", value: "1", model: "PA:Integer[1,10]"]])
def received = signalapi.waitForAny(["Go", "Stop"] as Set)
signalapi.removeManySignals(new HashSet<>(["Go", "Stop"].collect { "ready_" + it }))
result = received.getName() + ":" + received.getUpdatedVariables()["N"]
"""


def test_groovy_tasks_count_with_closure_strings_and_wait_for_signals(server: LiveServer) -> None:
    with server.new_client() as client:
        adders = 2  # a JVM each (the node's warm one): two show the race
        run(client, workflow("Count", {f"Add{i}": GROOVY_INCREMENT for i in range(adders)}, "groovy"))
        assert client.get_channel_entry("groovy-counters", "count")["value"] == adders * INCREMENTS

        job_id = client.submit(workflow("Waiting", {"Wait": GROOVY_WAITER}, "groovy"))
        for event in client.events(job_id, subscribed=True):
            if event["kind"] == "signal" or (
                event["kind"] == "subscribed" and client.list_signals(job_id)["signals"]
            ):
                break
        client.send_signal(job_id, "Go", {"N": "6"})
        job = client.wait_for_job(job_id, timeout=60)
        assert job["status"] == "FINISHED", client.get_job_output(job_id)
        assert job["tasks"][0]["result"] == "Go:6"


NODES = """
rmapi.connect()
nodes = rmapi.getNodes()
mine = [node for node in nodes if node["url"] == variables.get("PA_NODE_URL")]
result = [
    len(nodes), mine[0]["task"], variables.get("PA_NODE_URL") in rmapi.listAliveNodeUrls(),
    rmapi.getNodeTokens(variables.get("PA_NODE_URL")),
]
"""


def test_rmapi_lists_the_nodes_as_the_owner_sees_them(server: LiveServer) -> None:
    with server.new_client() as client:
        job = run(client, workflow("Nodes", {"List": NODES}))
        assert job["tasks"][0]["result"] == [INCREMENTERS, "List", True, []]

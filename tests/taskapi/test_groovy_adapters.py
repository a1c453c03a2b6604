"""The Groovy adapters of the task-side APIs, in the warm JVM, with a job's token on a live server: closure
strings and closures for the channels' atomic operations, received signals and returned jobs keeping
their methods, JobVariable-like objects passed as variables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard.client import Client
from runyard.errors import RunyardError
from runyard.model import Script
from runyard.scripts import Bindings, JavaMap, ScriptFailure, get_engine, run_script
from runyard.taskapi import TaskApis
from support.needs import missing
from support.server import LiveServer
from taskapi.conftest import job_token, running_job

SCRIPT = r"""
synchronizationapi.createChannelIfAbsent("groovy", false)
synchronizationapi.put("groovy", "stack", new java.util.Stack())
synchronizationapi.compute("groovy", "stack", "{ k, stack -> stack.push(\"a\"); stack}")
synchronizationapi.compute("groovy", "count", "{k, v -> (v ?: 0) + 1}")
synchronizationapi.compute("groovy", "count", { k, v -> v + 1 })
def taken = synchronizationapi.waitUntilThen("groovy", "stack", "{ k, v -> !v.isEmpty()}", "{k, v -> v}")
synchronizationapi.waitUntil("groovy", "count", "{k, x -> x > 1}")

class Var { String name; String value; String model }
signalapi.readyForSignal("Go", [new Var(name: "N", value: "3", model: "PA:Integer[1,9]")])
def before = signalapi.checkForSignals(["Go"] as Set)
signalapi.sendSignal("Go", [N: "4"])
def signal = signalapi.waitForAny(["Go", "Stop"] as Set)

def child = "name: Child\ntasks:\n  D:\n    script:\n      cpython: resultMap.put('x', 2)\n"
def jobId = schedulerapi.submit(child)
def jobResult = schedulerapi.waitForJob(jobId, 60000)
result = [
    taken.getActionResult(), synchronizationapi.get("groovy", "count"),
    before.isEmpty(), signal.getName(), signal.getUpdatedVariables(), signalapi.getJobSignals(),
    jobId.value() == jobId.toString(), jobResult.getResultMap(), schedulerapi.getJobState(jobId).isFinished(),
]
"""


@pytest.fixture(scope="module")
def job(alice: Client) -> Iterator[int]:
    try:
        get_engine("groovy")
    except RunyardError as why:
        missing(f"no groovy engine here: {why} (scripts/setup installs it)")
    job_id = running_job(alice)
    yield job_id
    alice.kill_job(job_id)


def groovy(
    text: str, server: LiveServer, alice: Client, job: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Run ``text`` as a Groovy script of a task of ``job``; its ``result``."""
    monkeypatch.setenv("RUNYARD_URL", server.url)
    monkeypatch.setenv("RUNYARD_TOKEN", job_token(server, job, alice.whoami()["name"]))
    variables = JavaMap({"PA_JOB_ID": str(job), "PA_TASK_NAME": "Groovy"})
    localspace = tmp_path / "localspace"
    localspace.mkdir(exist_ok=True)
    apis = TaskApis(variables)
    try:
        bindings = Bindings(variables=variables, localspace=str(localspace), apis=apis)
        output = run_script(Script("groovy", text), bindings, label="<groovy>", source_dir=None)
    finally:
        apis.close()
    assert output.values is not None
    return output.values["result"]


def test_the_adapters_give_groovy_what_proactive_scripts_call(
    server: LiveServer, alice: Client, job: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken, count, empty, name, values, names, same_id, result_map, finished = groovy(
        SCRIPT, server, alice, job, tmp_path, monkeypatch
    )
    assert taken == ["a"] and count == 2
    assert empty is True and name == "Go" and values == {"N": "4"} and names == ["Go"]
    assert same_id is True and result_map == {"x": 2} and finished is True
    assert alice.list_signals(job)["signals"][0]["variables"][0]["model"] == "PA:Integer[1,9]"


def test_a_refused_call_is_an_exception_in_groovy(
    server: LiveServer, alice: Client, job: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ScriptFailure) as failed:
        groovy('signalapi.sendSignal("Never_Ready")', server, alice, job, tmp_path, monkeypatch)
    assert "not ready for the signal" in str(failed.value)
    with pytest.raises(ScriptFailure) as bad_closure:
        groovy(
            'synchronizationapi.compute("groovy", "k", "not a closure")',
            server,
            alice,
            job,
            tmp_path,
            monkeypatch,
        )
    assert "closure" in str(bad_closure.value).lower() or "compute" in str(bad_closure.value)


def test_a_cpython_task_may_pass_closure_strings(
    server: LiveServer, alice: Client, job: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ProActive's Python tasks do (GetStarted/in_memory_workflow): the operation runs in the JVM."""
    monkeypatch.setenv("RUNYARD_URL", server.url)
    monkeypatch.setenv("RUNYARD_TOKEN", job_token(server, job, alice.whoami()["name"]))
    monkeypatch.chdir(tmp_path)
    apis = TaskApis(JavaMap({"PA_JOB_ID": str(job)}))
    sync = apis["synchronizationapi"]
    try:
        sync.createChannelIfAbsent("memory", False)
        sync.put("memory", "pending", [])
        sync.compute("memory", "pending", '{ k, stack -> stack.push("job-1"); stack}')
        taken = sync.waitUntilThen("memory", "pending", "{ k, v -> !v.isEmpty()}", "{k, v -> v}", 10000)
        sync.compute("memory", "pending", '{k, v -> v.remove("job-1"); v}')
        assert taken.getActionResult() == ["job-1"] and taken.isPredicateTrue()
        assert sync.get("memory", "pending") == []
        assert sync.merge("memory", "count", 1, "{old, one -> old + one}") == 1
        assert sync.merge("memory", "count", 1, "{old, one -> old + one}") == 2
    finally:
        apis.close()

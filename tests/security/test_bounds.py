"""Denial of service through bad input (issue 9, finding 7): every input is bounded, never a crash.

A hostile user submits documents that crashed or stalled the server (YAML nested 30,000 deep, an
alias bomb, XML entity and depth bombs), walltimes that killed every node agent, and flow scripts
that asked for 1e300 replicas or an endless loop. Each must be refused with a 400 naming the limit,
or fail its job with the reason in the task's error, while the server keeps answering and a kill
still gets in. The server here runs with lowered ``max_walltime`` and ``max_tasks_per_job`` (set
through the server config, as an operator would) and the default ``max_replicas``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.hostile import HostileUser, hostile_users
from support.server import LiveServer, live_server

MAX_WALLTIME = 3600
MAX_TASKS = 400


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("server")
    with live_server(data_dir, max_walltime=MAX_WALLTIME, max_tasks_per_job=MAX_TASKS) as started:
        yield started


@pytest.fixture
def mallory(server: LiveServer) -> HostileUser:
    return hostile_users(server, 1)[0]


def alias_bomb() -> str:
    """Billion laughs in YAML, in 342 bytes: nine anchors, each nine aliases of the one before."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


def entity_bomb() -> str:
    entities = "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE job [<!ENTITY a "lollollollollollollollollollol">{entities}]>\n'
        '<job xmlns="urn:proactive:jobdescriptor:3.14" name="&i;"><taskFlow/></job>\n'
    )


def deep_xml(levels: int) -> str:
    nested = "<x>" * levels + "</x>" * levels
    return (
        '<job xmlns="urn:proactive:jobdescriptor:3.14" name="Deep"><taskFlow><task name="A">'
        '<scriptExecutable><script><code language="cpython">pass</code></script></scriptExecutable>'
        f"</task></taskFlow><metadata>{nested}</metadata></job>"
    )


def replicate(runs: str) -> str:
    """Split asks for ``runs`` replicas of Process, Merge collects them."""
    return (
        "name: Replicate\ntasks:\n"
        "  Split:\n    script: {cpython: result = 1}\n"
        f"    flow:\n      replicate:\n        script: {{cpython: 'runs = {runs}'}}\n"
        "  Process:\n    depends: [Split]\n    script: {cpython: result = 2}\n"
        "  Merge:\n    depends: [Process]\n    script: {cpython: result = 3}\n"
    )


def refusal(answer: httpx.Response) -> str:
    """The message and every problem of a 400, as one text."""
    assert answer.status_code == 400, answer.text
    body: dict[str, Any] = answer.json()
    return " ".join([body["message"], *(p["message"] for p in body["details"] or [])])


def assert_alive(server: LiveServer) -> None:
    started = time.monotonic()
    assert httpx.get(f"{server.api}/health", timeout=5).status_code == 200
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("document", "limit"),
    [
        pytest.param("a: " + "[" * 30_000 + "]" * 30_000, "limit of 100 levels", id="yaml-30000-deep"),
        pytest.param(
            "".join(" " * i + "k:\n" for i in range(2000)), "limit of 100 levels", id="yaml-deep-map"
        ),
        pytest.param(alias_bomb(), "nodes (aliases expanded) than the limit", id="yaml-alias-bomb"),
        pytest.param(deep_xml(30_000), "limit of 100 levels", id="xml-30000-deep"),
        pytest.param(deep_xml(150), "limit of 100 levels", id="xml-150-deep"),
        pytest.param(entity_bomb(), "amplification", id="xml-entity-bomb"),
    ],
)
def test_a_bomb_document_is_a_400_naming_the_limit_at_once(
    server: LiveServer, mallory: HostileUser, document: str, limit: str
) -> None:
    started = time.monotonic()
    answer = mallory.submit_answer(document)
    assert limit in refusal(answer)
    assert time.monotonic() - started < 5
    assert_alive(server)


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ('walltime: "99999999:00:00"', "walltime"),
        ('walltime: "1:00:01"', "walltime"),
        ("walltime: " + "9" * 400, "walltime"),
        ('generic_information: {WALLTIME: "99999999:00:00"}', "genericInformation WALLTIME"),
    ],
)
def test_a_walltime_over_max_walltime_is_refused_at_submission(
    mallory: HostileUser, task: str, field: str
) -> None:
    answer = mallory.submit_answer(f"name: Long\ntasks:\n  A:\n    {task}\n    script: {{cpython: pass}}\n")
    assert answer.status_code == 400, answer.text
    problems = answer.json()["details"]
    assert {(p["task"], p["field"]) for p in problems} == {("A", field)}


def test_a_walltime_a_parent_propagates_fails_the_task_at_start_and_the_nodes_live(
    server: LiveServer, mallory: HostileUser
) -> None:
    workflow = (
        "name: Propagated\ntasks:\n"
        "  Set:\n    script:\n      cpython: variables['W'] = '99999999:00:00'\n"
        "  Use:\n    depends: [Set]\n    generic_information: {WALLTIME: '${W}'}\n"
        "    script: {cpython: result = 1}\n"
    )
    job = mallory.wait(mallory.submit(workflow))
    use = next(t for t in job["tasks"] if t["name"] == "Use")
    assert use["status"] == "FAULTY" and "max_walltime" in use["error"], use
    assert mallory.run("result = 42").result == 42  # the nodes are still there


def test_replicate_1e300_fails_the_job_with_the_reason_and_grows_nothing(
    server: LiveServer, mallory: HostileUser
) -> None:
    job = mallory.wait(mallory.submit(replicate("1e300")), timeout=30)
    assert job["status"] == "FAILED"
    assert [t["name"] for t in job["tasks"]] == ["Split", "Process", "Merge"]
    split = job["tasks"][0]
    assert split["status"] == "FAULTY" and "max_replicas" in split["error"], split
    assert_alive(server)


def test_replicate_past_max_tasks_per_job_fails_the_job(mallory: HostileUser) -> None:
    job = mallory.wait(mallory.submit(replicate(str(MAX_TASKS))), timeout=30)
    assert job["status"] == "FAILED" and len(job["tasks"]) == 3
    assert "max_tasks_per_job" in job["tasks"][0]["error"]


def test_an_endless_loop_fails_the_job_at_max_tasks_per_job(mallory: HostileUser) -> None:
    runs = MAX_TASKS // 2 - 3  # two iterations make MAX_TASKS - 2 instances: the third loop does not fit
    workflow = f"""\
name: Endless
tasks:
  Split:
    script: {{cpython: result = 1}}
    flow:
      block: start
      replicate: {{script: {{cpython: runs = {runs}}}}}
  Process:
    depends: [Split]
    script: {{cpython: result = 2}}
  Again:
    depends: [Process]
    script: {{cpython: result = 3}}
    flow:
      block: end
      loop: {{target: Split, script: {{cpython: loop = True}}}}
"""
    job = mallory.wait(mallory.submit(workflow), timeout=120)
    assert job["status"] == "FAILED"
    assert len(job["tasks"]) == MAX_TASKS - 2
    (faulty,) = [t for t in job["tasks"] if t["status"] == "FAULTY"]
    assert faulty["name"] == "Again#1" and "max_tasks_per_job" in faulty["error"], faulty


def test_kill_gets_in_right_after_an_expansion_at_the_limits(
    server: LiveServer, mallory: HostileUser
) -> None:
    job_id = mallory.submit(replicate(str(MAX_TASKS - 2)))  # 1 + (MAX_TASKS - 2) + 1 instances
    with mallory.client() as api:
        deadline = time.monotonic() + 60
        while api.get(f"/jobs/{job_id}").json()["tasks"][0]["status"] != "FINISHED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        started = time.monotonic()
        killed = api.post(f"/jobs/{job_id}/kill")
        assert killed.status_code == 200, killed.text
        assert time.monotonic() - started < 10
        job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "KILLED" and len(job["tasks"]) == MAX_TASKS
    assert_alive(server)


def test_after_a_restart_a_refused_expansion_does_not_start_again(tmp_path: Path) -> None:
    with live_server(tmp_path) as first:
        mallory = hostile_users(first, 1)[0]
        job_id = mallory.submit(replicate("1e300"))
        assert mallory.wait(job_id, timeout=30)["status"] == "FAILED"
        name = mallory.name
    with live_server(tmp_path) as second, second.client(second.login(name)) as api:
        time.sleep(1)  # a resumed job would have grown by now
        job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "FAILED" and len(job["tasks"]) == 3

"""Hostile Groovy and JavaScript tasks on a live server, every task sandboxed (as root: as its owner's
account): the JVM a scope's tasks share is no way into the platform, another user or another scope."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hostile import HostileUser, hostile_users
from support.server import LiveServer, live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


def groovy_probe(paths: list[str]) -> str:
    """Groovy answering ``{path: "READ" or the exception's class}`` for each of ``paths``."""
    listed = ", ".join(f"'{p}'" for p in paths)
    return textwrap.dedent(f"""\
        def found = [:]
        for (path in [{listed}]) {{
            try {{
                new File(path).withInputStream {{ it.read() }}
                found[path] = 'READ'
            }} catch (Exception e) {{
                found[path] = e.getClass().simpleName
            }}
        }}
        println "PROBE $found"
        result = found
        """)


def secret_file(user: HostileUser) -> Path:
    """``user`` keeps a secret in its userspace, written by a Groovy task."""
    code = f"new File(userspace, 'secret.txt').text = 'secret of {user.name}'"
    done = user.run(code, language="groovy")
    assert done.task_status == "FINISHED", done
    return user.server.data_dir / "spaces" / "user" / user.name / "secret.txt"


def test_a_groovy_task_reads_nothing_of_the_platform_or_of_another_user(server: LiveServer) -> None:
    mallory, alice = hostile_users(server, 2)
    alice_file = secret_file(alice)
    assert alice_file.exists()
    targets = [str(server.data_dir / "runyard.db"), str(server.data_dir / "credentials.key"), str(alice_file)]
    done = mallory.run(groovy_probe(targets), language="groovy")
    assert done.task_status == "FINISHED", done
    assert set(done.result) == set(targets)
    assert "READ" not in done.result.values(), done.result


def test_another_scope_jvm_cannot_be_reached(server: LiveServer) -> None:
    """Alice's job folder holds her scope's JVM socket: Mallory's scripts see neither the folder's
    content nor the socket (another job of Alice's neither)."""
    mallory, alice = hostile_users(server, 2)
    alice_job = alice.run("result = 1", language="groovy").job_id
    folder = server.data_dir / "spaces" / "local" / str(alice_job)
    sockets = sorted(p.name for p in folder.glob(".runyard-jvm-*.sock"))
    assert sockets, "Alice's JVM listens in her job's folder"
    look = (
        f"def folder = new File('{folder}')\n"
        f"def socket = new File(folder, '{sockets[0]}')\n"
        "result = [folder.list() == null || folder.list().length == 0, socket.exists()]"
    )
    for user in (mallory, alice):  # Alice's next job is another scope too
        seen = user.run(look, language="groovy")
        assert (seen.task_status, seen.result) == ("FINISHED", [True, False]), seen


def test_nothing_crosses_from_one_scope_to_the_next(server: LiveServer) -> None:
    """Mallory's job leaves what it can in its JVM; Alice's next job (another scope: another JVM) and
    Mallory's own next job (another JVM too: a job is a scope) find none of it."""
    mallory, alice = hostile_users(server, 2)
    plant = textwrap.dedent("""\
        System.setProperty('planted', 'by mallory')
        String.metaClass.planted = { -> 'by mallory' }
        Locale.setDefault(Locale.JAPAN)
        result = new File('/proc/self').canonicalFile.name
        """)
    planted = mallory.run(plant, language="groovy")
    assert planted.task_status == "FINISHED", planted
    look = textwrap.dedent("""\
        def metaclass = 'x'.respondsTo('planted') ? 'planted' : 'clean'
        result = [System.getProperty('planted'), metaclass, Locale.getDefault().toString(),
                  new File('/proc/self').canonicalFile.name]
        """)
    for user in (alice, mallory):
        seen = user.run(look, language="groovy")
        assert seen.task_status == "FINISHED", seen
        assert seen.result[:3] == [None, "clean", seen.result[2]] and seen.result[2] != "ja_JP"
        assert seen.result[3] != planted.result  # not the JVM the plant ran in


def test_within_a_scope_executions_start_clean(server: LiveServer) -> None:
    """Two tasks of one job share its JVM: what the first leaves in it the second does not find."""
    (mallory,) = hostile_users(server, 1)
    workflow = textwrap.dedent("""\
        name: Scope
        tasks:
          Plant:
            script:
              groovy: |-
                System.setProperty('planted', 'yes')
                String.metaClass.planted = { -> 'yes' }
                class Holder { static String value = 'initial' }
                Holder.value = 'planted'
                result = new File('/proc/self').canonicalFile.name
          Look:
            depends: [Plant]
            script:
              groovy: |-
                class Holder { static String value = 'initial' }
                result = [System.getProperty('planted'), 'x'.respondsTo('planted') ? 'planted' : 'clean',
                          Holder.value, new File('/proc/self').canonicalFile.name == results[0].value()]
        """)
    job_id = mallory.submit(workflow)
    job = mallory.wait(job_id)
    tasks = {task["name"]: task for task in job["tasks"]}
    assert tasks["Look"]["status"] == "FINISHED", tasks
    assert tasks["Look"]["result"] == [None, "clean", "initial", True]  # the same, warm JVM


def test_javascript_is_contained_too(server: LiveServer) -> None:
    (mallory,) = hostile_users(server, 1)
    code = (
        "var found = 'DENIED';\n"
        f"try {{ new java.io.FileInputStream('{server.data_dir / 'runyard.db'}').read(); found = 'READ'; }}"
        " catch (e) {}\n"
        "result = found;"
    )
    done = mallory.run(code, language="javascript")
    assert (done.task_status, done.result) == ("FINISHED", "DENIED"), done


def test_result_metadata_is_kept_with_the_result_and_only_for_its_owner(server: LiveServer) -> None:
    mallory, alice = hostile_users(server, 2)
    code = (
        "resultMetadata.put('content.type', 'text/plain')\n"
        "resultMetadata.put('file.name', 'a.txt')\n"
        "result = 'hi'"
    )
    done = alice.run(code, language="groovy")
    assert done.task_status == "FINISHED", done
    with alice.client() as api:
        answer = api.get(f"/jobs/{done.job_id}/tasks/Attack/result")
    assert answer.status_code == 200, answer.text
    assert answer.json()["metadata"] == {"content.type": "text/plain", "file.name": "a.txt"}
    with mallory.client() as api:
        assert api.get(f"/jobs/{done.job_id}/tasks/Attack/result").status_code in (403, 404)


def test_a_sandboxed_script_past_its_walltime_stops_and_the_job_goes_on(server: LiveServer) -> None:
    (mallory,) = hostile_users(server, 1)
    workflow = textwrap.dedent("""\
        name: Sleepy
        on_task_error: continueJobExecution
        tasks:
          Sleep:
            walltime: "2"
            script:
              groovy: Thread.sleep(60000)
          After:
            depends: [Sleep]
            script:
              groovy: result = 'after'
        """)
    started = time.monotonic()
    job = mallory.wait(mallory.submit(workflow))
    tasks = {task["name"]: task for task in job["tasks"]}
    assert time.monotonic() - started < 30
    assert tasks["Sleep"]["status"] == "FAULTY" and "walltime" in tasks["Sleep"]["error"]
    assert (tasks["After"]["status"], tasks["After"]["result"]) == ("FINISHED", "after")

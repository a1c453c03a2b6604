"""Service Automation trusts the platform's records, not the client's (issue 9, findings 2, 4, 5, 8, and
an ERROR that says why): Alice runs the built-in Static_HTTP service, Bob attacks it through the REST
API, his own buckets, workflows and service instance; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.hostile import HostileUser, hostile_users
from support.server import LiveServer, backend_server

TIMEOUT = 60
FAST = {"HEALTH_CHECK_CRON": "* * * * * */1"}

#: A service of one's own: its activation sets RUNNING at once (no process, no node kept).
OWN_START = """
name: @NAME@
variables:
  INSTANCE_NAME: own-$PA_JOB_ID
generic_information:
  pca.service.id: @SERVICE@
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      cpython: |-
        from runyard.services import psa
        psa.propagate_variables_to_current_service(variables, "STARTED_BY", "@NAME@")
        psa.update_service_and_remove_tokens(variables, "RUNNING", "PSA_none")
"""

#: An action that leaves a mark in the instance it runs on, then finishes it.
MARKING_FINISH = """
name: @NAME@
generic_information:
  pca.service.id: @SERVICE@
  pca.states: (RUNNING,FINISHED)
tasks:
  Finish:
    script:
      cpython: |-
        from runyard.services import psa
        psa.propagate_variables_to_current_service(variables, "MARK", "@MARK@")
        psa.update_service_and_remove_tokens(variables, "FINISHED", "PSA_none")
"""


def workflow(template: str, name: str, service_id: str, marker: str = "") -> str:
    return template.replace("@SERVICE@", service_id).replace("@NAME@", name).replace("@MARK@", marker)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with backend_server(request, tmp_path_factory.mktemp("server"), nodes=4) as started:
        yield started


@pytest.fixture(scope="module")
def users(server: LiveServer) -> list[HostileUser]:
    return hostile_users(server)


@pytest.fixture(scope="module")
def victim(users: list[HostileUser]) -> dict[str, Any]:
    """Alice's Static_HTTP (the built-in service), RUNNING."""
    alice = users[0]
    with alice.client() as api:
        return start(api, {"service_id": "Static_HTTP", "bucket": "service-automation", "variables": FAST})


@pytest.fixture(scope="module")
def attacker(users: list[HostileUser]) -> dict[str, Any]:
    """An instance of Bob's own service, RUNNING."""
    return own_instance(users[1])


def own_instance(user: HostileUser) -> dict[str, Any]:
    """A RUNNING instance of a service of the user's own bucket."""
    service_id = f"Own_{uuid.uuid4().hex[:8]}"
    user.push(f"{user.name}-{service_id.lower()}", "Own_Start", workflow(OWN_START, "Own_Start", service_id))
    with user.client() as api:
        return start(api, {"service_id": service_id})


def start(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    answer = api.post("/service-instances", json=body)
    assert answer.status_code == 201, answer.text
    instance = wait(api, answer.json()["id"])
    assert instance["status"] == "RUNNING", instance
    return instance


def wait(api: httpx.Client, instance_id: int) -> dict[str, Any]:
    """The instance once its transition is over."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        instance: dict[str, Any] = api.get(f"/service-instances/{instance_id}").json()
        if instance["transition"] is None or time.monotonic() > deadline:
            return instance
        time.sleep(0.2)


def serves(instance: dict[str, Any]) -> bool:
    """Whether the instance's endpoint answers."""
    (endpoint,) = instance["endpoints"].values()
    try:
        return httpx.get(endpoint["url"], timeout=5).status_code == 200
    except httpx.TransportError:
        return False


# -- finding 2: actions come from the instance's bucket ---------------------------------------------


def test_another_users_bucket_neither_blocks_nor_shadows_a_start(
    users: list[HostileUser], server: LiveServer
) -> None:
    """Bob's public bucket, first by name, holds a Static_HTTP activation and finish of his own: Alice's
    start still takes the built-in service, and her finish runs the built-in workflow, not Bob's code."""
    alice, bob, _ = users
    bucket = f"aaa-{uuid.uuid4().hex[:8]}"
    for name, template in (("Static_HTTP", OWN_START), ("Finish_Static_HTTP", MARKING_FINISH)):
        bob.push(bucket, name, workflow(template, name, "Static_HTTP", "bob"))
    with alice.client() as api:
        listed = [(s["id"], s["bucket"]) for s in api.get("/services").json() if s["id"] == "Static_HTTP"]
        assert sorted(listed) == [("Static_HTTP", bucket), ("Static_HTTP", "service-automation")]
        instance = start(api, {"service_id": "Static_HTTP", "variables": FAST})
        assert instance["bucket"] == "service-automation"
        assert api.post(f"/service-instances/{instance['id']}/actions/Finish_Static_HTTP").status_code == 200
        done = wait(api, instance["id"])
    assert done["status"] == "FINISHED", done
    assert "MARK" not in done["variables"]
    assert [s["action"] for s in done["job_submissions"]] == [
        "service-automation/Static_HTTP",
        "service-automation/Finish_Static_HTTP",
    ]
    with bob.client() as api:  # Bob gets his own, and others' only when he names their bucket
        assert api.get("/services/Static_HTTP").json()["bucket"] == bucket
        named = api.get("/services/Static_HTTP", params={"bucket": "service-automation"}).json()
        assert named["bucket"] == "service-automation"


def test_an_instance_runs_only_the_actions_of_its_own_bucket(users: list[HostileUser]) -> None:
    """Bob pushes an action named as one of Alice's own service, with its id: her instance runs hers."""
    alice, bob, _ = users
    service_id = f"Mine_{uuid.uuid4().hex[:8]}"
    mine, theirs = f"zzz-{service_id.lower()}", f"aaa-{service_id.lower()}"
    alice.push(mine, "Mine_Start", workflow(OWN_START, "Mine_Start", service_id))
    alice.push(mine, "Mine_Finish", workflow(MARKING_FINISH, "Mine_Finish", service_id, "alice"))
    bob.push(theirs, "Mine_Finish", workflow(MARKING_FINISH, "Mine_Finish", service_id, "bob"))
    with alice.client() as api:
        instance = start(api, {"service_id": service_id})
        assert api.post(f"/service-instances/{instance['id']}/actions/Mine_Finish").status_code == 200
        done = wait(api, instance["id"])
    assert (done["status"], done["variables"]["MARK"]) == ("FINISHED", "alice"), done
    assert done["job_submissions"][-1]["action"] == f"{mine}/Mine_Finish"


# -- finding 4: node tokens ---------------------------------------------------------------------------


def test_node_tokens_only_on_the_instances_nodes_and_never_anothers(
    users: list[HostileUser], server: LiveServer, victim: dict[str, Any], attacker: dict[str, Any]
) -> None:
    alice, bob, _ = users
    (held,) = victim["node_tokens"]
    path = f"/service-instances/{attacker['id']}/node-tokens"
    with server.client(server.admin_token) as admin:
        nodes = [n["name"] for n in admin.get("/nodes").json()]
    other = next(n for n in nodes if n != held["node"])
    with bob.client() as api:
        stolen = api.post(path, json={"node": held["node"], "token": held["token"]})
        assert stolen.status_code == 400, stolen.text
        assert "may only hold its own node token" in stolen.json()["message"]
        own = f"PSA_{attacker['variables']['INSTANCE_NAME']}"
        reserved = api.post(path, json={"node": other, "token": own})
        assert reserved.status_code == 403, reserved.text
        assert "runs no task of service instance" in reserved.json()["message"]
        released = api.delete(f"{path}/{held['token']}", params={"node": held["node"]})
        assert released.status_code == 200, released.text
    with server.client(server.admin_token) as admin:
        tokens = {n["name"]: n["tokens"] for n in admin.get("/nodes").json()}
    assert held["token"] in tokens[held["node"]]
    assert not any(own in t for t in tokens.values())
    with alice.client() as api:
        assert api.get(f"/service-instances/{victim['id']}").json()["node_tokens"] == [held]


# -- finding 5: deployments ---------------------------------------------------------------------------


def test_deployments_naming_another_users_process_or_container_are_refused(
    users: list[HostileUser], server: LiveServer, victim: dict[str, Any], attacker: dict[str, Any]
) -> None:
    """Bob claims Alice's service process (its run folder, then a copy of its state in his own folder) or
    any container: all refused, and killing his instance leaves Alice's service running."""
    _, bob, _ = users
    ref = victim["deployments"][0]["ref"]
    state = (Path(ref) / "state.json").read_text()
    forged = bob.run(
        "import os, pathlib\n"
        f"run = pathlib.Path(os.environ['RUNYARD_SERVICES_DIR']) / '{attacker['id']}-forged' / 'run'\n"
        "run.mkdir(parents=True, exist_ok=True)\n"
        f"(run / 'state.json').write_text({state!r})\n"
        "result = str(run)\n"
    )
    assert forged.status == "FINISHED", forged
    claims = [
        ({"engine": "process", "ref": ref}, "is not in the services folder of service instance"),
        ({"engine": "process", "ref": forged.result}, "is not this folder's service"),
        ({"engine": "docker", "ref": "0123456789ab"}, "was not started by the platform for service"),
        ({"engine": "singularity", "ref": victim["label"]}, "the platform records only"),
        ({"engine": "process", "ref": "run\u0000/.."}, "is not in the services folder"),
        ({"port": [victim["ports"][0]]}, "is not reserved for service instance"),
    ]
    with bob.client() as api:
        for claim, reason in claims:
            answer = api.patch(f"/service-instances/{attacker['id']}", json={"deployments": [claim]})
            assert answer.status_code == 400, (claim, answer.text)
            assert reason in answer.json()["message"], answer.text
        assert api.post(f"/service-instances/{attacker['id']}/kill").status_code == 200
    with server.client(server.admin_token) as admin:
        assert admin.get(f"/service-instances/{victim['id']}").json()["status"] == "RUNNING"
    assert serves(victim)


def test_a_kill_signals_what_was_recorded_not_what_the_state_file_says_later(
    users: list[HostileUser], server: LiveServer, victim: dict[str, Any]
) -> None:
    """Bob's own Static_HTTP is recorded; his task then rewrites its state file with Alice's pids and he
    kills his instance: his service stops, Alice's does not."""
    _, bob, _ = users
    with bob.client() as api:
        own = start(api, {"service_id": "Static_HTTP", "bucket": "service-automation", "variables": FAST})
    theirs = json.loads((Path(victim["deployments"][0]["ref"]) / "state.json").read_text())
    forged = {k: theirs[k] for k in ("supervisor_pid", "supervisor_ticks", "pid", "ticks", "pgid", "sid")}
    rewritten = bob.run(
        "import json, pathlib\n"
        f"state = pathlib.Path({own['deployments'][0]['ref']!r}) / 'state.json'\n"
        f"state.write_text(json.dumps({{**json.loads(state.read_text()), **{forged!r}}}))\n"
    )
    assert rewritten.status == "FINISHED", rewritten
    with bob.client() as api:
        assert api.post(f"/service-instances/{own['id']}/kill").status_code == 200
    assert not serves(own)
    assert serves(victim)


# -- finding 8: endpoints the proxy reaches -----------------------------------------------------------


class _Canary(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"internal")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def canary() -> Iterator[tuple[int, list[str]]]:
    """An internal HTTP service on loopback the platform must never fetch for a user: (port, hits)."""
    listener = ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    yield listener.server_address[1], _Canary.hits
    listener.shutdown()
    listener.server_close()


def test_the_proxy_only_reaches_endpoints_on_ports_reserved_for_the_instance(
    users: list[HostileUser], server: LiveServer, victim: dict[str, Any], canary: tuple[int, list[str]]
) -> None:
    _, bob, _ = users
    port, hits = canary
    own = own_instance(bob)["id"]
    with bob.client() as api:
        urls = {
            f"http://127.0.0.1:{port}/": "is not reserved for service instance",
            f"http://127.0.0.1:{victim['ports'][0]}/": "is not reserved for service instance",
            "http://169.254.169.254/latest/meta-data/": "the host must be an IPv4 loopback address",
            f"http://localhost:{port}/": "the host must be an IPv4 loopback address",
            f"http://[::1]:{port}/": "the host must be an IPv4 loopback address",
            "http://[::1/": "give SCHEME://HOST:PORT",
        }
        for url, reason in urls.items():
            endpoint = {"id": "e", "url": url, "proxyfied": True}
            answer = api.patch(f"/service-instances/{own}", json={"deployments": [{"endpoint": endpoint}]})
            assert answer.status_code == 400, (url, answer.text)
            assert reason in answer.json()["message"], answer.text
        taken = api.post(f"/service-instances/{own}/ports", json={"port": port})
        assert taken.status_code == 409, taken.text
        assert "in use" in taken.json()["message"]
        proxied = api.get(f"/service-instances/{own}/endpoints/e/")
        assert proxied.status_code == 404, proxied.text
    assert hits == []


# -- an instance in ERROR says why --------------------------------------------------------------------

FAILING_START = """
name: Failing_Start
variables:
  INSTANCE_NAME: failing-$PA_JOB_ID
  DEPLOY_ERROR_MESSAGE: no GPU left on this cluster
generic_information:
  pca.service.id: @SERVICE@
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      cpython: |-
        from runyard.services import psa
        psa.add_deployments_and_update_service(variables, "DEPLOYMENT", 0)
"""


def test_an_instance_in_error_says_why_and_service_start_shows_it(
    users: list[HostileUser], server: LiveServer
) -> None:
    _, _, carol = users
    service_id = f"Failing_{uuid.uuid4().hex[:8]}"
    carol.push(f"carol-{service_id.lower()}", "Failing_Start", FAILING_START.replace("@SERVICE@", service_id))
    environment = {**os.environ, "RUNYARD_URL": server.url, "RUNYARD_TOKEN": carol.token}
    command = [sys.executable, "-m", "runyard", "service", "start", service_id, "--wait"]
    shown = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=TIMEOUT)
    assert shown.returncode == 1, shown
    assert "is in ERROR: no GPU left on this cluster" in shown.stdout + shown.stderr
    with carol.client() as api:
        (instance,) = [i for i in api.get("/service-instances").json() if i["service_id"] == service_id]
        assert instance["error"] == "no GPU left on this cluster"
        unexplained = api.patch(f"/service-instances/{instance['id']}", json={"status": "ERROR"}).json()
    assert unexplained["status"] == "ERROR"
    assert "without saying why" in unexplained["error"]


BROKEN_START = """
name: Broken_Start
variables:
  INSTANCE_NAME: broken-$PA_JOB_ID
generic_information:
  pca.service.id: @SERVICE@
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    on_task_error: cancelJob
    script:
      cpython: |-
        raise RuntimeError("the data folder's parent is not traversable")
    cleaning:
      cpython: |-
        from runyard.services import psa
        psa.clean_start_service(variables)
"""


def test_a_failed_start_tells_what_failed(users: list[HostileUser]) -> None:
    _, _, carol = users
    service_id = f"Broken_{uuid.uuid4().hex[:8]}"
    carol.push(f"carol-{service_id.lower()}", "Broken_Start", BROKEN_START.replace("@SERVICE@", service_id))
    with carol.client() as api:
        answer = api.post("/service-instances", json={"service_id": service_id})
        assert answer.status_code == 201, answer.text
        failed = wait(api, answer.json()["id"])
    assert failed["status"] == "ERROR"
    assert "RuntimeError: the data folder's parent is not traversable" in failed["error"], failed

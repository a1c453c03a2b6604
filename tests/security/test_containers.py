"""Containers are started by the platform, not by user code: a hostile service workflow asks the platform
for containers that would reach the host or another user, and every request is refused with the reason;
nothing it asked for runs. Another user's containers cannot be read, paused or stopped."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import docker
import pytest

from support.docker import docker_daemon
from support.hostile import HostileUser, hostile_users
from support.server import LiveServer, backend_server

pytestmark = pytest.mark.timeout(180, func_only=True)  # not the fixture: it may build the image

HTTP_IMAGE = "runyard/http:1"
MARK = "ANSWERS "

#: What the hostile workflow asks for, on top of a container of runyard/http on its reserved port.
ATTACKS: dict[str, tuple[dict[str, Any], str]] = {
    "privileged": ({"options": "--privileged"}, "containers never run privileged"),
    "capability": ({"options": "--cap-add=SYS_ADMIN"}, "no capability beyond Docker's default set"),
    "device": ({"options": "--device /dev/mem"}, "--device is not allowed"),
    "host network": ({"options": "--network host"}, "Docker network 'host' is not allowed"),
    "host pid": ({"options": "--pid=host"}, "--pid is not allowed"),
    "seccomp off": ({"options": "--security-opt seccomp=unconfined"}, "cannot be relaxed"),
    "privileged field": ({"privileged": True}, "privileged"),
    "mount of /": ({"volumes": {"/": "/host"}}, "mount '/' is refused"),
    "mount of / as an option": ({"options": "-v /:/host"}, "mount '/' is refused"),
    "mount of the docker socket's folder": ({"volumes": {"/run": "/run-host"}}, "mount '/run' is refused"),
    "named volume": ({"volumes": {"shared": "/shared"}}, "not named volumes"),
    "image not on the daemon": ({"image": "docker.io/library/alpine:3"}, "is not on the platform's Docker"),
    "unreserved port": ({"ports": {"8080": 1}}, "host port 1 is not reserved"),
    "memory above the limit": ({"options": "-m 100g"}, "above the platform's limit"),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server started once ``DOCKER_HOST`` is set: the platform's daemon, with runyard's http image."""
    with docker_daemon(["http"]), backend_server(request, tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture(scope="module")
def users(server: LiveServer) -> list[HostileUser]:
    return hostile_users(server, 3)


def containers_of(owner: str) -> list[Any]:
    """Every container of the daemon the platform started for ``owner``'s instances, running or not."""
    with closing(docker.from_env()) as daemon:
        found: list[Any] = daemon.containers.list(all=True, filters={"label": f"runyard.owner={owner}"})
        return found


def service_workflow(service_id: str, code: str) -> str:
    """A service (its activation only) whose start task runs ``code``: what a user may push."""
    body = textwrap.indent(textwrap.dedent(code).strip("\n"), " " * 8)
    return (
        f"name: {service_id}\n"
        "variables:\n"
        "  INSTANCE_NAME:\n"
        f"    value: {service_id.lower()}-$PA_JOB_ID\n"
        "generic_information:\n"
        f"  pca.service.id: {service_id}\n"
        "  pca.states: (VOID,RUNNING)\n"
        "tasks:\n"
        "  Start:\n"
        "    script:\n"
        "      cpython: |-\n"
        f"{body}\n"
    )


def start_service(user: HostileUser, service_id: str, code: str) -> dict[str, Any]:
    """Push the service to the user's bucket and start it; the instance once its job has ended."""
    bucket = f"{user.name}-services"
    user.push(bucket, service_id, service_workflow(service_id, code))
    with user.client() as api:
        answer = api.post("/service-instances", json={"service_id": service_id, "bucket": bucket})
        assert answer.status_code == 201, answer.text
        instance: dict[str, Any] = answer.json()
    user.wait(instance["job_submissions"][0]["job_id"], timeout=120)
    with user.client() as api:
        ended: dict[str, Any] = api.get(f"/service-instances/{instance['id']}").json()
    return ended


#: The start of a service task's code that calls the platform as its job: ``api``, ``containers``.
TASK_API = """
import json, os, pathlib, time
import httpx

instance = variables["PCA_INSTANCE_ID"]
api = httpx.Client(
    base_url=os.environ["RUNYARD_URL"] + "/api/v1",
    headers={"Authorization": "Bearer " + os.environ["RUNYARD_TOKEN"]},
    timeout=60,
)
containers = f"/service-instances/{instance}/containers"
"""

ATTACK_CODE = (
    TASK_API
    + """
port = api.post(f"/service-instances/{instance}/ports", json={"port": -1}).json()["port"]
space = pathlib.Path(userspace)
space.mkdir(parents=True, exist_ok=True)
(space / "page").mkdir(exist_ok=True)
(space / "root").symlink_to("/")
base = {"name": variables["INSTANCE_NAME"], "image": "runyard/http:1", "ports": {"8080": port}}
asks = ATTACKS
asks["symlink in the userspace to /"] = {"volumes": {str(space / "root"): "/host"}}
asks["the server's data folder"] = {"volumes": {DATA_DIR: "/data"}}
asks["another user's userspace"] = {"volumes": {VICTIM_SPACE: "/victim"}}
answers = {}
for what, ask in asks.items():
    answer = api.post(containers, json={**base, **ask})
    answers[what] = [answer.status_code, answer.text]
# What the policy allows: the owner's own userspace, a reserved port. Then the platform stops it.
allowed = api.post(containers, json={**base, "volumes": {str(space / "page"): "/srv/www:ro"}})
answers["allowed"] = [allowed.status_code, allowed.text]
if allowed.status_code == 201:
    ref = allowed.json()["ref"]
    stopped = api.post(f"{containers}/{ref}/stop")
    answers["stopped"] = [stopped.status_code, stopped.text]
print("MARK" + json.dumps(answers))
"""
)


def test_a_hostile_service_workflow_gets_no_dangerous_container(
    server: LiveServer, users: list[HostileUser]
) -> None:
    attacker, victim = users[0], users[1]
    (server.data_dir / "spaces" / "user" / victim.name).mkdir(parents=True, exist_ok=True)
    code = (
        ATTACK_CODE.replace("ATTACKS", repr({what: ask for what, (ask, _) in ATTACKS.items()}))
        .replace("DATA_DIR", repr(str(server.data_dir)))
        .replace("VICTIM_SPACE", repr(str(server.data_dir / "spaces" / "user" / victim.name)))
        .replace("MARK", MARK)
    )
    instance = start_service(attacker, "Evil", code)
    output = attacker.logs(instance["job_submissions"][0]["job_id"])
    lines = [line.partition(MARK)[2] for line in output.splitlines() if MARK in line]
    assert lines, output
    answers = {what: (status, json.loads(text)) for what, (status, text) in json.loads(lines[0]).items()}

    assert answers["allowed"][0] == 201, answers["allowed"]
    assert answers["stopped"][0] == 200 and answers["stopped"][1]["state"] == "MISSING", answers["stopped"]
    expected = {what: reason for what, (_, reason) in ATTACKS.items()}
    expected["symlink in the userspace to /"] = "symbolic links are not followed"
    expected["the server's data folder"] = "is refused: containers mount only the instance's own folders"
    expected["another user's userspace"] = "is refused"
    for what, reason in expected.items():
        status, body = answers[what]
        assert status == 400, (what, status, body)
        assert reason in json.dumps(body), (what, body)
    assert not containers_of(attacker.name)  # nothing it asked for runs, nor is left behind


def test_another_users_containers_cannot_be_reached(server: LiveServer, users: list[HostileUser]) -> None:
    """The victim's container is recorded for the victim's instance: the attacker can neither act on it
    through the victim's instance (403) nor through an instance of its own (404)."""
    attacker, victim = users[0], users[2]
    victim_code = """
    import os, httpx
    instance = variables["PCA_INSTANCE_ID"]
    api = httpx.Client(base_url=os.environ["RUNYARD_URL"] + "/api/v1",
                       headers={"Authorization": "Bearer " + os.environ["RUNYARD_TOKEN"]}, timeout=60)
    port = api.post(f"/service-instances/{instance}/ports", json={"port": -1}).json()["port"]
    body = {"name": variables["INSTANCE_NAME"], "image": "runyard/http:1", "ports": {"8080": port}}
    started = api.post(f"/service-instances/{instance}/containers", json=body)
    assert started.status_code == 201, started.text
    """
    target = start_service(victim, "Victim", victim_code)
    (ref,) = {d["ref"] for d in target["deployments"] if d.get("engine") == "docker"}
    own = start_service(attacker, "Decoy", "print('nothing')")
    theirs, mine = (
        f"/service-instances/{target['id']}/containers",
        f"/service-instances/{own['id']}/containers",
    )
    with attacker.client() as api:
        for change in ("stop", "pause", "resume"):
            assert api.post(f"{theirs}/{ref}/{change}").status_code == 403
            assert api.post(f"{mine}/{ref}/{change}").status_code == 404
        assert api.get(f"{theirs}/{ref}").status_code == 403
        assert api.get(f"{theirs}/{ref}/logs").status_code == 403
        assert api.get(f"{mine}/{ref}/logs").status_code == 404
        body = {"name": "stolen", "image": HTTP_IMAGE}
        assert api.post(theirs, json=body).status_code == 403
    (container,) = containers_of(victim.name)
    assert container.status == "running"
    with victim.client() as api:
        assert api.post(f"{theirs}/{ref}/stop").json()["state"] == "MISSING"
    assert not containers_of(victim.name)


SWAP_CODE = (
    TASK_API
    + """
page = pathlib.Path(userspace) / "page"
page.mkdir(parents=True, exist_ok=True)
(page / "only-this-folder").write_text("mine")
body = {"name": variables["INSTANCE_NAME"], "image": "runyard/http:1", "command": ["ls", "/mnt"],
        "volumes": {str(page): "/mnt:ro"}}
started = api.post(containers, json=body)
assert started.status_code == 201, started.text
ref = started.json()["ref"]

def exited():
    for _ in range(100):
        if api.get(f"{containers}/{ref}").json()["state"] == "EXITED":
            return
        time.sleep(0.1)
    raise AssertionError("the container did not exit")

exited()
for _ in range(100):  # the daemon may copy the output a moment after the exit
    seen = api.get(f"{containers}/{ref}/logs").text.split()
    if seen:
        break
    time.sleep(0.1)
kept = (page / "only-this-folder").read_text() if (page / "only-this-folder").exists() else None
page.rename(page.with_name("page-before"))
page.symlink_to("/")  # the folder the platform checked is now the host's root
resumed = api.post(f"{containers}/{ref}/resume")  # starting it again mounts its folders anew
state = api.get(f"{containers}/{ref}").json()["state"]
print("MARK" + json.dumps([seen, kept, resumed.status_code, resumed.json().get("message"), state]))
api.post(f"{containers}/{ref}/stop")
"""
)


def test_a_folder_swapped_for_a_link_is_never_mounted(server: LiveServer, users: list[HostileUser]) -> None:
    """The checked folder is replaced by a symbolic link to / before the exited container is started
    again (which makes Docker mount its folders anew): the start is refused, the host's root never
    mounted. The mounted folder keeps its files (the platform once removed its staging folder
    recursively while the owner's folder was still bound there)."""
    attacker = users[1]
    instance = start_service(attacker, "Swap", SWAP_CODE.replace("MARK", MARK))
    output = attacker.logs(instance["job_submissions"][0]["job_id"])
    lines = [line.partition(MARK)[2] for line in output.splitlines() if MARK in line]
    assert lines, output
    seen, kept, status, message, state = json.loads(lines[0])
    assert seen == ["only-this-folder"], output
    assert kept == "mine", output  # the platform's undoing of its binds never reaches the owner's files
    assert status == 400 and "'page' is not a folder (symbolic links are not followed)" in message, output
    assert state == "EXITED", output
    assert not containers_of(attacker.name)


def test_a_task_cannot_reach_the_docker_daemon(server: LiveServer, users: list[HostileUser]) -> None:
    """Reaching the daemon is root on its host: a task neither inherits its address nor may connect to its
    socket, even knowing where it is."""
    socket = os.environ["DOCKER_HOST"].removeprefix("unix://")
    code = f"""
import os, socket
print("DOCKER_HOST" in os.environ)
probe = socket.socket(socket.AF_UNIX)
try:
    probe.connect({socket!r})
    print("connected")
except OSError as error:
    print("refused", error.errno)
"""
    run = users[2].run(code)
    assert run.task_status == "FINISHED", run
    assert "False" in run.output and "refused" in run.output and "connected" not in run.output, run.output

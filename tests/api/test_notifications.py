"""Notifications over HTTP: a user's own only, bounds and rate, the event stream, and the notification
token of a service instance (its process notifies the owner; the token does nothing else, dies with the
instance, and cannot be forged)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runyard.auth.notification_tokens import NotificationTokens
from runyard.client import ApiError, Client
from runyard.store.notifications import RATE
from support.hostile import HostileUser, hostile_users
from support.server import ADMIN, LiveServer, bearer

#: The service process: posts a drift with its notification token (naming another owner in the body,
#: which counts for nothing), tries the token on another route, then stays up.
PROCESS = """
import json, os, time, urllib.error, urllib.request
url, token = os.environ["RUNYARD_NOTIFY_URL"], os.environ["RUNYARD_NOTIFY_TOKEN"]
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
try:
    urllib.request.urlopen(urllib.request.Request(url.replace("/notifications", "/jobs"), headers=headers))
    jobs = 200
except urllib.error.HTTPError as error:
    jobs = error.code
body = {"kind": "drift", "title": "Drift on m1", "owner": "root",
        "details": {"jobs": jobs, "job_token": "RUNYARD_TOKEN" in os.environ}}
urllib.request.urlopen(urllib.request.Request(url, json.dumps(body).encode(), headers))
time.sleep(600)
"""
START = f"""\
name: Notifying
variables:
  INSTANCE_NAME:
    value: notifying-$PA_JOB_ID
generic_information:
  pca.service.id: Notifying
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      cpython: |-
        import os, sys
        from runyard.services import launch, notifications
        env = {{k: v for k, v in os.environ.items() if k != "RUNYARD_TOKEN"}}
        env |= notifications.notification_environment(variables)
        launch.start_process(variables, [sys.executable, "-c", {json.dumps(PROCESS)}], env=env)
    post:
      cpython: |-
        from runyard.services import psa
        psa.post_start_service(variables)
"""
FINISH = """\
name: Finish_Notifying
generic_information:
  pca.service.id: Notifying
  pca.states: (RUNNING,FINISHED)
tasks:
  Finish:
    generic_information:
      NODE_ACCESS_TOKEN: $SERVICE_TOKEN
    pre:
      cpython: |-
        from runyard.services import psa
        psa.pre_trigger_action(variables, "FINISH_LAUNCHED")
    script:
      cpython: |-
        from runyard.services import launch
        launch.finish_action(variables)
    post:
      cpython: |-
        from runyard.services import psa
        psa.post_trigger_action(variables, "FINISHED")
    cleaning:
      cpython: |-
        from runyard.services import psa
        psa.clean_trigger_action(variables)
"""
NOTE = {"kind": "note", "title": "Remember", "message": "the milk", "details": {"n": 1}}


@pytest.fixture(scope="module")
def users(server: LiveServer) -> list[HostileUser]:
    """Alice owns the service; Bob and Carol are other users."""
    found = hostile_users(server, 3)
    found[0].push(f"notify-{found[0].name}", "Notifying", START)
    found[0].push(f"notify-{found[0].name}", "Finish_Notifying", FINISH)
    return found


class Listener:
    """A user's event stream, read in a thread from the moment it is made until a notification from
    ``source`` arrives."""

    def __init__(self, server: LiveServer, token: str, source: str) -> None:
        self.events: list[dict[str, Any]] = []
        self._source = source
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(server, token), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _read(self, server: LiveServer, token: str) -> None:
        with server.client(token) as client, client.stream("GET", "/events", timeout=60) as stream:
            for line in stream.iter_lines():
                if line == ": subscribed":
                    self._ready.set()
                elif line.startswith("data:"):
                    self.events.append(json.loads(line[5:]))
                    if self.events[-1].get("notification", {}).get("source", "").startswith(self._source):
                        return

    def notifications(self) -> list[dict[str, Any]]:
        """The notification events, up to the awaited one."""
        self._thread.join(60)
        assert not self._thread.is_alive(), self.events
        return [e for e in self.events if e["kind"] == "notification"]


@pytest.fixture(scope="module")
def service(server: LiveServer, users: list[HostileUser]) -> Iterator[tuple[dict[str, Any], list[Listener]]]:
    """Alice's Notifying instance once RUNNING, and the streams of Alice, Bob and the admin, opened
    before it started."""
    listeners = [
        Listener(server, users[0].token, "service-instance:"),
        Listener(server, users[1].token, f"user:{users[1].name}"),
        Listener(server, server.admin_token, f"user:{ADMIN}"),
    ]
    with Client(server.url, users[0].token) as alice:
        instance = alice.start_service("Notifying")
        yield dict(alice.wait_for_service_instance(instance["id"], timeout=60)), listeners
        alice.kill_service_instance(instance["id"])


def test_a_user_notifies_themself_and_sees_their_own_only(users: list[HostileUser]) -> None:
    alice, bob = users[0].client(), users[1].client()
    with alice, bob:
        posted = alice.post("/notifications", json={**NOTE, "owner": users[1].name})
        assert posted.status_code == 201, posted.text
        mine = posted.json()
        assert (mine["owner"], mine["source"], mine["service_instance_id"]) == (
            users[0].name,
            f"user:{users[0].name}",
            None,
        )
        assert {k: mine[k] for k in NOTE} == NOTE and mine["read_at"] is None
        assert mine["id"] not in [n["id"] for n in bob.get("/notifications").json()["notifications"]]
        for method, path in [("POST", "/notifications/{}/read"), ("DELETE", "/notifications/{}")]:
            assert bob.request(method, path.format(mine["id"])).status_code == 404
            assert alice.request(method, path.format(2147483000)).status_code == 404
        listed = alice.get("/notifications", params={"unread": True}).json()
        assert mine["id"] in [n["id"] for n in listed["notifications"]] and listed["unread"] >= 1
        read = alice.post(f"/notifications/{mine['id']}/read").json()
        assert read["read_at"] is not None
        unread = alice.get("/notifications", params={"unread": True}).json()["notifications"]
        assert mine["id"] not in [n["id"] for n in unread]
        assert alice.delete(f"/notifications/{mine['id']}").status_code == 204
        assert alice.delete(f"/notifications/{mine['id']}").status_code == 404


def test_bounds_and_rate(users: list[HostileUser]) -> None:
    with users[2].client() as carol:
        long = carol.post("/notifications", json={**NOTE, "title": "t" * 201})
        assert long.status_code == 400 and "title" in long.json()["message"], long.text
        big = carol.post("/notifications", json={**NOTE, "details": {"x": "d" * 20_000}})
        assert big.status_code == 400 and "16384" in big.json()["message"], big.text
        assert carol.post("/notifications", json={**NOTE, "kind": "a kind"}).status_code == 400
        answers = [carol.post("/notifications", json=NOTE).status_code for _ in range(RATE)]
        assert answers == [201] * RATE
        refused = carol.post("/notifications", json=NOTE)
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["details"] == {"retry_after": int(refused.headers["Retry-After"])}


def test_a_service_process_notifies_its_owner_on_her_stream_only(
    server: LiveServer, users: list[HostileUser], service: tuple[dict[str, Any], list[Listener]]
) -> None:
    instance, (alice_stream, bob_stream, admin_stream) = service
    assert instance["status"] == "RUNNING", instance
    (event,) = alice_stream.notifications()
    notification = event["notification"]
    assert event["owner"] == notification["owner"] == users[0].name
    assert notification["title"] == "Drift on m1"
    assert notification["source"] == f"service-instance:{instance['id']}"
    assert notification["service_instance_id"] == instance["id"]
    assert notification["details"] == {"jobs": 401, "job_token": False}
    with users[0].client() as alice:
        assert notification in alice.get("/notifications").json()["notifications"]
    # Bob and the admin get their own notification, raised after Alice's, and never hers.
    for stream, token in [(bob_stream, users[1].token), (admin_stream, server.admin_token)]:
        with server.client(token) as other:
            own = other.post("/notifications", json=NOTE).json()
        assert [e["notification"]["id"] for e in stream.notifications()] == [own["id"]]


def test_the_notification_token_reaches_nothing_else(
    server: LiveServer, users: list[HostileUser], service: tuple[dict[str, Any], list[Listener]]
) -> None:
    instance, _ = service
    with users[0].client() as alice:
        token = alice.post(f"/service-instances/{instance['id']}/notification-token").json()["token"]
    with users[1].client() as bob:
        assert bob.post(f"/service-instances/{instance['id']}/notification-token").status_code == 403
    reached = _walk(server, token)
    assert reached == {
        "POST /api/v1/notifications",
        "GET /api/v1/health",
        "POST /api/v1/sessions",
        "POST /api/v1/sessions/form",
    }


def test_forged_tokens_are_refused(
    server: LiveServer, users: list[HostileUser], service: tuple[dict[str, Any], list[Listener]]
) -> None:
    instance, _ = service
    with users[0].client() as alice:
        genuine = alice.post(f"/service-instances/{instance['id']}/notification-token").json()["token"]
    payload, _, signature = genuine.removeprefix("notify-").partition(".")
    other_payload = (
        base64.urlsafe_b64encode(f"{instance['id']}:{users[1].name}".encode()).decode().rstrip("=")
    )
    forged = [
        NotificationTokens(b"not the server's key").issue(instance["id"], users[0].name),
        f"notify-{payload}.{signature[:-1]}{'1' if signature.endswith('0') else '0'}",
        f"notify-{other_payload}.{signature}",  # another owner under Alice's signature
        genuine.replace("notify-", "job-"),  # a job token it is not
        "notify-garbage.deadbeef",
    ]
    for token in forged:
        answer = httpx.post(f"{server.api}/notifications", json=NOTE, headers=bearer(token))
        assert answer.status_code == 401, (token, answer.text)


def test_the_token_dies_with_its_instance(server: LiveServer, users: list[HostileUser]) -> None:
    with Client(server.url, users[0].token) as alice:
        for end in ("kill", "finish"):
            instance = alice.wait_for_service_instance(alice.start_service("Notifying")["id"], timeout=60)
            assert instance["status"] == "RUNNING", instance
            token = alice.create_notification_token(instance["id"])
            if end == "kill":
                alice.kill_service_instance(instance["id"])
            else:
                alice.run_service_action(instance["id"], "Finish_Notifying")
                assert alice.wait_for_service_instance(instance["id"], timeout=60)["status"] == "FINISHED"
            answer = httpx.post(f"{server.api}/notifications", json=NOTE, headers=bearer(token))
            assert answer.status_code == 401 and "ended" in answer.json()["message"], answer.text
            with pytest.raises(ApiError) as refused:
                alice.create_notification_token(instance["id"])
            assert refused.value.status == 409
        alice.clean_service_instance(instance["id"])
    answer = httpx.post(f"{server.api}/notifications", json=NOTE, headers=bearer(token))
    assert answer.status_code == 401


def test_the_token_dies_with_its_owners_account(server: LiveServer, users: list[HostileUser]) -> None:
    """Bob starts Alice's public service (naming her bucket); once his account is removed, his instance's
    token is refused."""
    with Client(server.url, users[1].token) as bob:
        started = bob.start_service("Notifying", bucket=f"notify-{users[0].name}")
        instance = bob.wait_for_service_instance(started["id"], timeout=60)
        assert instance["status"] == "RUNNING", instance
        token = bob.create_notification_token(instance["id"])
    with server.client(server.admin_token) as admin:
        assert httpx.post(f"{server.api}/notifications", json=NOTE, headers=bearer(token)).status_code == 201
        assert admin.delete(f"/users/{users[1].name}").status_code == 204
        answer = httpx.post(f"{server.api}/notifications", json=NOTE, headers=bearer(token))
        assert answer.status_code == 401, answer.text
        admin.post(f"/service-instances/{instance['id']}/kill")


def _walk(server: LiveServer, token: str) -> set[str]:
    """``METHOD path`` of the operations that did not answer ``token`` 401 (path parameters naming
    nothing: the token is refused before any route looks)."""
    schema = httpx.get(f"{server.api}/openapi.json").json()
    reached = set()
    with httpx.Client(base_url=server.url, headers=bearer(token), timeout=10) as client:
        for path, operations in schema["paths"].items():
            url = path
            for name in {
                p["name"] for o in operations.values() for p in o.get("parameters", []) if p["in"] == "path"
            }:
                url = url.replace(f"{{{name}}}", "1" if name.endswith("_id") else "nothing-here")
            for method in operations:
                if method.upper() == "GET" and path.endswith("events"):
                    with client.stream("GET", url) as answer:
                        status = answer.status_code
                else:
                    status = client.request(method.upper(), url, json=NOTE).status_code
                if status != 401:
                    reached.add(f"{method.upper()} {path}")
    return reached

"""Service instance and node events: what their owner, an admin and another user see of them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx

from runyard.client import Client, Script, ScriptExecutable, Task, Workflow
from runyard.client.documents import StreamEvent
from runyard.client.events import SUBSCRIBED
from support.server import LiveServer
from support.service_lifecycle import FAST, act

SERVICE, FINISH = "Static_HTTP", "Finish_Static_HTTP"
Stop = Callable[[StreamEvent], bool]


@contextmanager
def _following(
    server: LiveServer, tokens: dict[str, str], stops: dict[str, Stop]
) -> Iterator[dict[str, Future[list[StreamEvent]]]]:
    """Each user's events (read in a thread), up to the first one its ``stop`` holds for."""
    subscribed = threading.Barrier(len(tokens) + 1)

    def collect(token: str, stop: Stop) -> list[StreamEvent]:
        got: list[StreamEvent] = []
        with Client(server.url, token) as client:
            for event in client.events(subscribed=True):
                if event["kind"] == SUBSCRIBED:
                    subscribed.wait(10)
                    continue
                got.append(event)
                if stop(event):
                    break
        return got

    with ThreadPoolExecutor(len(tokens)) as pool:
        futures = {name: pool.submit(collect, token, stops[name]) for name, token in tokens.items()}
        subscribed.wait(10)
        yield futures


def _instances(events: list[StreamEvent]) -> list[tuple[Any, ...]]:
    return [
        (
            e["instance"]["id"],
            e["instance"].get("status"),
            e["instance"].get("transition"),
            e["instance"]["removed"],
        )
        for e in events
        if e["kind"] == "service_instance"
    ]


def test_instance_and_node_events_reach_whom_they_may(sqlite_server: LiveServer) -> None:
    server = sqlite_server
    _, alice_token = server.new_user()
    bob_name, bob_token = server.new_user()
    with ExitStack() as stack:
        alice = stack.enter_context(Client(server.url, alice_token))
        bob = stack.enter_context(Client(server.url, bob_token))
        admin = stack.enter_context(Client(server.url, server.admin_token))
        node = admin.list_nodes()[-1]["name"]
        killed: list[int] = []

        def cleaned(event: StreamEvent) -> bool:
            return (
                event["kind"] == "service_instance"
                and event["instance"]["id"] in killed
                and event["instance"]["removed"]
            )

        def bob_done(event: StreamEvent) -> bool:
            return event["kind"] == "job" and event["owner"] == bob_name and event["status"] == "FINISHED"

        tokens = {"alice": alice_token, "bob": bob_token, "admin": server.admin_token}
        with _following(server, tokens, {"alice": cleaned, "admin": cleaned, "bob": bob_done}) as futures:
            first = alice.start_service(SERVICE, FAST)
            running = alice.wait_for_service_instance(first["id"], timeout=60)  # follows the events
            assert running["status"] == "RUNNING", running
            act(alice, running, FINISH, "FINISHED")
            admin.lock_node(node)
            admin.unlock_node(node)
            second = alice.start_service(SERVICE, FAST)
            killed.append(second["id"])
            alice.kill_service_instance(second["id"])
            alice.clean_service_instance(second["id"])
            bob.submit(Workflow("Mark", tasks=[Task("Echo", ScriptExecutable(Script("bash", "echo")))]))
            seen = {name: future.result(60) for name, future in futures.items()}
    one, two = first["id"], second["id"]
    instances = _instances(seen["alice"])
    assert (one, "RUNNING", None, False) in instances
    assert (one, "RUNNING", "RUNNING -> FINISHED", False) in instances
    assert (one, "FINISHED", None, False) in instances
    assert [i for i in instances if i[0] == two][-2:] == [
        (two, "KILLED", None, False),
        (two, None, None, True),
    ]
    assert _instances(seen["admin"]) == instances
    assert not [e for e in seen["bob"] if e["kind"] in ("service_instance", "notification")]
    node_jobs = {e["info"]["job_id"] for e in seen["alice"] if e["kind"] == "node"}
    assert node_jobs - {None}, "alice's node events name her jobs"
    bob_nodes = [e["info"] for e in seen["bob"] if e["kind"] == "node"]
    assert not ({n["job_id"] for n in bob_nodes} & node_jobs - {None})
    locks = [(n["name"], n["locked"], n["locked_by"]) for n in bob_nodes if n["name"] == node]
    assert (node, False, None) == locks[-1] and next(lock for lock in locks if lock[1])[2] is not None


def test_an_instance_stream_carries_that_instance_only_and_its_owners(sqlite_server: LiveServer) -> None:
    """``/service-instances/{id}/events`` (what a task's job token follows): the instance's own changes,
    403 to another user; ``wait_for_service_instance`` from a task rides on it."""
    _, owner = sqlite_server.new_user()
    _, stranger = sqlite_server.new_user()
    with Client(sqlite_server.url, owner) as client:
        instance = client.start_service(SERVICE, dict(FAST))
        refused = httpx.get(
            f"{sqlite_server.api}/service-instances/{instance['id']}/events",
            headers={"Authorization": f"Bearer {stranger}"},
        )
        assert refused.status_code == 403
        wait = (
            "from runyard.services import psa\n"
            "with psa.client() as api:\n"
            f"    result = api.wait_for_service_instance({instance['id']}, 60)['status']\n"
        )
        waiter = Task("Wait", ScriptExecutable(Script("cpython", wait)))
        job = client.wait_for_job(client.submit(Workflow("WaitForIt", tasks=[waiter])), timeout=90)
        answered = client.get_job_result(job["id"])["results"]
        assert answered == {"Wait": "RUNNING"}, client.get_job_output(job["id"])
        act(client, client.get_service_instance(instance["id"]), FINISH, "FINISHED")

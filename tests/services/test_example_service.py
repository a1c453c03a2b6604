"""The Static_HTTP example service through the SDK: start, reach, finish; faults; refusals; the proxy."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from runyard.client import ApiError, Client
from support.server import LiveServer
from support.service_lifecycle import FAST, finish, process_pid, start, url

SERVICE, FINISH = "Static_HTTP", "Finish_Static_HTTP"


def _client(server: LiveServer) -> Client:
    _, token = server.new_user()
    return Client(server.url, token)


def test_start_reach_and_finish(server: LiveServer) -> None:
    with _client(server) as client:
        started = client.start_service(SERVICE, {"CONTENT": "bonjour", **FAST})
        assert started["status"] == "VOID" and started["transition"] == "VOID -> RUNNING"
        instance = client.wait_for_service_instance(started["id"], timeout=60)
        assert instance["status"] == "RUNNING", instance
        assert httpx.get(url(instance)).text == "bonjour"
        environment = Path(f"/proc/{process_pid(instance)}/environ").read_bytes()
        assert b"RUNYARD_TOKEN=" not in environment and b"RUNYARD_URL=" in environment  # no job token
        assert instance["node_tokens"] and instance["ports"] and instance["actions"] == [FINISH]
        assert [s["transition_state"] for s in instance["job_submissions"]] == ["VOID -> RUNNING"]
        finish(client, instance, FINISH)
        with pytest.raises(httpx.ConnectError):
            httpx.get(url(instance))


def test_killed_process_puts_the_instance_in_error_and_releases_its_node(server: LiveServer) -> None:
    with _client(server) as client:
        instance = start(client, SERVICE, {})
        os.kill(process_pid(instance), signal.SIGKILL)
        failed = client.wait_for_service_instance(instance["id"], timeout=10, until=["ERROR"])
        assert failed["status"] == "ERROR"
        finish(client, failed, FINISH)


def test_bad_variables_start_nothing(server: LiveServer) -> None:
    with _client(server) as client:
        before = client.list_service_instances()
        with pytest.raises(ApiError) as refused:
            client.start_service(SERVICE, {"SERVICE_PORT": "eighty"})
        assert refused.value.status == 400 and "SERVICE_PORT" in str(refused.value.details)
        with pytest.raises(ApiError) as unknown:
            client.start_service(SERVICE, {"NOPE": "1"})
        assert unknown.value.status == 400 and "NOPE" in str(unknown.value.details)
        with pytest.raises(ApiError) as missing:
            client.start_service("No_Such_Service")
        assert missing.value.status == 404
        assert client.list_service_instances() == before


def test_refused_action_lists_the_allowed_ones_then_kill_and_clean(server: LiveServer) -> None:
    with _client(server) as client:
        instance = start(client, SERVICE, {})
        with pytest.raises(ApiError) as refused:
            client.run_service_action(instance["id"], SERVICE)
        assert refused.value.status == 409 and refused.value.details == {"allowed": [FINISH]}
        pid = process_pid(instance)
        killed = client.kill_service_instance(instance["id"])
        assert killed["status"] == "KILLED" and not killed["node_tokens"] and not killed["ports"]
        assert killed["variables"]["SERVICE_TOKEN"] == ""
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        # Stopped on the service's node by a job of the owner, not by the server process.
        (stop,) = client.list_jobs(name=f"Kill_Service_Instance_{instance['id']}")["jobs"]
        (task,) = client.get_job(stop["id"])["tasks"]
        assert (stop["status"], task["node"]) == ("FINISHED", instance["node_tokens"][0]["node"])
        with pytest.raises(ApiError) as again:
            client.kill_service_instance(instance["id"])
        assert again.value.status == 409
        client.clean_service_instance(instance["id"])
        with pytest.raises(ApiError) as gone:
            client.get_service_instance(instance["id"])
        assert gone.value.status == 404


def test_two_instances_get_distinct_ports_names_and_nodes(server: LiveServer) -> None:
    with _client(server) as client:
        first, second = (start(client, SERVICE, {"CONTENT": text}) for text in ("one", "two"))
        assert first["label"] != second["label"] and first["ports"] != second["ports"]
        assert first["node_tokens"][0]["node"] != second["node_tokens"][0]["node"]
        assert [httpx.get(url(i)).text for i in (first, second)] == ["one", "two"]
        for instance in (first, second):
            client.kill_service_instance(instance["id"])


def test_only_the_owner_and_admins_see_an_instance(server: LiveServer) -> None:
    with _client(server) as owner:
        instance = start(owner, SERVICE, {})
        with _client(server) as stranger:
            with pytest.raises(ApiError) as hidden:
                stranger.get_service_instance(instance["id"])
            assert hidden.value.status == 403
            with pytest.raises(ApiError) as refused:
                stranger.kill_service_instance(instance["id"])
            assert refused.value.status == 403
            assert instance["id"] not in [i["id"] for i in stranger.list_service_instances()]
        with Client(server.url, server.admin_token) as admin:
            assert instance["id"] in [i["id"] for i in admin.list_service_instances("active")]
            assert admin.kill_service_instance(instance["id"])["status"] == "KILLED"


def test_proxyfied_endpoint_is_served_to_who_may_see_the_instance(server: LiveServer) -> None:
    _, token = server.new_user()
    with Client(server.url, token) as client:
        instance = start(client, SERVICE, {"PROXYFIED": "true", "CONTENT": "proxied"})
        proxied = url(instance, proxied=True)
        assert proxied.startswith(f"{server.url}/api/v1/service-instances/{instance['id']}/endpoints/")
        assert httpx.get(proxied, headers={"Authorization": f"Bearer {token}"}).text == "proxied"
        assert httpx.get(proxied).status_code == 401
        _, stranger = server.new_user()
        assert httpx.get(proxied, headers={"Authorization": f"Bearer {stranger}"}).status_code == 403
        with httpx.Client() as browser:  # a browser: the token once in the URL, then a cookie
            first = browser.get(f"{proxied}?token={token}")
            assert first.status_code == 303 and "token" not in first.headers["location"]
            assert browser.get(first.headers["location"]).text == "proxied"
        client.kill_service_instance(instance["id"])


def test_two_actions_at_once_one_runs_the_other_is_refused(server: LiveServer) -> None:
    with _client(server) as client:
        instance = start(client, SERVICE, {})

    def finish_it() -> str:
        with Client(server.url, client.token) as racer:
            try:
                return racer.run_service_action(instance["id"], FINISH)["transition"] or ""
            except ApiError as refused:
                return str(refused.status)

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: finish_it(), range(2)))
    assert outcomes == ["409", "RUNNING -> FINISHED"]
    with Client(server.url, client.token) as owner:
        assert owner.wait_for_service_instance(instance["id"], timeout=60)["status"] == "FINISHED"
        assert len(owner.get_service_instance(instance["id"])["job_submissions"]) == 2

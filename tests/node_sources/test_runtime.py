"""Node sources added and removed at run time through REST, the SDK and the CLI, by admins only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_remote.conftest import Cli
from client.helpers import sleeper, task_status, until
from runyard.client import ApiError, Client
from runyard.client.documents import Node, NodeSource
from support.server import LiveServer, bearer


def sources(client: Client) -> dict[str, NodeSource]:
    return {source["name"]: source for source in client.list_node_sources()}


def nodes_of(client: Client, source: str, count: int, timeout: float = 30) -> list[Node]:
    """The source's nodes once ``count`` of them are listed."""
    deadline = time.monotonic() + timeout
    while len(found := [n for n in client.list_nodes() if n["source"] == source]) != count:
        assert time.monotonic() < deadline, f"{source}: {found}"
        time.sleep(0.05)
    return found


def refused(call: Any, status: int, *said: str) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    assert raised.value.status == status, raised.value
    for text in said:
        assert text in raised.value.message, raised.value.message
    return raised.value


def test_the_config_sources_are_listed_with_proactive_node_states(admin: Client, alice: Client) -> None:
    listed = sources(alice)
    assert {name: (s["type"], s["origin"], s["state"], s["nodes"]) for name, s in listed.items()} == {
        "alpha": ("local", "config", "DEPLOYED", 1),
        "beta": ("local", "config", "DEPLOYED", 1),
    }
    assert listed["alpha"]["options"] is None  # a user does not see a source's options
    assert sources(admin)["alpha"]["options"] == {"nodes": 1}
    assert {(n["name"], n["state"], n["node_state"]) for n in alice.list_nodes()} == {
        ("alpha-1", "free", "FREE"),
        ("beta-1", "free", "FREE"),
    }


def test_a_task_on_a_removed_sources_node_runs_again_elsewhere(admin: Client, alice: Client) -> None:
    added = admin.add_node_source("extra", "local", {"nodes": 1})
    assert (added["origin"], added["state"], added["added_by"]) == ("runtime", "DEPLOYED", "root")
    nodes_of(admin, "extra", 1)
    for node in ("alpha-1", "beta-1"):  # the job can only start on extra-1
        admin.lock_node(node)
    try:
        job_id = alice.submit(sleeper(3))
        job = until(alice, job_id, lambda j: task_status(j, "Sleep") == "RUNNING")
        assert next(t["node"] for t in job["tasks"] if t["name"] == "Sleep") == "extra-1"
        admin.unlock_node("alpha-1")
        admin.remove_node_source("extra")
        assert "extra" not in sources(admin)
        assert all(n["source"] != "extra" for n in admin.list_nodes())
        job = alice.wait_for_job(job_id, timeout=60)
    finally:
        for node in ("alpha-1", "beta-1"):
            admin.unlock_node(node)
    assert job["status"] == "FINISHED"
    sleep = next(t for t in job["tasks"] if t["name"] == "Sleep")
    assert (sleep["node"], sleep["executions"]) == ("alpha-1", 2)


def test_bad_requests_are_refused_with_what_is_wrong_and_nothing_kept(admin: Client) -> None:
    before = sources(admin)
    refused(lambda: admin.add_node_source("bad", "cloud"), 400, "unknown node source type 'cloud'")
    refused(
        lambda: admin.add_node_source("bad", "local", {"nodes": 0}), 400, "nodes: Input should be greater"
    )
    refused(lambda: admin.add_node_source("bad", "local", {"nodes": 1, "gpus": 1}), 400, "gpus: Extra inputs")
    refused(lambda: admin.add_node_source("bad", "local"), 400, "nodes: Field required")
    refused(lambda: admin.add_node_source("../../data", "local", {"nodes": 1}), 400, "name: letters, digits")
    refused(lambda: admin.add_node_source("x" * 65, "local", {"nodes": 1}), 400)
    refused(lambda: admin.add_node_source("alpha", "local", {"nodes": 1}), 409, "exists already")
    refused(lambda: admin.remove_node_source("alpha"), 409, "config file")
    refused(lambda: admin.remove_node_source("nowhere"), 404, "no node source 'nowhere'")
    assert sources(admin) == before


def test_oversized_options_are_refused(server: LiveServer) -> None:
    with server.client(server.admin_token) as http:
        many = {f"k{i}": i for i in range(65)}
        answer = http.post("/node-sources", json={"name": "big", "type": "local", "options": many})
        assert answer.status_code == 400, answer.text
        deep = {"name": "deep", "type": "local", "options": {"nodes": {"a": {"b": 1}}}}
        assert http.post("/node-sources", json=deep).status_code == 400


def test_a_user_may_not_add_or_remove_a_source(server: LiveServer, alice: Client, tmp_path: Path) -> None:
    refused(lambda: alice.add_node_source("mine", "local", {"nodes": 1}), 403)
    refused(lambda: alice.remove_node_source("alpha"), 403)
    mark = tmp_path / "mark"
    trap = {"name": "trap", "type": "node_sources.factories:trap", "options": {"mark": str(mark)}}
    _, token = server.new_user()
    assert httpx.post(f"{server.api}/node-sources", json=trap, headers=bearer(token)).status_code == 403
    assert "trap" not in sources(alice)


def test_a_module_callable_type_is_refused_at_run_time_even_to_an_admin(
    admin: Client, tmp_path: Path
) -> None:
    mark = tmp_path / "mark"
    refused(
        lambda: admin.add_node_source("trap", "node_sources.factories:trap", {"mark": str(mark)}),
        400,
        "module:callable only in the server's config file",
    )
    assert not mark.exists()  # never imported nor called
    assert "trap" not in sources(admin)


def test_the_cli_adds_lists_and_removes_a_source(server: LiveServer, tmp_path: Path) -> None:
    admin = Cli(server.url, server.admin_token, tmp_path / "admin")
    code, out, err = admin("nodes", "source", "add", "cli", "--type", "local", "--nodes", "1")
    assert (code, out) == (0, "cli (local): DEPLOYED\n"), err
    [listed] = [s for s in admin.json("nodes", "source", "list") if s["name"] == "cli"]
    assert (listed["type"], listed["origin"], listed["options"]) == ("local", "runtime", {"nodes": 1})
    assert "cli" in admin("nodes", "source", "list")[1]
    code, _, err = admin("nodes", "source", "add", "cli2", "--type", "local", "--option", "nodes=x")
    assert code != 0 and "nodes" in err
    _, token = server.new_user()
    user = Cli(server.url, token, tmp_path / "user")
    code, _, err = user("nodes", "source", "remove", "cli")
    assert code != 0 and "admin" in err.lower()
    assert admin("nodes", "source", "remove", "cli")[0] == 0
    assert all(s["name"] != "cli" for s in admin.json("nodes", "source", "list"))


def test_a_source_that_does_not_start_is_refused_and_not_kept(admin: Client) -> None:
    nowhere = {"scheduler": "tcp://127.0.0.1:9", "connect_timeout": 2}  # nothing listens there
    refused(
        lambda: admin.add_node_source("nowhere", "dask", nowhere), 400, "did not start", "tcp://127.0.0.1:9"
    )
    assert "nowhere" not in sources(admin)
    admin.add_node_source("nowhere", "local", {"nodes": 1})  # the name is free
    admin.remove_node_source("nowhere")

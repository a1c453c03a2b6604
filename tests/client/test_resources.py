"""Nodes, credentials and accounts through the SDK."""

from __future__ import annotations

import pytest

from client.helpers import script_task
from runyard.client import ApiError, Client, Workflow
from support.server import PASSWORD, LiveServer


def test_nodes_and_node_sources(alice: Client, admin: Client) -> None:
    nodes = alice.list_nodes()
    assert [n["name"] for n in nodes] == ["local-1", "local-2"]
    [source] = alice.list_node_sources()
    assert (source["name"], source["nodes"], sum(source["states"].values())) == ("local", 2, 2)
    locked = admin.lock_node("local-2")
    assert (locked["state"], locked["locked_by"]) == ("locked", "root")
    assert admin.unlock_node("local-2")["state"] == "free"
    assert admin.add_node_token("local-2", "GPU")["tokens"] == ["GPU"]
    admin.remove_node_token("local-2", "GPU")
    assert alice.list_nodes()[1]["tokens"] == []
    with pytest.raises(ApiError) as unknown:
        admin.lock_node("no-such-node")
    assert unknown.value.status == 404


def test_a_task_reads_its_owners_credentials(alice: Client) -> None:
    assert alice.put_credential("API_KEY", "first") is True
    assert alice.put_credential("API_KEY", "s3cret") is False
    assert "API_KEY" in alice.list_credentials()
    reader = Workflow("Reader", tasks=[script_task("Read", "cpython", "result = credentials['API_KEY']")])
    job_id = alice.submit(reader)
    alice.wait_for_job(job_id, timeout=30)
    assert alice.get_task_result(job_id, "Read") == "s3cret"
    alice.delete_credential("API_KEY")
    assert "API_KEY" not in alice.list_credentials()
    with pytest.raises(ApiError) as gone:
        alice.delete_credential("API_KEY")
    assert gone.value.status == 404


def test_admins_manage_accounts(server: LiveServer, admin: Client) -> None:
    created = admin.add_user("bob_sdk", "first password")
    assert created == {"name": "bob_sdk", "role": "user"}
    assert {"name": "bob_sdk", "role": "user"} in admin.list_users()
    with pytest.raises(ApiError) as twice:
        admin.add_user("bob_sdk", "another password")
    assert twice.value.status == 409
    with Client(server.url) as bob:
        bob.login("bob_sdk", "first password")
        bob.change_password("bob_sdk", PASSWORD)
        with pytest.raises(ApiError) as ended:  # the change ended bob's sessions
            bob.whoami()
        assert ended.value.status == 401
        bob.login("bob_sdk", PASSWORD)
        with pytest.raises(ApiError) as other:
            bob.change_password("root", "taken over")
        assert other.value.status == 403
        bob.logout()
        bob.login("bob_sdk", PASSWORD)
        admin.remove_user("bob_sdk")
        with pytest.raises(ApiError) as removed:
            bob.whoami()
        assert removed.value.status == 401

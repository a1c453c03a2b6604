"""Who may do what: login, logout, missing, bad and expired tokens, other users' jobs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from client.helpers import greeting
from runyard.client import ApiError, Client
from support.server import ADMIN, PASSWORD, LiveServer, live_server


def test_login_keeps_the_token_and_logout_revokes_it(server: LiveServer) -> None:
    name, _ = server.new_user()
    with Client(server.url) as client:
        session = client.login(name, PASSWORD)
        assert session["user"] == name and session["role"] == "user"
        assert client.token == session["token"]
        assert client.whoami() == {"name": name, "role": "user"}
        client.logout()
        assert client.token is None
    with Client(server.url, session["token"]) as revoked, pytest.raises(ApiError) as caught:
        revoked.list_jobs()
    assert (caught.value.status, caught.value.error) == (401, "unauthorized")
    assert "expired or revoked" in caught.value.message


def test_wrong_password_is_401(server: LiveServer) -> None:
    with Client(server.url) as client, pytest.raises(ApiError) as caught:
        client.login(ADMIN, "not the password")
    assert caught.value.status == 401
    assert caught.value.message == "wrong user name or password"
    assert client.token is None


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_no_token_or_a_bad_one_is_401(server: LiveServer, token: str | None) -> None:
    with Client(server.url, token) as client:
        assert client.health()["status"] == "ok"  # the one route without a token
        with pytest.raises(ApiError) as caught:
            client.get_job(1)
    assert caught.value.status == 401


def test_an_expired_token_is_401(tmp_path: Path) -> None:
    with live_server(tmp_path, session_ttl=1) as short, Client(short.url) as client:
        client.login(ADMIN, PASSWORD)
        assert client.whoami()["name"] == ADMIN
        time.sleep(1.1)
        with pytest.raises(ApiError) as caught:
            client.whoami()
    assert caught.value.status == 401


def test_another_users_job_is_403_and_an_unknown_job_404(
    server: LiveServer, alice: Client, admin: Client
) -> None:
    job_id = admin.submit(greeting())
    with pytest.raises(ApiError) as forbidden:
        alice.get_job(job_id)
    assert (forbidden.value.status, forbidden.value.error) == (403, "forbidden")
    for call in (alice.get_job_result, alice.kill_job, alice.get_job_output):
        with pytest.raises(ApiError) as again:
            call(job_id)
        assert again.value.status == 403
    with pytest.raises(ApiError) as unknown:
        alice.get_job(10**9)
    assert (unknown.value.status, unknown.value.error) == (404, "not_found")
    assert admin.wait_for_job(job_id, timeout=30)["status"] == "FINISHED"


def test_admin_only_operations_are_403_for_users(alice: Client) -> None:
    for call in (alice.list_users, lambda: alice.lock_node("local-1"), lambda: alice.add_user("x", "y")):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.status == 403

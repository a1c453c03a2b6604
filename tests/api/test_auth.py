"""Logging in and out, tokens (bearer and sessionid header), roles, and what answers without a token."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from support.server import PASSWORD, LiveServer, bearer, live_server


def test_health_answers_without_a_token(server: LiveServer) -> None:
    answer = httpx.get(f"{server.api}/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs"),
        ("POST", "/jobs"),
        ("GET", "/jobs/1"),
        ("GET", "/nodes"),
        ("GET", "/credentials"),
        ("GET", "/users"),
        ("GET", "/events"),
        ("GET", "/me"),
        ("GET", "/catalog/buckets"),
    ],
)
def test_everything_else_needs_a_token(server: LiveServer, method: str, path: str) -> None:
    answer = httpx.request(method, server.api + path)
    assert answer.status_code == 401
    body = answer.json()
    assert body["error"] == "unauthorized"
    assert "log in" in body["message"]
    assert answer.headers["www-authenticate"] == "Bearer"


def test_login_gives_a_token_accepted_as_bearer_and_as_sessionid_header(server: LiveServer) -> None:
    name, _ = server.new_user()
    answer = httpx.post(f"{server.api}/sessions", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 201
    session = answer.json()
    assert session["user"] == name and session["role"] == "user"
    assert session["expires_at"] > time.time() + 3600
    assert httpx.get(f"{server.api}/me", headers=bearer(session["token"])).json() == {
        "name": name,
        "role": "user",
    }
    assert httpx.get(f"{server.api}/me", headers={"sessionid": session["token"]}).json()["name"] == name


def test_form_login_as_proactive_clients_send_it(server: LiveServer) -> None:
    name, _ = server.new_user()
    answer = httpx.post(f"{server.api}/sessions/form", data={"username": name, "password": PASSWORD})
    assert answer.status_code == 201
    assert answer.json()["user"] == name


@pytest.mark.parametrize("password", ["wrong password", ""])
def test_bad_password_and_unknown_user_are_refused_alike(server: LiveServer, password: str) -> None:
    name, _ = server.new_user()
    wrong = httpx.post(f"{server.api}/sessions", json={"username": name, "password": password})
    unknown = httpx.post(f"{server.api}/sessions", json={"username": "nobody-here", "password": "whatever1"})
    assert unknown.status_code == 401
    assert wrong.status_code == (401 if password else 400)
    if password:
        assert wrong.json()["message"] == unknown.json()["message"] == "wrong user name or password"


def test_bad_token_is_refused(server: LiveServer) -> None:
    answer = httpx.get(f"{server.api}/jobs", headers=bearer("not-a-token"))
    assert answer.status_code == 401
    assert "unknown, expired or revoked" in answer.json()["message"]


def test_logout_revokes_the_token(server: LiveServer) -> None:
    _, token = server.new_user()
    with server.client(token) as client:
        assert client.get("/me").status_code == 200
        assert client.delete("/sessions/current").status_code == 204
        assert client.get("/me").status_code == 401


def test_tokens_expire(tmp_path: Path) -> None:
    with live_server(tmp_path, session_ttl=1.0) as short:
        _, token = short.new_user()
        with short.client(token) as client:
            assert client.get("/me").status_code == 200
            time.sleep(1.2)
            answer = client.get("/me")
    assert answer.status_code == 401
    assert "expired" in answer.json()["message"]


def test_only_admins_manage_users(server: LiveServer) -> None:
    _, token = server.new_user()
    with server.client(token) as client:
        assert client.get("/users").status_code == 403
        refused = client.post("/users", json={"name": "sneaky", "password": PASSWORD})
        assert refused.status_code == 403
        assert refused.json() == {
            "error": "forbidden",
            "message": "only an admin may do this",
            "details": None,
        }
    with server.client(server.admin_token) as admin:
        assert "sneaky" not in [u["name"] for u in admin.get("/users").json()]


def test_admin_creates_and_removes_users(server: LiveServer) -> None:
    with server.client(server.admin_token) as admin:
        created = admin.post("/users", json={"name": "carol", "password": PASSWORD})
        assert created.status_code == 201
        assert created.json() == {"name": "carol", "role": "user"}
        assert admin.post("/users", json={"name": "carol", "password": PASSWORD}).status_code == 409
        token = server.login("carol")
        assert admin.delete("/users/carol").status_code == 204
        assert admin.delete("/users/carol").status_code == 404
    assert httpx.get(f"{server.api}/me", headers=bearer(token)).status_code == 401  # sessions went with it


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"name": "bad name", "password": PASSWORD}, "invalid user name"),
        ({"name": "-dash", "password": PASSWORD}, "invalid user name"),
        ({"name": "shorty", "password": "short"}, "at least 8 characters"),
        ({"name": "nopass"}, "password"),
    ],
)
def test_bad_user_definitions_are_refused(server: LiveServer, body: dict[str, str], reason: str) -> None:
    with server.client(server.admin_token) as admin:
        answer = admin.post("/users", json=body)
    assert answer.status_code == 400
    assert reason in answer.json()["message"]


def test_users_change_only_their_own_password(server: LiveServer) -> None:
    name, token = server.new_user()
    other, _ = server.new_user()
    with server.client(token) as client:
        assert client.put(f"/users/{other}/password", json={"password": "new password"}).status_code == 403
        assert client.put(f"/users/{name}/password", json={"password": "new password"}).status_code == 204
    assert server.login(name, "new password")


def test_login_with_a_name_no_account_can_have_is_refused_not_failed(server: LiveServer) -> None:
    for name in ("a\x00b", "x" * 300, "white space"):
        answer = httpx.post(f"{server.api}/sessions/form", data={"username": name, "password": "whatever1"})
        assert answer.status_code in (400, 401), (name, answer.text)
        json_answer = httpx.post(
            f"{server.api}/sessions", json={"username": name[:255], "password": "whatever1"}
        )
        assert json_answer.status_code == 401, (name, json_answer.text)


def test_admins_issue_long_lived_tokens_that_end_as_sessions_do(server: LiveServer) -> None:
    name, user_token = server.new_user(prefix="core")
    with server.client(user_token) as user:  # a user cannot mint tokens, not even their own
        assert user.post(f"/users/{name}/tokens", json={"ttl": 3600}).status_code == 403
    with server.client(server.admin_token) as admin:
        for ttl in (0, -5, 367 * 24 * 3600, "long"):
            assert admin.post(f"/users/{name}/tokens", json={"ttl": ttl}).status_code == 400, ttl
        assert admin.post("/users/nobody-here/tokens", json={"ttl": 60}).status_code == 404
        issued = admin.post(f"/users/{name}/tokens", json={"ttl": 300 * 24 * 3600})
        assert issued.status_code == 201
        body = issued.json()
        assert body["user"] == name and body["role"] == "user"
        assert body["expires_at"] > time.time() + 299 * 24 * 3600
    with server.client(body["token"]) as core:
        assert core.get("/me").json()["name"] == name  # acts as the user, not as the admin who issued it
        assert core.get("/users").status_code == 403
    with server.client(server.admin_token) as admin:  # a password change ends it, as every session
        assert admin.put(f"/users/{name}/password", json={"password": "another one"}).status_code == 204
    with server.client(body["token"]) as core:
        assert core.get("/me").status_code == 401

"""The App Engine's REST surface as a whole: ping."""

from __future__ import annotations

import httpx

from support.server import LiveServer


def test_ping_answers_without_a_token(server: LiveServer) -> None:
    answer = httpx.get(f"{server.url}/ping")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "UP"
    assert body["service"] == "app-engine"
    assert body["timestamp"].endswith("+00:00")

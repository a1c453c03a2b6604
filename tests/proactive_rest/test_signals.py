"""ProActive's signal route over the native signals: a task ready for ``Go``, the signal sent with a value."""

from __future__ import annotations

import httpx

from proactive_rest.conftest import SLEEPER, ProActiveSession, error_of
from support.server import LiveServer


def test_sending_a_signal(server: LiveServer, sessions: list[ProActiveSession]) -> None:
    owner, other = sessions
    job = owner.submit(SLEEPER, who=None)
    speed = {"name": "SPEED", "value": "1", "model": "PA:Integer"}
    ready = httpx.put(  # what a task's signalapi.readyForSignal does, with the owner's token
        f"{server.api}/jobs/{job}/signals/Go/ready",
        json={"variables": [speed], "task": "Nap"},
        headers={"Authorization": f"Bearer {owner.session_id}"},
    )
    assert ready.status_code == 200, ready.text
    assert owner.client.get(f"/rest/scheduler/jobs/{job}/info").json()["signals"] == ["ready_Go"]
    path = f"/rest/scheduler/job/{job}/signals"

    error_of(other.client.post(path, params={"signal": "Go"}, json={}), 403, "PermissionRestException")
    assert owner.client.post(path, params={"signal": "Go"}, json={"SPEED": "fast"}).status_code == 400
    error_of(owner.client.post(path, params={"signal": "Stop"}, json={}), 409, "SchedulerRestException")
    not_a_map = owner.client.post(path, params={"signal": "Go"}, content=b"[1]")
    error_of(not_a_map, 400, "IllegalArgumentException")

    sent = owner.client.post(path, params={"signal": "Go"}, json={"SPEED": "2"})
    assert sent.status_code == 200, sent.text
    assert sent.json() == ["Go"]
    info = owner.client.get(f"/rest/scheduler/jobs/{job}/info").json()
    assert info["signals"] == ["Go"]
    assert info["detailedSignals"]["Go"]["SPEED"]["value"] == "2"
    error_of(owner.client.post(path, params={"signal": "Go"}, json={}), 409, "SchedulerRestException")
    assert owner.client.put(f"/rest/scheduler/jobs/{job}/kill").json() is True

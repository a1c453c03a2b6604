"""ProActive's event WebSocket: a client subscribes and follows its jobs' changes, named as ProActive names
them; a forged session is refused; another user's jobs are not announced."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from proactive_rest.conftest import ProActiveSession
from support.server import LiveServer


def _socket(server: LiveServer, session_id: str) -> ClientConnection:
    url = server.url.replace("http://", "ws://") + "/rest/scheduler/events"
    return connect(url, additional_headers={"sessionid": session_id}, open_timeout=10)


def _until_finished(socket: ClientConnection, job_id: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while True:
        notification = json.loads(socket.recv(timeout=60))
        if notification["data"]["jobId"]["id"] == job_id:
            seen.append(notification)
        if notification["schedulerEvent"] == "JOB_RUNNING_TO_FINISHED":
            return seen


def test_following_a_job(server: LiveServer, sessions: list[ProActiveSession]) -> None:
    owner, other = sessions
    with _socket(server, owner.session_id) as socket, _socket(server, other.session_id) as watcher:
        socket.send(json.dumps({"myEventsOnly": True, "events": []}))
        watcher.send(json.dumps({"myEventsOnly": False, "events": []}))
        job = owner.submit(who="events")
        seen = _until_finished(socket, job)
        named = [(n["action"], n["schedulerEvent"]) for n in seen]
        assert sorted(named) == [
            ("JOB_STATE_UPDATED", "JOB_PENDING_TO_RUNNING"),
            ("JOB_STATE_UPDATED", "JOB_RUNNING_TO_FINISHED"),
            ("TASK_STATE_UPDATED", "TASK_PENDING_TO_RUNNING"),
            ("TASK_STATE_UPDATED", "TASK_RUNNING_TO_FINISHED"),
        ]
        assert named[-1] == ("JOB_STATE_UPDATED", "JOB_RUNNING_TO_FINISHED")
        assert seen[-1]["data"]["status"] == "FINISHED"
        finished = next(n for n in seen if n["schedulerEvent"] == "TASK_RUNNING_TO_FINISHED")
        assert finished["data"]["taskId"]["readableName"] == "Say"
        # the other user saw nothing of it, even asking for everyone's events
        with pytest.raises(TimeoutError):
            watcher.recv(timeout=1)


def test_choosing_events(server: LiveServer, sessions: list[ProActiveSession]) -> None:
    owner = sessions[0]
    with _socket(server, owner.session_id) as socket:
        socket.send(json.dumps({"myEventsOnly": True, "events": ["JOB_RUNNING_TO_FINISHED"]}))
        job = owner.submit(who="chosen")
        notification = json.loads(socket.recv(timeout=60))
        assert (notification["schedulerEvent"], notification["data"]["jobId"]["id"]) == (
            "JOB_RUNNING_TO_FINISHED",
            job,
        )


def test_a_forged_session_gets_no_socket(server: LiveServer) -> None:
    with pytest.raises(InvalidStatus), _socket(server, "forged"):
        pass


def test_a_bad_subscription_closes_the_socket(server: LiveServer, sessions: list[ProActiveSession]) -> None:
    with _socket(server, sessions[0].session_id) as socket:
        socket.send("not json")
        with pytest.raises(Exception, match="1003"):
            socket.recv(timeout=10)

"""A live server per module for the task-side APIs; SDK clients of fresh users; a job that stays alive
(its task sleeps until killed), whose job token a test may use as its tasks would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runyard.auth.job_tokens import JobTokens
from runyard.client import Client
from support.server import LiveServer, live_server

#: A job that runs until it is killed: what a waiting task's job is.
ALIVE = """\
name: Alive
tasks:
  Wait:
    script:
      cpython: |-
        import time
        time.sleep(600)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> Iterator[Client]:
    with server.new_client() as client:
        yield client


@pytest.fixture(scope="module")
def bob(server: LiveServer) -> Iterator[Client]:
    with server.new_client() as client:
        yield client


def job_token(server: LiveServer, job_id: int, owner: str) -> str:
    """The token the server gives the tasks of ``job_id``."""
    return JobTokens.from_file(server.data_dir / "job-tokens.key").issue(job_id, owner)


def running_job(client: Client) -> int:
    """A job of ``client``'s user that stays RUNNING until killed."""
    job_id = client.submit(ALIVE)
    for event in client.events(job_id, subscribed=True):
        if event["kind"] == "subscribed":
            if client.get_job(job_id)["tasks"][0]["status"] == "RUNNING":
                break
        elif event["kind"] == "task" and event["status"] == "RUNNING":
            break
    return job_id

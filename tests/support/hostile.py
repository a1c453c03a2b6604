"""A hostile user of a live server: its own account, buckets, workflows and scripts, for attack tests.

Each attack test makes a few users with :func:`hostile_users` and lets one of them try, through the
public interfaces only, to reach the platform or another user's data; the test then asserts that the
attempt failed safely. Later features are attacked the same way: push a service workflow with
:meth:`HostileUser.push`, run arbitrary task code with :meth:`HostileUser.run`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

import httpx

from support.server import LiveServer, bearer, wait_for


@dataclass(frozen=True)
class TaskRun:
    """What one task of a :meth:`HostileUser.run` job did."""

    job_id: int
    status: str
    """The job's status (``FINISHED``, ``FAILED``, ``CANCELED``...)."""
    task_status: str
    result: Any
    """The task's result (JSON value, or its repr), ``None`` when it did not finish."""
    error: str | None
    output: str
    """Everything the task printed."""


@dataclass
class HostileUser:
    server: LiveServer
    name: str
    token: str

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client on ``/api/v1`` acting as this user."""
        return self.server.client(self.token, **options)

    def push(
        self, bucket: str, name: str, content: str, *, public: bool = True, kind: str = "workflow"
    ) -> None:
        """Push ``content`` as the next revision of ``bucket/name``, creating the bucket (as this user) if
        it does not exist yet."""
        with self.client() as api:
            if api.get(f"/catalog/buckets/{bucket}").status_code == 404:
                created = api.post("/catalog/buckets", json={"name": bucket, "public": public})
                assert created.status_code == 201, created.text
            pushed = api.put(
                f"/catalog/buckets/{bucket}/resources/{name}",
                params={"kind": kind},
                content=content.encode(),
                headers={"Content-Type": _media_type(content)},
            )
            assert pushed.status_code == 201, pushed.text

    def submit_answer(self, workflow: str, variables: dict[str, str] | None = None) -> httpx.Response:
        """The server's answer to submitting ``workflow`` (YAML, or XML when it starts with ``<``)."""
        with self.client() as api:
            return api.post(
                "/jobs",
                content=workflow.encode(),
                params={"var": [f"{k}={v}" for k, v in (variables or {}).items()]},
                headers={"Content-Type": _media_type(workflow)},
            )

    def submit(self, workflow: str, variables: dict[str, str] | None = None) -> int:
        """Submit ``workflow``; the job's id (``AssertionError`` with the answer when it is refused)."""
        answer = self.submit_answer(workflow, variables)
        assert answer.status_code == 201, answer.text
        job_id: int = answer.json()["id"]
        return job_id

    def wait(self, job_id: int, timeout: float = 60) -> dict[str, Any]:
        """The job once it has ended (its event stream closes at its end)."""
        with self.client() as api:
            return wait_for(api, job_id, timeout)

    def logs(self, job_id: int, task: str | None = None) -> str:
        with self.client() as api:
            answer = api.get(f"/jobs/{job_id}/logs", params={"task": task} if task else {})
            answer.raise_for_status()
            return answer.text

    def run(self, code: str, *, language: str = "cpython", fork: bool = True, timeout: float = 60) -> TaskRun:
        """Run ``code`` as the only task of a job of this user's, and wait for the job's end."""
        job_id = self.submit(one_task_workflow(code, language=language, fork=fork))
        job = self.wait(job_id, timeout)
        task = job["tasks"][0]
        return TaskRun(
            job_id=job_id,
            status=job["status"],
            task_status=task["status"],
            result=task["result"],
            error=task["error"],
            output=self.logs(job_id, "Attack"),
        )


def hostile_users(server: LiveServer, count: int = 3) -> list[HostileUser]:
    """``count`` new ordinary (non-admin) users of ``server``, each logged in."""
    users = []
    for _ in range(count):
        name, token = server.new_user(prefix="mallory")
        users.append(HostileUser(server, name, token))
    return users


def one_task_workflow(code: str, *, language: str = "cpython", fork: bool = True) -> str:
    """A YAML workflow whose only task, ``Attack``, runs ``code``."""
    body = textwrap.indent(code.strip("\n"), " " * 8)
    return (
        "name: Attack\n"
        "tasks:\n"
        "  Attack:\n"
        f"    fork: {'true' if fork else 'false'}\n"
        "    script:\n"
        f"      {language}: |-\n"
        f"{body}\n"
    )


def _media_type(content: str) -> str:
    return "application/xml" if content.lstrip().startswith("<") else "application/yaml"


__all__ = ["HostileUser", "TaskRun", "bearer", "hostile_users", "one_task_workflow"]

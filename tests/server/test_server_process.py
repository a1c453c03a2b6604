"""``runyard server`` as a real process: first admin, ``runyard user add``, kill -9 and resume."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support.server import bearer
from support.server_process import free_port, server_process

TWO_STEPS = """
name: TwoSteps
tasks:
  - name: First
    script: {language: cpython, code: "result = 'first done'"}
  - name: Second
    depends: [First]
    script: {language: cpython, code: "import time; time.sleep(3); result = 'second done'"}
"""


def _user_add(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``runyard user add ARGUMENTS --password-stdin`` with the password every test here uses."""
    return subprocess.run(
        [sys.executable, "-m", "runyard", "user", "add", *arguments, "--password-stdin"],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        check=False,
    )


def _login(port: int, user: str, password: str) -> dict[str, str]:
    answer = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/sessions", json={"username": user, "password": password}
    )
    assert answer.status_code == 201, answer.text
    return bearer(answer.json()["token"])


def test_first_start_prints_an_admin_password_once(tmp_path: Path) -> None:
    port = free_port()
    with server_process(tmp_path, port) as process:
        assert process.stdout is not None
        printed = ""
        while "password" not in printed:
            printed += process.stdout.readline()
        password = re.search(r"with password (\S+)", printed)
        assert password is not None
        headers = _login(port, "admin", password.group(1))
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers=headers).json()["role"] == "admin"
        os.killpg(process.pid, signal.SIGTERM)
        rest = process.communicate(timeout=30)[0]
    with server_process(tmp_path, port) as process:
        os.killpg(process.pid, signal.SIGTERM)
        second = process.communicate(timeout=30)[0]
    assert "password" not in rest + second


def test_user_add_on_the_data_folder_then_no_generated_admin(tmp_path: Path) -> None:
    add = _user_add("ops", "--admin", "--data-dir", str(tmp_path))
    assert add.returncode == 0, add.stderr
    again = _user_add("ops", "--data-dir", str(tmp_path))
    assert again.returncode == 2 and "exists already" in again.stderr
    port = free_port()
    with server_process(tmp_path, port) as process:
        headers = _login(port, "ops", "a long enough password")
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers=headers).json() == {
            "name": "ops",
            "role": "admin",
        }
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert "created user" not in output


def test_server_killed_mid_job_resumes_it_after_restart(tmp_path: Path, database_url: str) -> None:
    """On SQLite and on PostgreSQL: the server and its nodes die at once, mid-task."""
    store = ["--data-dir", str(tmp_path), "--database-url", database_url]
    assert _user_add("ops", *store).returncode == 0
    port = free_port()
    api = f"http://127.0.0.1:{port}/api/v1"
    with server_process(tmp_path, port, "--database-url", database_url) as process:
        headers = _login(port, "ops", "a long enough password")
        job_id = httpx.post(f"{api}/jobs", json={"workflow": TWO_STEPS}, headers=headers).json()["id"]
        deadline = time.monotonic() + 30
        while httpx.get(f"{api}/jobs/{job_id}/tasks/Second", headers=headers).json()["status"] != "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # the server and its node agents, at once
        process.wait(10)
    with server_process(tmp_path, port, "--database-url", database_url):
        headers = _login(port, "ops", "a long enough password")  # sessions survive too, but log in anew
        with httpx.stream("GET", f"{api}/jobs/{job_id}/events", headers=headers, timeout=60) as stream:
            for _ in stream.iter_lines():
                pass
        result = httpx.get(f"{api}/jobs/{job_id}/result", headers=headers).json()
        second = httpx.get(f"{api}/jobs/{job_id}/tasks/Second", headers=headers).json()
    assert result["status"] == "FINISHED"
    assert result["results"] == {"First": "first done", "Second": "second done"}
    assert second["executions"] == 2  # the lost execution and the one after the restart

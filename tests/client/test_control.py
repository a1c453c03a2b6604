"""Kill, pause, resume, restart, priority and removal of jobs and tasks."""

from __future__ import annotations

import pytest

from client.helpers import failing, sleeper, task_status, until
from runyard.client import ApiError, Client


def test_pause_resume_and_kill_a_running_job(alice: Client) -> None:
    job_id = alice.submit(sleeper(30))
    until(alice, job_id, lambda job: task_status(job, "Sleep") == "RUNNING")
    assert alice.pause_job(job_id) == "PAUSED"
    with pytest.raises(ApiError) as twice:
        alice.pause_job(job_id)
    assert (twice.value.status, twice.value.error) == (409, "conflict")
    assert alice.resume_job(job_id) == "RUNNING"
    assert alice.pause_task(job_id, "After")["status"] == "PAUSED"
    assert alice.resume_task(job_id, "After")["status"] == "PENDING"
    alice.set_priority(job_id, "low")
    assert alice.get_job(job_id)["priority"] == "low"
    with pytest.raises(ApiError) as high:
        alice.set_priority(job_id, "highest")
    assert high.value.status == 403
    with pytest.raises(ApiError) as alive:
        alice.delete_job(job_id)
    assert alive.value.status == 409
    assert alice.kill_job(job_id) == "KILLED"
    assert alice.wait_for_job(job_id, timeout=10)["status"] == "KILLED"
    alice.delete_job(job_id)
    with pytest.raises(ApiError) as gone:
        alice.get_job(job_id)
    assert gone.value.status == 404


def test_kill_one_task(alice: Client) -> None:
    job_id = alice.submit(sleeper(30))
    until(alice, job_id, lambda job: task_status(job, "Sleep") == "RUNNING")
    assert alice.kill_task(job_id, "Sleep")["status"] in ("ABORTED", "FAULTY", "FAILED")
    assert alice.wait_for_job(job_id, timeout=30)["status"] != "RUNNING"


def test_restart_an_in_error_task(alice: Client) -> None:
    job_id = alice.submit(failing(on_task_error="suspendTask"))
    until(alice, job_id, lambda job: job["status"] == "IN_ERROR")
    assert alice.restart_task(job_id, "Fails")["status"] in ("PENDING", "RUNNING", "IN_ERROR")
    job = until(alice, job_id, lambda job: job["tasks"][0]["executions"] == 2 and job["status"] == "IN_ERROR")
    assert job["tasks"][0]["status"] == "IN_ERROR"
    with pytest.raises(ApiError) as unknown:
        alice.get_task(job_id, "Nope")
    assert unknown.value.status == 404
    assert alice.kill_job(job_id) == "KILLED"
    with pytest.raises(ApiError) as refused:
        alice.restart_task(job_id, "Fails")
    assert refused.value.status == 409

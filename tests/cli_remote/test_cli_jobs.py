"""submit (file, catalog, --wait), jobs, job, result, logs, kill / pause / resume / restart."""

from __future__ import annotations

import json
from pathlib import Path

from cli_remote.conftest import Cli
from client.helpers import EXAMPLES, failing, sleeper, task_status, until
from runyard import formats
from runyard.client import Client
from support.server import LiveServer


def test_submit_files_and_wait_for_their_outcome(user_cli: Cli) -> None:
    job = user_cli.json("submit", str(EXAMPLES / "hello.yaml"), "--var", "WHO=cli", "--wait")
    assert job["status"] == "FINISHED" and job["tasks"][0]["result"] == "hello cli"
    job = user_cli.json("submit", str(EXAMPLES / "replicate.xml"), "--gi", "origin=cli", "--wait")
    assert (job["name"], job["status"]) == ("Replicate", "FINISHED")
    submitted = user_cli.json("submit", str(EXAMPLES / "branch.xml"))
    assert isinstance(submitted["id"], int)
    code, out, _ = user_cli("submit", str(EXAMPLES / "loop.xml"))
    assert code == 0 and out.startswith("submitted job ")


def test_submit_from_the_catalog(user_cli: Cli) -> None:
    job = user_cli.json("submit", "basic-examples/Replicate", "--wait")
    assert (job["name"], job["status"]) == ("Replicate", "FINISHED")
    code, _, err = user_cli("submit", "basic-examples/Nothing_Here")
    assert code == 2 and "no object 'Nothing_Here'" in err


def test_a_pipeline_of_library_tasks_runs_and_shows_what_ran(user_cli: Cli, tmp_path: Path) -> None:
    pipeline = tmp_path / "iris.yaml"
    pipeline.write_text(
        "name: Iris_From_The_Library\n"
        "tasks:\n"
        "  Load:\n"
        "    from: machine-learning/Load_Iris_Dataset\n"
        "  Split:\n"
        "    from: machine-learning/Split_Data\n"
        "    depends: [Load]\n"
        "    variables: {TRAIN_SIZE: '0.5'}\n"
    )
    job = user_cli.json("submit", str(pipeline), "--wait")
    assert job["status"] == "FINISHED", job
    split = job["tasks"][1]["result"]
    assert (split["train"]["rows"], split["test"]["rows"]) == (75, 75)
    code, out, _ = user_cli("workflow", str(job["id"]))
    assert code == 0 and "runyard.from: machine-learning/Split_Data@" in out
    assert all(task.reference is None for task in formats.loads(out).tasks)
    assert "preprocessing.split_data" in out and "value: '0.5'" in out
    listing = user_cli.json("userspace", "ls", f"ml/{job['id']}")
    assert [entry["name"] for entry in listing["entries"]] == ["Load", "Split"]
    target = tmp_path / "train.parquet"
    code, _, err = user_cli(
        "userspace", "get", f"ml/{job['id']}/{split['train']['path'].split('/', 2)[2]}", "-o", str(target)
    )
    assert code == 0 and target.read_bytes().startswith(b"PAR1"), err
    code, _, err = user_cli("userspace", "get", "ml/../../etc/passwd")
    assert code != 0 and "not a relative path" in err
    pipeline.write_text(pipeline.read_text().replace("Split_Data", "Split_Nothing"))
    code, _, err = user_cli("submit", str(pipeline))
    assert code == 2 and "Split" in err and "no object 'Split_Nothing'" in err


def test_wait_shows_the_tasks_live_and_exits_with_the_outcome(user_cli: Cli, tmp_path: Path) -> None:
    code, out, _ = user_cli("submit", str(EXAMPLES / "hello.yaml"), "--wait")
    assert code == 0
    assert "Greet" in out and "Shout" in out and "2/2 tasks done" in out and "FINISHED" in out
    policy = tmp_path / "failing.yaml"
    formats.dump(failing(), policy)
    code, out, _ = user_cli("submit", str(policy), "--wait")
    assert code == 1 and "FAULTY" in out
    assert user_cli.json("submit", str(policy), "--wait", code=1)["tasks"][0]["status"] == "FAULTY"
    suspended = tmp_path / "suspended.yaml"
    formats.dump(failing(on_task_error="suspendTask"), suspended)
    code, out, err = user_cli("submit", str(suspended), "--wait")
    assert code == 1 and "is IN_ERROR: task Fails failed" in err and "runyard restart" in err


def test_bad_input_is_refused_before_any_job_exists(user_cli: Cli, tmp_path: Path) -> None:
    before = user_cli.json("jobs")["total"]
    code, _, err = user_cli("submit", str(EXAMPLES / "hello.yaml"), "--var", "NOPE=1")
    assert code == 2 and "declares no variable 'NOPE'" in err
    code, _, err = user_cli("submit", str(EXAMPLES / "hello.yaml"), "--var", "WHO")
    assert code == 2 and "expected KEY=VALUE" in err
    code, _, err = user_cli("submit", "missing.yaml")
    assert code == 2 and "no workflow file missing.yaml" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Broken\ntasks:\n  A:\n    depends: [B]\n    script:\n      bash: echo\n")
    code, _, err = user_cli("submit", str(broken))
    assert code == 2 and f"{broken}:4: task 'A', depends" in err  # located in the user's file
    assert user_cli.json("jobs")["total"] == before


def test_reading_a_job(user_cli: Cli) -> None:
    job_id = user_cli.json("submit", str(EXAMPLES / "hello.yaml"), "--wait")["id"]
    listed = user_cli.json("jobs", "--name", "Hello", "--limit", "1")
    assert listed["jobs"][0]["id"] == job_id
    assert user_cli.json("jobs", "--status", "KILLED")["total"] == 0
    assert "Hello" in user_cli("jobs")[1]
    state = user_cli.json("job", str(job_id))
    assert [t["name"] for t in state["tasks"]] == ["Greet", "Shout"]
    code, out, _ = user_cli("job", str(job_id))
    assert code == 0 and "Greet" in out and '"hello world"' in out
    result = user_cli.json("result", str(job_id))
    assert result["results"] == {"Greet": "hello world", "Shout": 0}
    assert user_cli.json("result", str(job_id), "--task", "Shout") == 0
    assert user_cli("result", str(job_id), "--task", "Greet")[1] == "hello world\n"
    assert "hello world" in user_cli("result", str(job_id))[1]


def test_logs_of_a_job_and_of_a_task(user_cli: Cli) -> None:
    job_id = user_cli.json("submit", str(EXAMPLES / "hello.yaml"), "--wait")["id"]
    assert user_cli("logs", str(job_id))[1] == "[Greet] hello world\n[Shout] HELLO WORLD\n"
    assert user_cli("logs", str(job_id), "--task", "Shout")[1] == "HELLO WORLD\n"
    assert user_cli.json("logs", str(job_id), "--task", "Greet")["output"] == "hello world\n"
    assert user_cli("logs", str(job_id), "--follow")[1] == "[Greet] hello world\n[Shout] HELLO WORLD\n"
    assert user_cli("logs", str(job_id), "--follow", "--json")[0] == 2


def test_follow_logs_of_a_running_job(server: LiveServer, user_cli: Cli, tmp_path: Path) -> None:
    counting = tmp_path / "counting.yaml"
    script = "for i in 1 2 3; do echo line $i; sleep 0.2; done"
    counting.write_text(f"name: Counting\ntasks:\n  Count:\n    script:\n      bash: {script}\n")
    job_id = user_cli.json("submit", str(counting))["id"]
    code, out, _ = user_cli("logs", str(job_id), "--follow", "--task", "Count")
    assert (code, out) == (0, "line 1\nline 2\nline 3\n")  # streamed until the job ended


def test_kill_pause_resume_restart(server: LiveServer, user_cli: Cli, tmp_path: Path) -> None:
    workflow = tmp_path / "sleeper.yaml"
    formats.dump(sleeper(30), workflow)
    job_id = user_cli.json("submit", str(workflow))["id"]
    with Client(server.url, user_cli.token) as client:
        until(client, job_id, lambda job: task_status(job, "Sleep") == "RUNNING")
    assert user_cli("pause", str(job_id)) == (0, f"job {job_id}: PAUSED\n", "")
    code, _, err = user_cli("pause", str(job_id))
    assert code == 1 and "PAUSED" in err  # refused for the state it is in
    assert user_cli("resume", str(job_id))[1] == f"job {job_id}: RUNNING\n"
    assert user_cli("pause", str(job_id), "--task", "After")[1] == f"task After of job {job_id}: PAUSED\n"
    assert user_cli("resume", str(job_id), "--task", "After")[1] == f"task After of job {job_id}: PENDING\n"
    assert user_cli("kill", str(job_id))[1] == f"job {job_id}: KILLED\n"

    suspended = tmp_path / "suspended.yaml"
    formats.dump(failing(on_task_error="suspendTask"), suspended)
    job_id = user_cli.json("submit", str(suspended))["id"]
    with Client(server.url, user_cli.token) as client:
        until(client, job_id, lambda job: job["status"] == "IN_ERROR")
        code, out, _ = user_cli("restart", str(job_id), "Fails")
        assert code == 0 and out.startswith(f"task Fails of job {job_id}: ")
        until(client, job_id, lambda job: job["status"] == "IN_ERROR" and job["tasks"][0]["executions"] == 2)
        code, out, _ = user_cli("resume", str(job_id), "--restart-in-error")
        assert code == 0 and f"task Fails of job {job_id}" in out
        until(client, job_id, lambda job: job["tasks"][0]["executions"] == 3)
    assert user_cli("kill", str(job_id), "--task", "Fails")[0] in (0, 1)
    assert user_cli("resume")[0] == 2  # neither a job nor --data-dir


def test_other_users_jobs_and_unknown_jobs(user_cli: Cli, admin_cli: Cli) -> None:
    job_id = admin_cli.json("submit", str(EXAMPLES / "hello.yaml"), "--wait")["id"]
    for command in (("job",), ("result",), ("logs",), ("kill",)):
        code, _, err = user_cli(*command, str(job_id))
        assert code == 2 and "belongs to another user" in err
    code, _, err = user_cli("job", "999999")
    assert code == 2 and "no job 999999" in err
    assert job_id in [j["id"] for j in admin_cli.json("jobs", "--owner", "root")["jobs"]]
    code, _, err = user_cli("jobs", "--owner", "root")
    assert code == 2 and "only an admin" in err
    assert json.loads(admin_cli("job", str(job_id), "--json")[1])["owner"] == "root"

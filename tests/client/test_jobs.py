"""Submitting (file, text, Workflow object, catalog), waiting on events, results and logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.helpers import EXAMPLES, failing, greeting, script_task
from runyard import formats
from runyard.client import ApiError, Client, ControlFlow, ReplicateAction, Script, Workflow
from runyard.client.jobs import SORT_COLUMNS
from runyard.store.job_listing import SORTABLE


def test_a_workflow_built_in_python_runs_and_gives_its_results(alice: Client) -> None:
    job_id = alice.submit(greeting(), {"WHO": "sdk"})
    job = alice.wait_for_job(job_id, timeout=30)
    assert job["status"] == "FINISHED" and [t["status"] for t in job["tasks"]] == ["FINISHED"] * 2
    assert alice.get_job_status(job_id) == "FINISHED"
    assert alice.get_task_result(job_id, "Greet") == "hello sdk"
    assert alice.get_task(job_id, "Greet")["executions"] == 1
    assert alice.get_job_result_map(job_id) == {"LENGTH": 9}
    result = alice.get_job_result(job_id)
    assert result["results"] == {"Greet": "hello sdk", "Count": 1} and result["errors"] == {}
    assert alice.get_job_output(job_id) == "[Greet] hello sdk\n"
    assert alice.get_task_output(job_id, "Greet") == "hello sdk\n"
    assert formats.loads(alice.get_job_workflow(job_id, "xml")).task("Greet").executable is not None
    assert [t.name for t in formats.loads(alice.get_job_workflow(job_id)).tasks] == ["Greet", "Count"]
    assert list(alice.follow_logs(job_id)) == [
        "[Greet] hello sdk"
    ]  # an ended job: what it wrote, then the end


def test_control_flow_built_in_python(alice: Client) -> None:
    split = script_task("Split", "cpython", "result = ['a', 'b', 'c']")
    split.control_flow = ControlFlow(action=ReplicateAction(Script("cpython", "runs = len(result)")))
    process = script_task(
        "Process",
        "cpython",
        'result = results[0].value()[variables.get("PA_TASK_REPLICATION")].upper()',
        depends=["Split"],
    )
    merge = script_task(
        "Merge", "cpython", "result = ''.join(sorted(r.value() for r in results))", depends=["Process"]
    )
    job_id = alice.submit(Workflow("Replicated", tasks=[split, process, merge]))
    job = alice.wait_for_job(job_id, timeout=30)
    assert job["status"] == "FINISHED"
    assert {t["name"] for t in job["tasks"]} == {"Split", "Process", "Process*1", "Process*2", "Merge"}
    assert alice.get_task_result(job_id, "Process*2") == "C"  # '*' and '#' names travel quoted
    assert alice.get_task_result(job_id, "Merge") == "ABC"


@pytest.mark.parametrize("example", ["replicate.xml", "hello.yaml"])
def test_files_are_uploaded_as_they_are(alice: Client, example: str) -> None:
    path = EXAMPLES / example
    for workflow in (path, str(path)):
        job_id = alice.submit(workflow, generic_information={"origin": "test"})
        assert alice.wait_for_job(job_id, timeout=30)["status"] == "FINISHED"
    assert alice.get_job(job_id)["name"] == formats.load(path).name


def test_workflow_text_is_submitted_too(alice: Client) -> None:
    text = (EXAMPLES / "hello.yaml").read_text()
    job_id = alice.submit(text, {"WHO": "text"})
    alice.wait_for_job(job_id, timeout=30)
    assert alice.get_task_result(job_id, "Greet") == "hello text"
    xml_id = alice.submit(formats.dump_xml(greeting()))
    assert alice.wait_for_job(xml_id, timeout=30)["status"] == "FINISHED"


def test_from_the_builtin_catalog(alice: Client) -> None:
    job_id = alice.submit_from_catalog("basic-examples", "Replicate", revision=1)
    job = alice.wait_for_job(job_id, timeout=30)
    assert job["status"] == "FINISHED" and job["name"] == "Replicate"
    with pytest.raises(ApiError) as caught:
        alice.submit_from_catalog("basic-examples", "No_Such_Workflow")
    assert caught.value.status == 404


def test_a_submission_retried_with_its_idempotency_key_gets_the_same_job(
    alice: Client, tmp_path: Path
) -> None:
    file = tmp_path / "hello.yaml"
    file.write_text((EXAMPLES / "hello.yaml").read_text())

    def built(key: str) -> int:
        return alice.submit(greeting(), idempotency_key=key)

    def uploaded(key: str) -> int:
        return alice.submit(file, idempotency_key=key)

    def from_catalog(key: str) -> int:
        return alice.submit_from_catalog("basic-examples", "Replicate", idempotency_key=key)

    for submit in (built, uploaded, from_catalog):
        key = f"sdk-{tmp_path.name}-{submit.__name__}"
        first = submit(key)
        assert submit(key) == first
        assert submit(f"{key}-other") != first
        alice.wait_for_job(first, timeout=30)


def test_bad_variables_and_workflows_are_refused_before_any_job_exists(alice: Client, tmp_path: Path) -> None:
    before = alice.list_jobs()["total"]
    with pytest.raises(ApiError) as unknown:
        alice.submit(greeting(), {"NOPE": "1"})
    assert (unknown.value.status, unknown.value.error) == (400, "invalid_workflow")
    assert "declares no variable 'NOPE'" in unknown.value.details[0]["message"]
    with pytest.raises(ApiError) as empty:
        alice.submit(greeting(), {"WHO": ""})
    assert "PA:NOT_EMPTY_STRING" in empty.value.message
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Broken\ntasks:\n  A:\n    depends: [B]\n    script:\n      bash: echo\n")
    with pytest.raises(ApiError) as invalid:
        alice.submit(broken)
    assert invalid.value.details[0]["line"] == 4 and "'B'" in invalid.value.details[0]["message"]
    assert alice.list_jobs()["total"] == before


def test_a_failed_job_reports_its_errors(alice: Client) -> None:
    job_id = alice.submit(failing())
    job = alice.wait_for_job(job_id, timeout=30)
    assert job["tasks"][0]["status"] == "FAULTY"
    assert "exited with code 3" in alice.get_job_result(job_id)["errors"]["Fails"]
    assert alice.get_task_result(job_id, "Fails") is None


def test_listing_filters_and_pages(alice: Client) -> None:
    first = alice.submit(failing())
    second = alice.submit(failing())
    for job_id in (first, second):
        alice.wait_for_job(job_id, timeout=30)
    page = alice.list_jobs(name="Failing", limit=1)
    assert page["total"] >= 2 and [j["id"] for j in page["jobs"]] == [second]
    assert alice.list_jobs(name="Failing", limit=1, offset=1)["jobs"][0]["id"] == first
    assert all(j["status"] == "FINISHED" for j in alice.list_jobs(status=["FINISHED", "KILLED"])["jobs"])
    assert alice.list_jobs(status="KILLED", name="Failing")["total"] == 0
    assert alice.list_jobs(name="Failing", sort="id", limit=1)["jobs"][0]["id"] < second
    assert alice.count_job_statuses(name="Failing")["FINISHED"] >= 2
    with pytest.raises(ApiError) as caught:
        alice.list_jobs(limit=0)
    assert caught.value.status == 400


def test_the_sdk_knows_every_column_the_api_sorts_jobs_by() -> None:
    assert SORT_COLUMNS == SORTABLE  # the portal offers the SDK's list; the store's is the API's

"""A submission checked without submitting (``POST /jobs/validate``): located problems, no job made."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.client import ApiError, Client
from support.server import LiveServer

COUNTED = """
name: Counted
variables:
  COUNT: {value: "3", model: "PA:Integer[1,10]", description: "How many", group: "Sizes"}
  MODE: {value: "fast", model: "PA:List(fast,slow)"}
tasks:
  - name: Count
    script: {language: cpython, code: "result = variables['COUNT']"}
"""


def _jobs(client: Client) -> int:
    total: int = client.list_jobs(limit=1)["total"]
    return total


def test_a_bad_value_is_located_at_its_variable_and_no_job_is_made(alice: Client) -> None:
    before = _jobs(alice)
    checked = alice.validate_submission(COUNTED, {"COUNT": "11", "MODE": "fast"})
    assert not checked["valid"]
    assert [(p["field"], p["task"]) for p in checked["problems"]] == [("variable 'COUNT'", None)]
    assert "[1, 10]" in checked["problems"][0]["message"]
    assert checked["workflow"] is not None
    variables = {v["name"]: v for v in checked["workflow"]["variables"]}
    assert variables["COUNT"]["model"] == "PA:Integer[1,10]" and variables["COUNT"]["group"] == "Sizes"
    assert alice.validate_submission(COUNTED, {"COUNT": "10"}) == {**checked, "valid": True, "problems": []}
    assert _jobs(alice) == before


def test_an_unknown_variable_and_an_unreadable_workflow_are_problems_not_errors(
    alice: Client, tmp_path: Path
) -> None:
    unknown = alice.validate_submission(COUNTED, {"NOPE": "1"})
    assert [p["field"] for p in unknown["problems"]] == ["variables"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Broken\ntasks: [\n")
    checked = alice.validate_submission(broken)
    assert not checked["valid"] and checked["workflow"] is None
    assert checked["problems"] and checked["problems"][0]["line"] is not None


def test_a_catalog_workflow_is_checked_with_the_callers_rights(
    alice: Client, admin: Client, server: LiveServer
) -> None:
    alice.create_bucket("validation-alice")
    alice.push_object("validation-alice", "Counted", COUNTED, kind="workflow/standard")
    checked = alice.validate_catalog_submission("validation-alice", "Counted", {"MODE": "medium"})
    assert [p["field"] for p in checked["problems"]] == ["variable 'MODE'"]
    _, token = server.new_user()
    with Client(server.url, token) as bob, pytest.raises(ApiError) as refused:
        bob.validate_catalog_submission("validation-alice", "Counted")
    assert refused.value.status == 404

"""Job Analytics through the SDK and ``runyard analytics`` (the REST tests cover the semantics), and a
real job's variables and results as the engine stores them."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest

from cli_remote.conftest import Cli
from ml.analytics_jobs import AnalyticsStore, store
from runyard.client import ApiError, AsyncClient, Client, Script, ScriptExecutable, Task, Variable, Workflow
from runyard.client.documents import Dashboard

__all__ = ["store"]


def test_the_sdk(store: AnalyticsStore) -> None:
    alice = store.of(store.alice[0])
    with Client(store.server.url, store.alice[1]) as client:
        board = client.analytics(workflow=["Train*", "!*bert*"], status="finished", sample=10)
        page = client.analytics_executions(where="variables.LR<0.03", sort="variables.LR", sort_as="number")
        text = client.analytics_csv(project="ml", limit=3)
        with pytest.raises(ApiError) as refused:
            client.analytics(user="*")
        with pytest.raises(ApiError) as wrong:
            client.analytics_executions(submitted="someday")
    expected = [j for j in alice if j.name == "Train_Model" and j.status == "FINISHED"]
    assert board["metrics"]["total"] == len(expected) and len(board["charts"]["job_ids"]) == min(
        10, len(expected)
    )
    low = [j for j in alice if float(j.values["variables.LR"]) < 0.03]
    assert page["total"] == len(low)
    assert [r["variables.LR"] for r in page["rows"]] == sorted(r["variables.LR"] for r in page["rows"])
    assert len(list(csv.DictReader(io.StringIO(text)))) == 3
    assert refused.value.status == 403 and wrong.value.status == 400


def test_the_async_sdk(store: AnalyticsStore) -> None:
    async def dashboard() -> Dashboard:
        async with AsyncClient(store.server.url, store.alice[1]) as client:
            return await client.analytics(issue="interrupted")

    board = asyncio.run(dashboard())
    assert board["metrics"]["total"] == board["metrics"]["issues"]["interrupted"] > 0


def test_the_command(store: AnalyticsStore, tmp_path: Path) -> None:
    cli = Cli(store.server.url, store.alice[1], tmp_path)
    document = cli.json("analytics", "--workflow", "*nightly", "--limit", "5", "--sort", "duration")
    nightly = [j for j in store.of(store.alice[0]) if j.name == "ETL_nightly"]
    assert document["metrics"]["total"] == document["executions"]["total"] == len(nightly)
    assert len(document["executions"]["rows"]) == 5
    code, out, err = cli("analytics", "--csv", "--where", "results.Train>0.05", "--limit", "1000")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and all(float(r["results.Train"]) > 0.05 for r in rows)
    code, out, err = cli("analytics", "--status", "Failed")
    assert code == 0, err
    assert "jobs " in out and "interrupted" in out and "mean duration" in out
    assert cli("analytics", "--json", "--csv")[0] == 2
    code, _, err = cli("analytics", "--user", "*")
    assert code == 2 and "only an admin" in err
    code, _, err = cli("analytics", "--submitted", "someday")
    assert code == 2 and "unknown preset" in err
    code, out, err = cli("analytics", "--status", "Failed", "--columns", "id,variables.LR", "--limit", "3")
    assert code == 0 and "variables.LR" in out and " name " not in out, err
    code, _, err = cli("analytics", "--columns", "id,nowhere")
    assert code == 2 and "no column nowhere" in err


def test_a_real_jobs_variables_and_results(store: AnalyticsStore) -> None:
    """As the engine stores them: final variables (a task's put included), JSON results, the result map."""
    code = "variables.put('LOSS', 0.25)\nresultMap.put('score', 7)\nresult = {'n': 3}"
    task = Task("Fit", ScriptExecutable(Script("cpython", code)))
    workflow = Workflow("Real_Analytics", tasks=[task], variables=[Variable("RATE", "0.5")])
    _, token = store.server.new_user(prefix="carol")
    with Client(store.server.url, token) as client:
        job_id = client.submit(workflow)
        assert client.wait_for_job(job_id, timeout=60)["status"] == "FINISHED"
        row = client.analytics_executions()["rows"][0]
    assert row["id"] == job_id and row["variables.RATE"] == "0.5"
    assert "variables.LOSS" not in row  # a task's put reaches its descendants, not the job's variables
    assert row["results.Fit"] == {"n": 3} and row["result_map.score"] == 7

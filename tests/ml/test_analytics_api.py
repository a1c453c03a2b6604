"""Job Analytics over REST: every filter form, the panels, the series, sorting, paging, CSV, who sees
what, and bad input; answers compared with what the stored jobs say they must be."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ml.analytics_jobs import FORMULA, AnalyticsStore, StoredJob, store
from runyard.ml.analytics_search import number
from runyard.model import JobStatus

__all__ = ["store"]

Check = Callable[[StoredJob], bool]


def _get(store: AnalyticsStore, path: str, params: Any = None, token: str | None = None) -> httpx.Response:
    with store.server.client(token or store.alice[1]) as client:
        return client.get(f"/analytics{path}", params=params)


def _ids(store: AnalyticsStore, params: list[tuple[str, Any]], token: str | None = None) -> list[int]:
    answer = _get(store, "/executions", [*params, ("limit", 1000)], token)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["rows"])
    return [row["id"] for row in page["rows"]]


def _expected(jobs: list[StoredJob], keep: Check) -> list[int]:
    return sorted((job.id for job in jobs if keep(job)), reverse=True)


def _like(pattern: str, text: str | None) -> bool:
    return (
        text is not None
        and re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), text, re.IGNORECASE) is not None
    )


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ([("workflow", "Train_Model")], lambda j: j.name == "Train_Model"),
        ([("workflow", "train*")], lambda j: _like("train*", j.name)),
        ([("workflow", "*nightly")], lambda j: j.name.endswith("nightly")),
        ([("workflow", "*100%*")], lambda j: "100%" in j.name),  # % is a character, not a wildcard
        ([("workflow", "a_b")], lambda j: j.name == "a_b"),
        ([("workflow", "*_*")], lambda j: "_" in j.name),  # _ too
        ([("workflow", "!Train_Model")], lambda j: j.name != "Train_Model"),
        ([("workflow", "!*rain*")], lambda j: "rain" not in j.name.lower()),
        (
            [("workflow", "Train*"), ("workflow", "a_b")],
            lambda j: j.name.startswith("Train") or j.name == "a_b",
        ),
        ([("workflow", "!*bert*"), ("workflow", "!a_b")], lambda j: j.name not in ("Train-bert", "a_b")),
        ([("workflow", "[a-z]*")], lambda j: False),  # no regular expressions: brackets are characters
        ([("project", "ml")], lambda j: j.project == "ml"),
        ([("project", "ml*")], lambda j: (j.project or "").startswith("ml")),
        ([("project", "!ml")], lambda j: j.project != "ml"),  # jobs without a project included
        ([("status", "Finished"), ("status", "in-error")], lambda j: j.status in ("FINISHED", "IN_ERROR")),
        ([("issue", "interrupted")], lambda j: j.status in ("IN_ERROR", "FAILED", "CANCELED", "KILLED")),
        ([("issue", "finished_with_issues")], lambda j: j.failed_task),
        ([("where", "variables.LR<0.05")], lambda j: float(j.values["variables.LR"]) < 0.05),
        ([("where", "variables.MODE~AS")], lambda j: j.values["variables.MODE"] == "fast"),
        ([("where", "variables.MODE>1")], lambda j: False),  # not numbers: never greater
        ([("where", "variables.SCORE>0.1")], lambda j: (number(j.values["variables.SCORE"]) or 0) > 0.1),
        ([("where", "variables.SCORE<1")], lambda j: (number(j.values["variables.SCORE"]) or 1) < 1),
        ([("where", "results.Train>0.01")], lambda j: j.values.get("results.Train", 0) > 0.01),
        ([("where", "results.Report~rows")], lambda j: "results.Report" in j.values),
        ([("where", "result_map.accuracy>0.9")], lambda j: j.values.get("result_map.accuracy", 0) > 0.9),
        ([("where", "result_map.big>1")], lambda j: (number(j.values.get("result_map.big")) or 0) > 1),
        ([("where", "duration>100")], lambda j: (j.duration or 0) > 100),
        ([("where", "name~BERT")], lambda j: "bert" in j.name),
        ([("where", "id<20")], lambda j: j.id < 20),
    ],
)
def test_each_filter_finds_the_jobs_it_names(
    store: AnalyticsStore, params: list[tuple[str, Any]], keep: Check
) -> None:
    alice = store.alice[0]
    assert _ids(store, params) == _expected(store.of(alice), keep)


def test_submission_presets_and_ranges(store: AnalyticsStore) -> None:
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.date(), dt.time(), dt.UTC).timestamp()
    mine = store.of(store.alice[0])
    assert _ids(store, [("submitted", "today")]) == _expected(mine, lambda j: j.submitted_at >= midnight)
    yesterday = _expected(mine, lambda j: midnight - 86400 <= j.submitted_at < midnight)
    assert _ids(store, [("submitted", "yesterday")]) == yesterday
    week = _ids(store, [("submitted", "last_7_days")])
    assert week == _expected(mine, lambda j: j.submitted_at >= now.timestamp() - 7 * 86400)
    first = now.date().replace(day=1)
    last_month = dt.datetime.combine(
        (first - dt.timedelta(days=1)).replace(day=1), dt.time(), dt.UTC
    ).timestamp()
    this_month = dt.datetime.combine(first, dt.time(), dt.UTC).timestamp()
    expected = _expected(mine, lambda j: last_month <= j.submitted_at < this_month)
    assert _ids(store, [("submitted", "last_month")]) == expected
    start, end = mine[30].submitted_at, mine[10].submitted_at
    ranged = _ids(store, [("submitted_after", str(start)), ("submitted_before", str(end))])
    assert ranged == _expected(mine, lambda j: start <= j.submitted_at < end)
    day = (now - dt.timedelta(days=3)).date().isoformat()
    in_zone = _ids(store, [("submitted_after", day), ("tz", "Asia/Tokyo")])
    tokyo = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone(dt.timedelta(hours=9))).timestamp()
    assert in_zone == _expected(mine, lambda j: j.submitted_at >= tokyo)


def test_the_panels(store: AnalyticsStore) -> None:
    answer = _get(store, "", [("workflow", "!a_b")])
    assert answer.status_code == 200, answer.text
    board = answer.json()
    jobs = [j for j in store.of(store.alice[0]) if j.name != "a_b"]
    finished = [j for j in jobs if j.status is JobStatus.FINISHED]
    successful = [j for j in finished if not j.failed_task]
    timed = [j.duration for j in jobs if j.duration is not None]
    metrics = board["metrics"]
    assert metrics["total"] == len(jobs)
    assert metrics["successful"] == len(successful)
    assert metrics["success_ratio"] == pytest.approx(len(successful) / len(jobs))
    assert metrics["in_progress"] == sum(JobStatus(j.status).is_alive for j in jobs)
    assert metrics["issues"]["finished_with_issues"] == len(finished) - len(successful) > 0
    by_status = metrics["issues"]["interrupted_by_status"]
    assert by_status == {
        s: sum(j.status == s for j in jobs) for s in ("IN_ERROR", "FAILED", "CANCELED", "KILLED")
    }
    assert metrics["issues"]["interrupted"] == sum(by_status.values())
    assert metrics["mean_duration"] == pytest.approx(sum(timed) / len(timed))
    assert board["search"]["users"] == [store.alice[0]] and board["search"]["workflows"] == ["!a_b"]


def test_the_chart_series(store: AnalyticsStore) -> None:
    charts = _get(store, "", [("sample", 50)]).json()["charts"]
    newest = sorted(store.of(store.alice[0]), key=lambda j: j.id)[-50:]
    assert charts["job_ids"] == [j.id for j in newest]
    assert charts["duration"] == pytest.approx([j.duration for j in newest])
    assert set(charts["variables"]) == {"LR", "EPOCHS"}  # MODE, NOTE and SCORE are not all numbers
    assert charts["variables"]["LR"] == [float(j.values["variables.LR"]) for j in newest]
    assert set(charts["results"]) == {"Train"}  # Report's results are objects
    assert charts["results"]["Train"] == [j.values.get("results.Train") for j in newest]
    assert set(charts["result_map"]) == {"accuracy"}  # a 151-digit integer is not a number


def test_sorting_and_paging(store: AnalyticsStore) -> None:
    mine = store.of(store.alice[0])
    by_lr = sorted(mine, key=lambda j: (-float(j.values["variables.LR"]), -j.id))
    page = _get(
        store, "/executions", {"sort": "-variables.LR", "sort_as": "number", "limit": 7, "offset": 3}
    ).json()
    assert [r["id"] for r in page["rows"]] == [j.id for j in by_lr[3:10]]
    assert page["total"] == len(mine) and (page["limit"], page["offset"]) == (7, 3)
    assert "variables.LR" in page["columns"] and "results.Train" not in page["columns"]  # none in the page
    full = _get(store, "/executions", {"sort": "duration", "limit": 1000}).json()
    assert {"results.Train", "results.Report", "result_map.accuracy"} <= set(full["columns"])
    by_duration = full["rows"]
    durations = [r["duration"] for r in by_duration]
    known = [d for d in durations if d is not None]
    assert known == sorted(known) and durations[len(known) :] == [None] * (len(durations) - len(known))
    by_result = _get(
        store, "/executions", {"sort": "-results.Train", "sort_as": "number", "limit": 1000}
    ).json()
    with_result = sorted(
        (j for j in mine if "results.Train" in j.values), key=lambda j: (-j.values["results.Train"], -j.id)
    )
    without = sorted((j.id for j in mine if "results.Train" not in j.values), reverse=True)
    assert [r["id"] for r in by_result["rows"]] == [j.id for j in with_result] + without
    by_name = [r["name"] for r in _get(store, "/executions", {"sort": "name", "limit": 1000}).json()["rows"]]
    assert by_name == sorted(by_name)
    row = next(r for r in by_duration if r["id"] == mine[0].id)
    assert {k: v for k, v in row.items() if "." in k} == mine[0].values
    assert row["issue"] == ("finished_with_issues" if mine[0].failed_task else None)


def test_csv_export(store: AnalyticsStore) -> None:
    answer = _get(store, "/executions.csv", {"sort": "id", "tz": "UTC"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(answer.text)))
    mine = sorted(store.of(store.alice[0]), key=lambda j: j.id)
    assert [int(line["id"]) for line in lines] == [j.id for j in mine]
    first = lines[0]
    assert dt.datetime.fromisoformat(first["submitted_at"]).timestamp() == pytest.approx(
        mine[0].submitted_at, abs=0.001
    )
    assert first["variables.LR"] == mine[0].values["variables.LR"]
    assert {line["variables.NOTE"] for line in lines} == {
        "ok",
        "'" + FORMULA,
    }  # no formula reaches a spreadsheet
    with_report = next(line for line, job in zip(lines, mine, strict=True) if "results.Report" in job.values)
    assert with_report["results.Report"].startswith('{"rows"')
    limited = _get(store, "/executions.csv", {"limit": 5, "where": "variables.MODE~slow"}).text
    assert len(limited.strip().splitlines()) == 6


def test_users_see_their_own_jobs_admins_anyone(store: AnalyticsStore) -> None:
    alice, bob = store.alice[0], store.bob[0]
    admin = store.server.admin_token
    assert _ids(store, [], store.bob[1]) == _expected(store.jobs, lambda j: j.owner == bob)
    assert _ids(store, [("user", alice)]) == _expected(store.jobs, lambda j: j.owner == alice)
    for other in (bob, "*", f"{alice[:3]}*", f"!{bob}"):
        answer = _get(store, "", [("user", other)])
        assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    assert _ids(store, [], admin) == []  # an admin's own jobs by default: none here
    assert _ids(store, [("user", "*")], admin) == _expected(store.jobs, lambda j: True)
    assert _ids(store, [("user", bob), ("user", f"{alice[:3]}*")], admin) == _expected(
        store.jobs, lambda j: True
    )
    assert _ids(store, [("user", f"!{bob}"), ("user", "*")], admin) == _expected(
        store.jobs, lambda j: j.owner != bob
    )
    assert _get(store, "", token="not a token").status_code == 401


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"submitted": "fortnight"}, "unknown preset"),
        ({"submitted_after": "2026-13-45"}, "not a date"),
        ({"submitted_after": "2026-02-01", "submitted_before": "2026-01-01"}, "before"),
        ({"submitted": "today", "submitted_after": "2026-01-01"}, "not both"),
        ({"status": "Done"}, "unknown status"),
        ({"issue": "broken"}, "issue"),
        ({"tz": "Mars/Olympus"}, "time zone"),
        ({"tz": "../../etc/passwd"}, "time zone"),
        ({"workflow": "!"}, "nothing to match"),
        ({"workflow": "x" * 300}, "longer than"),
        ({"where": "variables.LR"}, "COLUMN~TEXT"),
        ({"where": "variables.LR<abc"}, "not a number"),
        ({"where": "duration~3"}, "contains"),
        ({"where": "name>3"}, "compare numbers"),
        ({"where": 'variables.a"b<1'}, "no quote"),
        ({"where": "colour~red"}, "unknown column"),
        ({"sort": "-nothing"}, "unknown column"),
        ({"sort_as": "date"}, "sort_as"),
        ({"limit": 100_000}, "limit"),
        ({"sample": 0}, "sample"),
    ],
)
def test_bad_input_is_a_400_saying_why(store: AnalyticsStore, params: dict[str, Any], message: str) -> None:
    path = "" if "sample" in params else "/executions"
    answer = _get(store, path, params)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "invalid_request" and message in body["message"], body


def test_too_many_values_are_refused(store: AnalyticsStore) -> None:
    answer = _get(store, "/executions", [("workflow", f"w{i}") for i in range(51)])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"

"""runyard plan create|list|show|pause|resume|delete|runs against a live server."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_remote.conftest import Cli
from planner.helpers import WORKFLOW
from runyard.client import Client
from support.server import LiveServer


@pytest.fixture(scope="module")
def cli(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    _, token = server.new_user(prefix="carol")
    with Client(server.url, token) as client:
        client.create_bucket("carol-plans")
        client.push_object("carol-plans", "Planned", WORKFLOW, kind="Workflow/standard")
    return Cli(server.url, token, tmp_path_factory.mktemp("config"))


def test_create_show_pause_resume_runs_delete(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli(
        "plan", "create", "carol-plans/Planned", "--cron", "0 9 * * 1-5", "--timezone", "Europe/Paris",
        "--exclude", "2099-12-25", "--var", "COUNT=4", "--name", "Weekday count",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("created plan ") and "next run 20" in out
    plan_id = out.split()[2].rstrip(";")
    listed = cli.json("plan", "list")["plans"]
    assert [(p["name"], p["variables"]) for p in listed] == [("Weekday count", {"COUNT": "4"})]
    code, out, _ = cli("plan", "list")
    assert code == 0 and "Weekday count" in out and "cron 0 9 * * 1-5" in out and "active" in out
    shown = cli.json("plan", "show", plan_id, "--count", "3")
    assert len(shown["next_times"]) == 3 and shown["schedule"]["exclusions"] == ["2099-12-25"]
    code, out, _ = cli("plan", "show", plan_id)
    assert code == 0 and "variable COUNT = 4" in out and "missed times: skip" in out
    assert cli("plan", "pause", plan_id)[2] == f"paused plan {plan_id}\n"
    assert cli.json("plan", "show", plan_id)["next_times"] == []
    assert cli("plan", "resume", plan_id)[2].startswith(f"resumed plan {plan_id}; next run 20")
    assert cli.json("plan", "runs", plan_id) == {"runs": []}
    assert cli("plan", "delete", plan_id)[2] == f"deleted plan {plan_id}\n"
    code, _, err = cli("plan", "show", plan_id)
    assert code == 2 and f"no plan {plan_id}" in err


def test_names_are_shown_as_text_not_markup(cli: Cli) -> None:
    plan = cli.json("plan", "create", "carol-plans/Planned", "--cron", "0 9 * * *", "--name", "[red]x[/red]")
    code, out, _ = cli("plan", "list")
    assert code == 0 and "[red]x[/red]" in out
    code, out, _ = cli("plan", "show", str(plan["id"]))
    assert code == 0 and "[red]x[/red]" in out
    cli("plan", "delete", str(plan["id"]))


def test_a_calendar_from_a_file(cli: Cli, tmp_path: Path) -> None:
    dates = tmp_path / "dates.txt"
    dates.write_text("2099-01-02T10:00\n\n2099-01-01T10:00\n")
    plan = cli.json(
        "plan", "create", "carol-plans/Planned", "--dates-file", str(dates), "--missed", "run-all"
    )
    assert (
        plan["schedule"]["dates"] == ["2099-01-02T10:00", "2099-01-01T10:00"] and plan["missed"] == "run-all"
    )
    cli("plan", "delete", str(plan["id"]))


def test_bad_input_exits_2_with_the_reason(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("plan", "create", "carol-plans/Planned", "--cron", "every day")
    assert code == 2 and "is not a cron expression" in err
    code, _, err = cli("plan", "create", "carol-plans/Planned", "--cron", "* * * * *", "--var", "COUNT=x")
    assert code == 2 and "COUNT" in err
    code, _, err = cli("plan", "create", "Planned", "--cron", "* * * * *")
    assert code == 2 and "expected BUCKET/NAME" in err
    code, _, err = cli("plan", "create", "carol-plans/Planned", "--cron", "* * * * *", "--missed", "often")
    assert code == 2 and "--missed: one of skip, run-once, run-all" in err
    huge = tmp_path / "huge.txt"
    huge.write_text("2099-01-01T10:00\n" * 100_000)
    code, _, err = cli("plan", "create", "carol-plans/Planned", "--dates-file", str(huge))
    assert code == 2 and "at most 10000 dates" in err
    assert cli.json("plan", "list") == {"plans": []}

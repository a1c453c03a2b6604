"""``runyard service`` against a live server: list, start --wait, info, action, kill, clean, errors."""

from __future__ import annotations

import httpx

from cli_remote.conftest import Cli

FAST = "HEALTH_CHECK_CRON=* * * * * */1"


def test_list_shows_the_shipped_services(user_cli: Cli) -> None:
    services = {s["id"]: s for s in user_cli.json("service", "list")}
    assert services["Static_HTTP"]["activations"] == ["Static_HTTP"]
    code, out, _ = user_cli("service", "list")
    assert code == 0 and "Finish_Static_HTTP" in out


def test_start_wait_info_finish_and_clean(user_cli: Cli) -> None:
    started = user_cli.json(
        "service", "start", "Static_HTTP", "--var", "CONTENT=from the cli", "--var", FAST, "--wait"
    )
    assert set(started) >= {
        "id",
        "service_id",
        "status",
        "variables",
        "endpoints",
        "deployments",
        "job_submissions",
    }
    assert started["status"] == "RUNNING" and started["variables"]["CONTENT"] == "from the cli"
    (endpoint,) = started["endpoints"].values()
    assert httpx.get(endpoint["url"]).text == "from the cli"
    identifier = str(started["id"])
    code, out, _ = user_cli("service", "info", identifier)
    assert code == 0 and "RUNNING" in out and endpoint["url"] in out
    assert [i["id"] for i in user_cli.json("service", "instances")].count(started["id"]) == 1
    code, _, err = user_cli("service", "clean", identifier)
    assert code == 1 and "only FINISHED or KILLED" in err
    finished = user_cli.json("service", "action", identifier, "Finish_Static_HTTP", "--wait")
    assert finished["status"] == "FINISHED"
    assert started["id"] in [i["id"] for i in user_cli.json("service", "instances", "--finished")]
    code, out, _ = user_cli("service", "clean", identifier)
    assert code == 0
    code, _, err = user_cli("service", "info", identifier)
    assert code == 2 and "no service instance" in err


def test_refusals_exit_with_the_reason(user_cli: Cli) -> None:
    code, _, err = user_cli("service", "start", "Static_HTTP", "--var", "SERVICE_PORT=many")
    assert code == 2 and "SERVICE_PORT" in err
    code, _, err = user_cli("service", "start", "No_Such_Service")
    assert code == 2 and "no service 'No_Such_Service'" in err
    started = user_cli.json("service", "start", "Static_HTTP", "--var", FAST, "--wait")
    code, _, err = user_cli("service", "action", str(started["id"]), "Static_HTTP")
    assert code == 1 and "allowed: Finish_Static_HTTP" in err
    killed = user_cli.json("service", "kill", str(started["id"]))
    assert killed["status"] == "KILLED" and killed["node_tokens"] == []

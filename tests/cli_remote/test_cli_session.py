"""login / logout / whoami, where the URL and token come from, and authentication failures."""

from __future__ import annotations

import stat
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_remote.conftest import Cli
from support.server import ADMIN, PASSWORD, LiveServer, live_server


def test_login_saves_url_and_token_privately_and_logout_revokes(server: LiveServer, bare_cli: Cli) -> None:
    name, _ = server.new_user()
    code, _, err = bare_cli(
        "login", "--url", server.url, "--user", name, "--password-stdin", input=PASSWORD + "\n"
    )
    assert code == 0, err
    assert f"logged in to {server.url} as {name}" in err
    path = bare_cli.config_home / "runyard" / "client.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = tomllib.loads(path.read_text())
    assert saved["url"] == server.url and saved["user"] == name
    token = saved["token"]
    assert bare_cli.json("whoami") == {"name": name, "role": "user"}  # URL and token from the file
    assert bare_cli.json("jobs")["total"] == 0

    code, _, err = bare_cli("logout")
    assert (code, err.strip()) == (0, "logged out")
    assert "token" not in tomllib.loads(path.read_text())
    code, _, err = bare_cli("whoami", "--token", token)  # the URL is still in the file
    assert code == 2 and "expired or revoked" in err and "runyard login" in err
    assert bare_cli("logout")[2].strip() == "not logged in"


def test_changing_ones_password_says_to_log_in_again_and_forgets_the_dead_token(
    server: LiveServer, bare_cli: Cli
) -> None:
    name, _ = server.new_user()
    login = ("login", "--url", server.url, "--user", name, "--password-stdin")
    assert bare_cli(*login, input=PASSWORD + "\n")[0] == 0
    code, _, err = bare_cli("users", "password", name, "--password-stdin", input="a new password\n")
    assert code == 0, err
    assert f"every session of {name} ended, this one too (the saved token is forgotten)" in err
    assert f"log in again with `runyard login --url {server.url} --user {name}`" in err
    path = bare_cli.config_home / "runyard" / "client.toml"
    assert "token" not in tomllib.loads(path.read_text())
    code, _, err = bare_cli("whoami")
    assert code == 2 and "runyard login" in err
    assert bare_cli(*login, input="a new password\n")[0] == 0
    assert bare_cli.json("whoami")["name"] == name


def test_an_admin_reset_says_the_users_sessions_ended(server: LiveServer, admin_cli: Cli) -> None:
    name, token = server.new_user()
    code, _, err = admin_cli("users", "password", name, "--password-stdin", input="reset by admin\n")
    assert (code, err.strip()) == (
        0,
        f"password of {name} changed: every session of {name} ended ({name} logs in with it again)",
    )
    assert admin_cli.json("whoami")["name"] == ADMIN  # the admin's own session goes on
    code, _, err = Cli(server.url, token, admin_cli.config_home)("whoami")
    assert code == 2 and "expired or revoked" in err


def test_wrong_password(server: LiveServer, bare_cli: Cli) -> None:
    code, _, err = bare_cli("login", "--url", server.url, "--user", ADMIN, "--password-stdin", input="nope\n")
    assert code == 2 and "wrong user name or password" in err
    assert not (bare_cli.config_home / "runyard" / "client.toml").exists()


def test_no_server_no_token_bad_token(server: LiveServer, bare_cli: Cli) -> None:
    code, _, err = bare_cli("jobs")
    assert code == 2 and "no server given" in err
    code, _, err = bare_cli("jobs", "--url", server.url)
    assert code == 2 and "a session token is needed" in err
    code, _, err = bare_cli("jobs", "--url", server.url, "--token", "forged")
    assert code == 2 and "unknown, expired or revoked" in err
    code, _, err = bare_cli("jobs", "--url", "ftp://example")
    assert code == 2 and "not an http(s) URL" in err
    code, _, err = bare_cli("jobs", "--url", "http://127.0.0.1:abc")
    assert code == 2 and "not a valid URL" in err and "Traceback" not in err


def test_flags_beat_environment_beat_the_file(server: LiveServer, bare_cli: Cli) -> None:
    login = ("login", "--url", server.url, "--user", ADMIN, "--password-stdin")
    assert bare_cli(*login, input=PASSWORD + "\n")[0] == 0
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    bare_cli.env = {"RUNYARD_URL": dead}
    code, _, err = bare_cli("whoami")
    assert (
        code == 2 and "cannot talk to http://127.0.0.1:9" in err
    )  # the environment's URL wins over the file
    assert bare_cli.json("whoami", "--url", server.url)["name"] == ADMIN  # the flag wins over the environment
    bare_cli.env = {"RUNYARD_TOKEN": "forged"}
    assert bare_cli("whoami")[0] == 2  # the environment's token wins over the file's


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Another server, whose tokens expire after a second."""
    with live_server(tmp_path_factory.mktemp("short"), session_ttl=1) as started:
        yield started


def test_the_saved_token_is_only_sent_to_its_server(
    server: LiveServer, short_lived: LiveServer, bare_cli: Cli
) -> None:
    assert (
        bare_cli("login", "--url", server.url, "--user", ADMIN, "--password-stdin", input=PASSWORD + "\n")[0]
        == 0
    )
    code, _, err = bare_cli("whoami", "--url", short_lived.url)
    assert code == 2 and "a session token is needed" in err


def test_an_expired_token(short_lived: LiveServer, tmp_path: Path) -> None:
    cli = Cli(short_lived.url, short_lived.login(ADMIN), tmp_path / "config")
    assert cli.json("whoami")["name"] == ADMIN
    time.sleep(1.1)
    code, _, err = cli("whoami")
    assert code == 2 and "expired" in err


def test_local_user_commands_still_work(tmp_path: Path, bare_cli: Cli) -> None:
    data = str(tmp_path / "data")
    code, _, err = bare_cli(
        "user", "add", "carol", "--admin", "--password-stdin", "--data-dir", data, input="long enough pw\n"
    )
    assert code == 0, err
    code, out, _ = bare_cli("user", "list", "--data-dir", data)
    assert (code, out) == (0, "carol\tadmin\n")

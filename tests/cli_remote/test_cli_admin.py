"""runyard nodes, credentials and users against a server."""

from __future__ import annotations

from pathlib import Path

from cli_remote.conftest import Cli
from client.helpers import script_task
from runyard import formats
from runyard.client import Workflow
from support.server import PASSWORD, LiveServer


def test_nodes(user_cli: Cli, admin_cli: Cli) -> None:
    nodes = user_cli.json("nodes")
    assert [n["name"] for n in nodes] == ["local-1", "local-2"]
    assert "local-1" in user_cli("nodes")[1]
    [source] = user_cli.json("nodes", "sources")
    assert (source["name"], source["nodes"], sum(source["states"].values())) == ("local", 2, 2)
    assert user_cli("nodes", "sources")[1].startswith("local: 2 nodes (")
    code, _, err = user_cli("nodes", "lock", "local-2")
    assert code == 2 and "only an admin" in err
    assert admin_cli("nodes", "lock", "local-2")[1] == "local-2: locked\n"
    assert "root at" in admin_cli("nodes")[1]
    assert admin_cli("nodes", "unlock", "local-2")[1] == "local-2: free\n"
    assert admin_cli("nodes", "add-token", "local-2", "GPU")[1] == "local-2 holds: GPU\n"
    assert admin_cli("nodes", "remove-token", "local-2", "GPU")[0] == 0
    assert user_cli.json("nodes")[1]["tokens"] == []
    assert admin_cli("nodes", "lock", "local-9")[0] == 2


def test_credentials_reach_the_tasks(user_cli: Cli, tmp_path: Path) -> None:
    code, _, err = user_cli("credentials", "set", "TOKEN", "--value-stdin", input="s3cret\n")
    assert (code, err) == (0, "created credential TOKEN\n")
    assert (
        user_cli("credentials", "set", "TOKEN", "--value-stdin", input="s3cret2\n")[2]
        == "replaced credential TOKEN\n"
    )
    assert user_cli.json("credentials") == ["TOKEN"]
    assert user_cli("credentials")[1] == "TOKEN\n"
    reader = tmp_path / "reader.yaml"
    formats.dump(
        Workflow("Reader", tasks=[script_task("Read", "bash", 'echo "got $credentials_TOKEN"')]), reader
    )
    job_id = user_cli.json("submit", str(reader), "--wait")["id"]
    assert user_cli("logs", str(job_id), "--task", "Read")[1] == "got s3cret2\n"
    assert user_cli("credentials", "remove", "TOKEN")[0] == 0
    assert user_cli.json("credentials") == []
    assert user_cli("credentials", "remove", "TOKEN")[0] == 2


def test_accounts(server: LiveServer, user_cli: Cli, admin_cli: Cli, tmp_path: Path) -> None:
    code, _, err = admin_cli("users", "add", "dave", "--password-stdin", input="first password\n")
    assert (code, err) == (0, "created user dave\n")
    assert {"name": "dave", "role": "user"} in admin_cli.json("users")
    assert "dave\tuser" in admin_cli("users")[1]
    assert user_cli("users")[0] == 2
    assert admin_cli("users", "add", "dave", "--password-stdin", input="first password\n")[0] == 1  # exists
    dave = Cli(server.url, server.login("dave", "first password"), tmp_path)
    assert dave("users", "password", "dave", "--password-stdin", input=PASSWORD + "\n")[0] == 0
    assert dave("users", "password", "root", "--password-stdin", input="taken over!\n")[0] == 2
    assert server.login("dave")  # the new password works
    code, token, err = admin_cli("users", "token", "dave", "--days", "90")
    assert code == 0 and "token of dave, valid until" in err
    assert Cli(server.url, token.strip(), tmp_path).json("whoami")["name"] == "dave"
    assert user_cli("users", "token", "dave")[0] == 2  # admins only
    assert admin_cli("users", "remove", "dave") == (0, "", "removed dave\n")
    assert dave("whoami")[0] == 2

"""runyard catalog: buckets, objects, push, pull, revisions, restore, delete."""

from __future__ import annotations

from pathlib import Path

from cli_remote.conftest import Cli
from client.helpers import EXAMPLES


def test_push_pull_revisions_restore(user_cli: Cli, tmp_path: Path) -> None:
    assert user_cli("catalog", "create-bucket", "cli-bucket") == (0, "", "created bucket cli-bucket\n")
    hello = EXAMPLES / "hello.yaml"
    first = user_cli.json("catalog", "push", "cli-bucket/hello", str(hello), "--kind", "Workflow/standard")
    assert (first["revision"], first["kind"]) == (1, "Workflow/standard")
    changed = tmp_path / "hello2.yaml"
    changed.write_text(hello.read_text().replace("hello", "bonjour"))
    code, _, err = user_cli(
        "catalog", "push", "cli-bucket/hello", str(changed), "-m", "in French", "--tag", "fr"
    )
    assert (code, err) == (0, "pushed cli-bucket/hello revision 2\n")

    code, shown, _ = user_cli("catalog", "diff", "cli-bucket/hello")
    assert code == 0 and shown.startswith("--- hello@1\n+++ hello@2\n")
    assert any(line.startswith("+") and "bonjour" in line for line in shown.splitlines()), shown
    same = user_cli.json("catalog", "diff", "cli-bucket/hello", "--from", "1", "--to", "1")
    assert same["identical"] and same["blocks"][0]["kind"] == "equal"
    revisions = user_cli.json("catalog", "revisions", "cli-bucket/hello")
    assert [(r["revision"], r["commit_message"]) for r in revisions] == [(2, "in French"), (1, "")]
    assert "in French" in user_cli("catalog", "revisions", "cli-bucket/hello")[1]
    assert user_cli("catalog", "pull", "cli-bucket/hello")[1] == changed.read_text()
    pulled = tmp_path / "pulled.yaml"
    assert user_cli("catalog", "pull", "cli-bucket/hello", "--revision", "1", "-o", str(pulled))[0] == 0
    assert pulled.read_bytes() == hello.read_bytes()

    restored = user_cli.json("catalog", "restore", "cli-bucket/hello", "1")
    assert (restored["revision"], restored["commit_message"]) == (3, "restored revision 1")
    assert user_cli("catalog", "pull", "cli-bucket/hello")[1] == hello.read_text()
    job = user_cli.json("submit", "cli-bucket/hello", "--revision", "2", "--wait")
    assert job["tasks"][0]["result"] == "bonjour world"

    listed = user_cli.json("catalog", "objects", "cli-bucket")
    assert [o["name"] for o in listed["objects"]] == ["hello"] and listed["objects"][0]["revision"] == 3
    assert "hello" in user_cli("catalog", "objects", "cli-bucket")[1]
    buckets = {b["name"]: b for b in user_cli.json("catalog", "buckets")}
    assert buckets["cli-bucket"]["object_count"] == 1 and buckets["basic-examples"]["public"]
    assert "basic-examples" in user_cli("catalog", "buckets")[1]

    code, _, err = user_cli("catalog", "delete", "cli-bucket")
    assert code == 1 and "cli-bucket" in err  # not empty: refused for its state
    assert user_cli("catalog", "delete", "cli-bucket/hello")[0] == 0
    assert user_cli("catalog", "delete", "cli-bucket")[0] == 0


def test_catalog_errors(user_cli: Cli, tmp_path: Path) -> None:
    code, _, err = user_cli("catalog", "pull", "basic-examples/Nothing")
    assert code == 2 and "Nothing" in err
    code, _, err = user_cli(
        "catalog", "push", "basic-examples/Mine", str(EXAMPLES / "hello.yaml"), "--kind", "Text"
    )
    assert code == 2  # readable, not writable
    code, _, err = user_cli("catalog", "pull", "no-slash")
    assert code == 2 and "expected BUCKET/NAME" in err
    user_cli("catalog", "create-bucket", "errors-bucket")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Broken\ntasks:\n  A:\n    depends: [B]\n    script:\n      bash: echo\n")
    code, _, err = user_cli(
        "catalog", "push", "errors-bucket/broken", str(broken), "--kind", "Workflow/standard"
    )
    assert code == 2 and "depends" in err
    code, _, err = user_cli("catalog", "push", "errors-bucket/nokind", str(broken))
    assert code == 2 and "a kind is needed" in err
    user_cli("catalog", "delete", "errors-bucket", "--force")

"""runyard notifications: list (table or JSON, unread only), read and delete."""

from __future__ import annotations

from cli_remote.conftest import Cli
from runyard.client import Client


def test_list_read_delete(user_cli: Cli) -> None:
    assert user_cli.url is not None
    with Client(user_cli.url, user_cli.token) as client:
        drift = client.create_notification("drift", "Drift on m1", "ADWIN saw a change", {"feature": "x"})
        note = client.create_notification("note", "Remember")
    code, out, _ = user_cli("notifications")
    assert code == 0 and "2 unread" in out and "Drift on m1" in out and "Remember" in out
    listed = user_cli.json("notifications", "--limit", "1")
    assert [n["id"] for n in listed["notifications"]] == [note["id"]] and listed["unread"] == 2
    code, out, _ = user_cli("notifications", "read", str(drift["id"]))
    assert code == 0 and "Drift on m1" in out and "ADWIN saw a change" in out and '"feature": "x"' in out
    unread = user_cli.json("notifications", "--unread")
    assert [n["id"] for n in unread["notifications"]] == [note["id"]]
    assert user_cli("notifications", "delete", str(note["id"]))[2] == f"deleted notification {note['id']}\n"
    code, _, err = user_cli("notifications", "delete", str(note["id"]))
    assert code == 2 and f"no notification {note['id']}" in err

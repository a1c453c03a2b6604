"""Synchronization channels over REST and the SDK: versions and compare-and-set, waiting for a change,
scoping by owner (another user's channel of the same name is another channel; a job token reaches its
owner's), bounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from runyard.client import ApiError, Client
from runyard.client.channels import ChannelEntry
from runyard.store import channels
from runyard.store.channels import MAX_VALUE_BYTES
from support.server import LiveServer, backend_server
from taskapi.conftest import job_token, running_job


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Both stores: compare-and-set relies on each one's transactions."""
    with backend_server(request, tmp_path_factory.mktemp("server")) as started:
        yield started


def test_versions_and_compare_and_set(alice: Client) -> None:
    assert alice.create_channel("cas") is True
    assert alice.create_channel("cas", if_absent=True) is False
    with pytest.raises(ApiError) as exists:
        alice.create_channel("cas")
    assert exists.value.status == 409
    assert alice.get_channel_entry("cas", "k") == {"key": "k", "value": None, "version": 0}
    assert alice.put_channel_entry("cas", "k", [1], expected_version=0)["version"] == 1
    with pytest.raises(ApiError) as stale:
        alice.put_channel_entry("cas", "k", [2], expected_version=0)
    assert stale.value.status == 409 and stale.value.details == {"version": 1}
    assert alice.put_channel_entry("cas", "k", {"a": [1, 2]}, expected_version=1)["version"] == 2
    assert alice.put_channel_entry("cas", "a/b", "slashed")["version"] == 1
    assert [e["key"] for e in alice.channel_entries("cas")] == ["a/b", "k"]
    with pytest.raises(ApiError):
        alice.remove_channel_entry("cas", "k", expected_version=1)
    assert alice.remove_channel_entry("cas", "k", expected_version=2)["value"] == {"a": [1, 2]}
    assert alice.list_channels()[0]["keys"] == 1
    alice.delete_channel("cas")
    with pytest.raises(ApiError) as gone:
        alice.get_channel_entry("cas", "a/b")
    assert gone.value.status == 404


def test_a_read_waits_for_the_change(alice: Client) -> None:
    alice.create_channel("waits")
    got: list[ChannelEntry] = []
    reader = threading.Thread(
        target=lambda: got.append(alice.get_channel_entry("waits", "state", changed_from=0, wait=15))
    )
    started = time.monotonic()
    reader.start()
    time.sleep(0.3)
    alice.put_channel_entry("waits", "state", "RUNNING")
    reader.join(15)
    assert got[0]["value"] == "RUNNING" and time.monotonic() - started < 5
    unchanged = alice.get_channel_entry("waits", "state", changed_from=1, wait=0.3)
    assert unchanged["version"] == 1


def test_channels_are_scoped_by_owner(server: LiveServer, alice: Client, bob: Client) -> None:
    alice.create_channel("mine")
    alice.put_channel_entry("mine", "secret", "alice's")
    with pytest.raises(ApiError) as absent:
        bob.get_channel_entry("mine", "secret")
    assert absent.value.status == 404
    bob.create_channel("mine")  # bob's own channel of that name
    bob.put_channel_entry("mine", "secret", "bob's")
    bob.delete_channel("mine")
    assert alice.get_channel_entry("mine", "secret")["value"] == "alice's"
    assert "mine" not in [c["name"] for c in bob.list_channels()]

    job_id = running_job(alice)
    try:
        with Client(server.url, job_token(server, job_id, alice.whoami()["name"])) as task:
            assert task.get_channel_entry("mine", "secret")["value"] == "alice's"
    finally:
        alice.kill_job(job_id)


def test_bounds(alice: Client) -> None:
    alice.create_channel("bounded")
    with pytest.raises(ApiError) as big:
        alice.put_channel_entry("bounded", "k", "x" * MAX_VALUE_BYTES)
    assert big.value.status == 400
    with pytest.raises(ApiError) as long_key:
        alice.put_channel_entry("bounded", "k" * 300, 1)
    assert long_key.value.status == 400
    with pytest.raises(ApiError) as long_name:
        alice.create_channel("c" * 300)
    assert long_name.value.status == 400
    with pytest.raises(ValueError):
        alice.create_channel("a/b")
    with pytest.raises(ApiError) as no_channel:
        alice.put_channel_entry("never-created", "k", 1)
    assert no_channel.value.status == 404
    assert alice.channel_entries("bounded") == []


def test_what_one_owner_keeps_is_bounded(alice: Client, bob: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels, "MAX_OWNER_CHARACTERS", 1000)  # the server runs in this process
    alice.create_channel("full")
    alice.put_channel_entry("full", "a", "x" * 600)
    alice.put_channel_entry("full", "a", "y" * 600)  # a value replaced counts once
    with pytest.raises(ApiError) as full:
        alice.put_channel_entry("full", "b", "x" * 600)
    assert full.value.status == 400 and "at most" in full.value.message
    bob.create_channel("full")
    bob.put_channel_entry("full", "b", "x" * 600)  # another owner's bound
    alice.delete_channel("full")
    bob.delete_channel("full")

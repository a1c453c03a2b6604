"""Signals over REST and the SDK: ready with variables, send with values checked against their models,
remove, wait, the job's event stream; another user, another job's token and oversized input refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from runyard.client import ApiError, Client, WaitTimeout
from runyard.client.signals import Signal
from support.server import LiveServer
from taskapi.conftest import job_token, running_job

VARIABLES = [
    {"name": "COUNT", "value": "12", "model": "PA:Integer[1,100]"},
    {"name": "MODE", "value": "fast", "model": "PA:List(fast,slow)", "description": "how"},
]


@pytest.fixture(scope="module")
def job(alice: Client) -> Iterator[int]:
    job_id = running_job(alice)
    yield job_id
    alice.kill_job(job_id)


def test_ready_send_and_remove_with_variables(alice: Client, job: int) -> None:
    ready = alice.ready_for_signal(job, "Rerun", VARIABLES, task="Wait")
    assert ready["status"] == "ready" and ready["variables"][0]["model"] == "PA:Integer[1,100]"
    assert "ready_Rerun" in alice.list_signals(job)["names"]

    with pytest.raises(ApiError) as bad:
        alice.send_signal(job, "Rerun", {"COUNT": "1000"})
    assert bad.value.status == 400 and "COUNT" in str(bad.value.details)
    with pytest.raises(ApiError) as unknown:
        alice.send_signal(job, "Rerun", {"OTHER": "1"})
    assert unknown.value.status == 400
    assert alice.list_signals(job)["signals"][0]["status"] == "ready"  # nothing changed

    sent = alice.send_signal(job, "Rerun", {"COUNT": "7"})
    assert sent["status"] == "received" and sent["values"] == {"COUNT": "7", "MODE": "fast"}
    assert alice.list_signals(job)["names"] == ["Rerun"]
    with pytest.raises(ApiError) as again:  # its task is not ready again
        alice.send_signal(job, "Rerun")
    assert again.value.status == 409

    alice.ready_for_signal(job, "Rerun", VARIABLES)  # a task waiting in a loop is ready anew
    assert alice.list_signals(job)["names"] == ["ready_Rerun"]
    assert alice.remove_signals(job, ["ready_Rerun"]) == 1
    assert alice.list_signals(job)["signals"] == []


def test_sending_needs_a_ready_task(alice: Client, job: int) -> None:
    with pytest.raises(ApiError) as refused:
        alice.send_signal(job, "Never_Declared")
    assert refused.value.status == 409


def test_any_printable_name_is_a_signal(alice: Client, job: int) -> None:
    for name in ("a/b", "ready", "received", "Stop now?", "é#%"):
        alice.ready_for_signal(job, name)
        assert alice.send_signal(job, name)["name"] == name
    assert len(alice.received_signals(job, ["a/b", "ready", "received", "Stop now?", "é#%"])) == 5
    alice.remove_signals(job, ["a/b", "ready", "received", "Stop now?", "é#%"])


def test_wait_for_any_gets_the_signal_sent_meanwhile(alice: Client, job: int) -> None:
    alice.ready_for_signal(job, "Go")
    alice.ready_for_signal(job, "Stop")
    got: list[Signal] = []
    waiter = threading.Thread(target=lambda: got.append(alice.wait_for_signals(job, ["Go", "Stop"], 30)))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.3)
    alice.send_signal(job, "Stop")
    waiter.join(30)
    assert got and got[0]["name"] == "Stop"
    assert time.monotonic() - started < 5  # woken by the change, not by a poll
    with pytest.raises(WaitTimeout):
        alice.wait_for_signals(job, ["Go"], timeout=0.5)
    alice.remove_signals(job, ["Go", "Stop"])


def test_a_wait_outlasts_the_client_timeout(server: LiveServer, alice: Client, job: int) -> None:
    """The server holds a wait longer than a short client timeout: the client allows for it."""
    alice.ready_for_signal(job, "Late")
    alice.create_channel("held")
    threading.Timer(1.5, lambda: alice.send_signal(job, "Late")).start()
    with Client(server.url, alice.token, timeout=0.5) as impatient:
        assert impatient.wait_for_signals(job, ["Late"], 10)["name"] == "Late"
        entry = impatient.get_channel_entry("held", "key", changed_from=0, wait=1)
    assert entry["version"] == 0
    alice.remove_signals(job, ["Late"])
    alice.delete_channel("held")


def test_changes_are_on_the_job_event_stream(alice: Client, job: int) -> None:
    seen: list[dict[str, object]] = []
    for event in alice.events(job, subscribed=True):
        if event["kind"] == "subscribed":
            alice.ready_for_signal(job, "Watched")
        elif event["kind"] == "signal":
            seen.append(dict(event))
            break
    assert seen[0]["signal"]["name"] == "Watched"  # type: ignore[index]
    alice.remove_signals(job, ["Watched"])


def test_another_user_can_neither_read_nor_send(alice: Client, bob: Client, job: int) -> None:
    alice.ready_for_signal(job, "Private")
    for attempt in (
        lambda: bob.list_signals(job),
        lambda: bob.send_signal(job, "Private"),
        lambda: bob.ready_for_signal(job, "Intruder"),
        lambda: bob.remove_signals(job, ["Private"]),
        lambda: bob.wait_for_signals(job, ["Private"], 1),
    ):
        with pytest.raises(ApiError) as refused:
            attempt()
        assert refused.value.status == 403
    assert [s["name"] for s in alice.list_signals(job)["signals"]] == ["Private"]
    alice.remove_signals(job, ["Private"])


def test_a_job_token_acts_on_its_own_job_only(server: LiveServer, alice: Client, job: int) -> None:
    owner = alice.whoami()["name"]
    other = alice.submit("name: Other\ntasks:\n  T:\n    script:\n      cpython: result = 1\n")
    with Client(server.url, job_token(server, job, owner)) as task:
        task.ready_for_signal(job, "From_Task", task="Wait")
        assert task.list_signals(job)["names"] == ["ready_From_Task"]
        for attempt in (lambda: task.list_signals(other), lambda: task.ready_for_signal(other, "X")):
            with pytest.raises(ApiError) as refused:
                attempt()
            assert refused.value.status == 403
    alice.remove_signals(job, ["From_Task"])


def test_oversized_input_is_refused(server: LiveServer, alice: Client, job: int) -> None:
    with pytest.raises(ApiError) as long_name:
        alice.ready_for_signal(job, "S" * 300)
    assert long_name.value.status == 400
    with pytest.raises(ApiError) as many:
        alice.ready_for_signal(job, "Many", [{"name": f"V{i}"} for i in range(101)])
    assert many.value.status == 400
    with pytest.raises(ApiError) as long_value:
        alice.ready_for_signal(job, "Big", [{"name": "V", "value": "x" * 20_000}])
    assert long_value.value.status == 400
    with pytest.raises(ApiError) as bad_model:
        alice.ready_for_signal(job, "Bad", [{"name": "V", "model": "PA:Integer[oops"}])
    assert bad_model.value.status == 400
    assert alice.list_signals(job)["signals"] == []


def test_signals_go_with_their_job(alice: Client) -> None:
    job_id = alice.submit("name: Short\ntasks:\n  T:\n    script:\n      cpython: result = 1\n")
    alice.ready_for_signal(job_id, "Left_Over", VARIABLES)
    alice.wait_for_job(job_id, timeout=60)
    alice.delete_job(job_id)
    with pytest.raises(ApiError) as gone:
        alice.list_signals(job_id)
    assert gone.value.status == 404

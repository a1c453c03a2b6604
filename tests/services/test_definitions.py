"""Services as the catalog defines them: each call sees the latest revisions, though their actions are
made once per revision."""

from __future__ import annotations

import uuid

import pytest

from runyard.client import ApiError, Client
from support.server import LiveServer

WORKFLOW = """\
name: NAME
generic_information:
  pca.service.id: SERVICE_ID
  pca.states: STATES
tasks:
  T:
    script:
      cpython: "pass"
"""


def _push(client: Client, bucket: str, name: str, service_id: str, states: str) -> None:
    text = WORKFLOW.replace("NAME", name).replace("SERVICE_ID", service_id).replace("STATES", states)
    client.push_object(bucket, name, text, kind="Workflow/psa")


def _transitions(client: Client, service_id: str, bucket: str) -> dict[str, list[tuple[str, str]]]:
    service = client.get_service(service_id, bucket=bucket)
    return {a["name"]: [(t["source"], t["target"]) for t in a["transitions"]] for a in service["actions"]}


def test_a_new_revision_a_new_action_and_a_removed_one_are_seen_at_once(sqlite_server: LiveServer) -> None:
    _, token = sqlite_server.new_user()
    service_id = f"Defined_{uuid.uuid4().hex[:8]}"
    bucket = service_id.lower().replace("_", "-")
    with Client(sqlite_server.url, token) as client:
        client.create_bucket(bucket)
        _push(client, bucket, "Start", service_id, "(VOID,RUNNING)")
        assert _transitions(client, service_id, bucket) == {"Start": [("VOID", "RUNNING")]}
        _push(client, bucket, "Start", service_id, "(VOID,DEPLOYED)")
        _push(client, bucket, "Stop", service_id, "(DEPLOYED,FINISHED)")
        assert _transitions(client, service_id, bucket) == {
            "Start": [("VOID", "DEPLOYED")],
            "Stop": [("DEPLOYED", "FINISHED")],
        }
        client.delete_object(bucket, "Stop")
        assert _transitions(client, service_id, bucket) == {"Start": [("VOID", "DEPLOYED")]}
        client.delete_bucket(bucket, force=True)
        with pytest.raises(ApiError) as gone:
            client.get_service(service_id, bucket=bucket)
        assert gone.value.status == 404
        client.create_bucket(bucket)  # made again: its revisions are numbered from 1 again
        _push(client, bucket, "Start", service_id, "(VOID,READY)")
        assert _transitions(client, service_id, bucket) == {"Start": [("VOID", "READY")]}

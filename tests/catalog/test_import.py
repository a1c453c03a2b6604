"""``runyard catalog import``: a ProActive catalog folder into a live server, through the remote CLI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runyard.catalog.importing import MAX_OBJECT_BYTES
from runyard.cli.main import app
from runyard.client import Client
from support.server import LiveServer, live_server

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "proactive-examples"

SCRIPT_JOB = """<job xmlns="urn:proactive:jobdescriptor:3.14" name="uses-a-catalog-script">
  <taskFlow>
    <task name="Greet">
      <scriptExecutable><script>
        <file url="${PA_CATALOG_REST_URL}/buckets/BUCKET/resources/Greet/raw">
          <arguments><argument value="imported"/></arguments>
        </file>
      </script></scriptExecutable>
    </task>
  </taskFlow>
</job>"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("import")) as started:
        yield started


def _import(server: LiveServer, token: str, path: Path) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(
        app, ["catalog", "import", str(path), "--json", "--url", server.url, "--token", token]
    )
    outcomes = json.loads(result.stdout) if result.stdout.startswith("[") else []
    return result.exit_code, outcomes, result.output


def _bucket_folder(root: Path, bucket: str, objects: list[dict[str, Any]], files: dict[str, bytes]) -> Path:
    folder = root / "Scripts"
    (folder / "resources" / "catalog").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / "resources" / "catalog" / name).write_bytes(data)
    index = {"metadata": {"slug": "scripts"}, "catalog": {"bucket": bucket, "objects": objects}}
    (folder / "METADATA.json").write_text(json.dumps(index))
    return folder


def _script_object(name: str, file: str, content_type: str = "text/x-sh") -> dict[str, Any]:
    metadata = {"kind": "Script/task", "contentType": content_type, "commitMessage": "First commit"}
    return {"name": name, "metadata": metadata, "file": f"resources/catalog/{file}"}


def test_the_corpus_imports_with_proactive_names_kinds_and_types_then_nothing_changes(
    server: LiveServer,
) -> None:
    code, outcomes, output = _import(server, server.admin_token, CORPUS)
    by_outcome = {o["outcome"] for o in outcomes}
    assert by_outcome <= {"imported", "updated", "refused"}, output
    refused = [o for o in outcomes if o["outcome"] == "refused"]
    # The shared corpus lacks two files its GetStarted index lists: refused alone, with the reason.
    assert {o["name"] for o in refused} == {"Pre_Post_Clean_Scripts", "Variables_Propagation"}
    assert all("no such file" in o["reason"] for o in refused) and code == 1
    with Client(server.url, server.admin_token) as admin:
        script = admin.get_object("service-automation", "Pre_Start_Service")
        assert (script["kind"], script["content_type"], script["project_name"]) == (
            "Script/pre",
            "text/x-groovy",
            "9. Scripts",
        )
        assert admin.get_object("control-templates", "Loop")["kind"] == "Workflow/standard"
        assert admin.get_object("service-automation", "MongoDB")["kind"] == "Workflow/psa"
    again_code, again, _ = _import(server, server.admin_token, CORPUS)
    assert {o["outcome"] for o in again} == {"unchanged", "refused"} and again_code == 1
    assert [o["revision"] for o in again if o["outcome"] == "unchanged"] == [
        o["revision"] for o in outcomes if o["outcome"] != "refused"
    ]


def test_a_changed_file_makes_one_revision_and_its_raw_url_runs(server: LiveServer, tmp_path: Path) -> None:
    _, token = server.new_user()
    bucket = f"scripts-{os.getpid()}-{tmp_path.name[-6:]}".lower()
    objects = [_script_object("Greet", "greet.sh")]
    folder = _bucket_folder(tmp_path, bucket, objects, {"greet.sh": b'echo "hello $1"\n'})
    code, outcomes, output = _import(server, token, folder)
    assert code == 0 and [(o["outcome"], o["revision"]) for o in outcomes] == [("imported", 1)], output
    (folder / "resources" / "catalog" / "greet.sh").write_bytes(b'echo "hello again $1"\n')
    code, outcomes, _ = _import(server, token, folder)
    assert [(o["outcome"], o["revision"]) for o in outcomes] == [("updated", 2)]
    with Client(server.url, token) as client:
        job_id = client.submit(SCRIPT_JOB.replace("BUCKET", bucket))  # no language: text/x-sh says bash
        job = client.wait_for_job(job_id, timeout=60)
        assert job["status"] == "FINISHED", client.get_job_result(job_id)
        assert "hello again imported" in client.get_task_output(job_id, "Greet")


def test_malformed_and_hostile_folders_are_refused_with_state_intact(
    server: LiveServer, tmp_path: Path
) -> None:
    _, token = server.new_user()
    bucket = f"hostile-{tmp_path.name[-6:]}".lower()
    outside = tmp_path / "secret.sh"
    outside.write_text("cat /etc/shadow\n")
    folder = _bucket_folder(
        tmp_path / "catalog",
        bucket,
        [
            _script_object("Escape", "../../../../secret.sh"),
            {**_script_object("Absolute", "x"), "file": str(outside)},
            _script_object("Linked", "link.sh"),
            _script_object("Huge", "huge.sh"),
            _script_object("Missing", "missing.sh"),
            {"name": "../etc", "metadata": {"kind": "Script/task"}, "file": "resources/catalog/ok.sh"},
            _script_object("Fine", "ok.sh"),
        ],
        {"ok.sh": b"echo ok\n", "huge.sh": b"#" * (MAX_OBJECT_BYTES + 1)},
    )
    (folder / "resources" / "catalog" / "link.sh").symlink_to(outside)
    code, outcomes, output = _import(server, token, tmp_path / "catalog")
    reasons = {o["name"]: o["reason"] for o in outcomes if o["outcome"] == "refused"}
    assert code == 1, output
    assert "leads out of the imported folder" in reasons["Escape"]
    assert "leads out of the imported folder" in reasons["Absolute"]
    assert "leads out of the imported folder" in reasons["Linked"]
    assert "over the limit" in reasons["Huge"]
    assert "no such file" in reasons["Missing"]
    assert "invalid object name '../etc'" in reasons["../etc"]
    assert [o["name"] for o in outcomes if o["outcome"] == "imported"] == ["Fine"]
    with Client(server.url, token) as client:
        assert [o["name"] for o in client.list_objects(bucket)["objects"]] == ["Fine"]

    (folder / "METADATA.json").write_text("{not json")
    result = CliRunner().invoke(
        app, ["catalog", "import", str(folder), "--url", server.url, "--token", token]
    )
    assert result.exit_code == 2 and "METADATA.json: not JSON" in result.output


def test_a_user_cannot_import_into_a_bucket_that_is_not_theirs(server: LiveServer, tmp_path: Path) -> None:
    _, token = server.new_user()
    folder = _bucket_folder(
        tmp_path,
        "service-automation",
        [_script_object("Pre_Start_Service", "p.sh")],
        {"p.sh": b"echo pwned\n"},
    )
    code, outcomes, _ = _import(server, token, folder)
    assert code == 1 and outcomes[0]["outcome"] == "refused", outcomes
    assert "only they or an admin may change it" in outcomes[0]["reason"]
    with Client(server.url, server.admin_token) as admin:
        objects = admin.list_objects("service-automation", limit=1000)["objects"]
        if "Pre_Start_Service" in {o["name"] for o in objects}:  # imported by the corpus test
            assert admin.pull_object("service-automation", "Pre_Start_Service") != b"echo pwned\n"

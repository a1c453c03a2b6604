"""``runyard app …`` and the SDK's App Engine methods against a real server and dockerd: a bundle uploaded,
shown, run with inputs given on the command line (a value, a file), its outputs fetched; bad input."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from appengine.helpers import corpus_bundle, docker_host, renamed_bundle
from cli_remote.conftest import Cli
from runyard.client import ApiError, Client
from runyard.client.app_engine import input_value
from support.server import LiveServer, live_server

__all__ = ["docker_host"]

STRING = "com.cytomine.dummy.identity.string"
FILE = "com.cytomine.dummy.identity.file"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, docker_host: str) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture(scope="module")
def cli(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    _, token = server.new_user(prefix="cytomine")
    return Cli(server.url, token, tmp_path_factory.mktemp("config"))


def test_upload_show_run_and_fetch_outputs(cli: Cli, tmp_path: Path) -> None:
    for bundle in (STRING, FILE):
        code, out, err = cli("app", "upload", str(corpus_bundle(f"{bundle}-1.0.0")))
        assert code == 0, err
        assert out.startswith(f"uploaded {bundle} 1.0.0 (task ")
    listed = {(task["namespace"], task["version"]) for task in cli.json("app", "list")}
    assert {(STRING, "1.0.0"), (FILE, "1.0.0")} <= listed
    shown = cli.json("app", "show", STRING, "1.0.0")
    assert [(p["name"], p["type"]["id"]) for p in shown["inputs"]] == [("input", "string")]
    code, out, err = cli(
        "app", "run", STRING, "1.0.0", "-i", "input=hello runyard", "--outputs", str(tmp_path)
    )
    assert code == 0, err
    run_id = out.split()[1].rstrip(":")
    assert out.endswith(": FINISHED\n")
    assert (tmp_path / "output").read_text() == "hello runyard"
    assert cli.json("app", "outputs", run_id) == [
        {"taskRunId": run_id, "parameterName": "output", "type": "STRING", "value": "hello runyard"}
    ]
    status = cli.json("app", "status", run_id)
    assert status["state"] == "FINISHED" and isinstance(status["jobId"], int)
    code, out, _ = cli("app", "status", run_id)
    assert code == 0 and f"\njob {status['jobId']}\n" in out
    code, out, _ = cli("app", "logs", run_id)
    assert code == 0 and f"container runyard-app-engine-{run_id} exited with code 0" in out
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * 4)
    code, out, err = cli(
        "app", "run", FILE, "1.0.0", "-i", f"input=@{data}", "--outputs", str(tmp_path / "f")
    )
    assert code == 0, err
    assert (tmp_path / "f" / "output").read_bytes() == data.read_bytes()


def test_bad_inputs_are_refused_before_any_run(cli: Cli, tmp_path: Path) -> None:
    cli("app", "upload", str(corpus_bundle(f"{STRING}-1.0.0")))  # maybe there already (409)
    code, _, err = cli("app", "run", STRING, "1.0.0", "-i", "nope=1")
    assert code == 2 and "has no input 'nope' (its inputs: input)" in said(err)
    code, _, err = cli("app", "run", STRING, "1.0.0", "-i", f"input=@{tmp_path / 'missing'}")
    assert code == 2 and "is not a file" in said(err)
    assert cli("app", "upload", str(tmp_path / "missing.zip"))[0] == 2
    code, _, err = cli("app", "show", "com.example.none", "1.0.0")
    assert code != 0 and "task com.example.none version 1.0.0 not found" in err


def test_the_sdk_runs_a_task_and_says_cytomines_error_codes(server: LiveServer, docker_host: str) -> None:
    bundle, namespace = renamed_bundle(f"{STRING}-1.0.0")
    _, token = server.new_user(prefix="sdk")
    with Client(server.url, token) as client:
        archive = Path(server.data_dir) / "bundle.zip"
        archive.write_bytes(bundle)
        task = client.upload_app_task(archive)
        assert task["namespace"] == namespace
        run = client.run_app_task(namespace, "1.0.0", {"input": "from the SDK"}, timeout=120)
        assert run["state"] == "FINISHED"
        assert client.app_run_output_file(run["id"], "output") == b"from the SDK"
        with zipfile.ZipFile(io.BytesIO(client.app_run_outputs_zip(run["id"]))) as outputs:
            assert outputs.read("output") == b"from the SDK"
        refused = client.create_app_run(namespace, "1.0.0")
        with pytest.raises(ApiError) as error:
            client.start_app_run(refused["id"])  # nothing provisioned
        assert (error.value.status, error.value.error) == (403, "APPE-internal-task-run-provisions-not-found")
        client.delete_app_task(namespace, "1.0.0")
        with pytest.raises(ApiError) as error:
            client.get_app_task(namespace, "1.0.0")
        assert error.value.error == "APPE-internal-task-not-found"


def said(err: str) -> str:
    """A message typer printed in a box, on one line."""
    return " ".join(err.replace("│", " ").split())


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("integer", "42", 42),
        ("number", "2.5", 2.5),
        ("boolean", "true", True),
        ("string", "42", "42"),
        ("datetime", "2024-02-23T18:00:00Z", "2024-02-23T18:00:00Z"),
        (
            "array",
            "[4, [1, 2]]",
            [
                {"index": 0, "value": 4},
                {"index": 1, "value": [{"index": 0, "value": 1}, {"index": 1, "value": 2}]},
            ],
        ),
    ],
)
def test_command_line_values_take_their_inputs_type(kind: str, text: str, value: object) -> None:
    assert input_value(kind, text) == value


def test_a_command_line_value_not_of_its_type_is_refused() -> None:
    with pytest.raises(ValueError, match="'forty' is not a valid integer"):
        input_value("integer", "forty")

"""A user's user space over HTTP (``/api/v1/userspace``): their tasks' files to them, nothing else.

The folder is written by the user's own tasks, so a task plants what it likes there before asking the
server to read it: links to the server's database and to another user's space, a link swapped in for a
folder, a FIFO that would block a reader, a page with a script meant to run as the platform's origin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from runyard.client import Client
from support.hostile import HostileUser, hostile_users
from support.server import LiveServer, live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture
def users(server: LiveServer) -> list[HostileUser]:
    return hostile_users(server, 2)


PLANT = """
import os
space = userspace
os.makedirs(os.path.join(space, "ml", "7", "Train_Model"), exist_ok=True)
with open(os.path.join(space, "ml", "7", "Train_Model", "model.joblib"), "wb") as model:
    model.write(bytes(range(256)) * 4)
with open(os.path.join(space, "page.html"), "w") as page:
    page.write("<script>fetch('/api/v1/me')</script>")
os.symlink("{database}", os.path.join(space, "database"))
os.symlink("{other}", os.path.join(space, "other"))
os.symlink("..", os.path.join(space, "up"))
os.mkfifo(os.path.join(space, "pipe"))
result = sorted(os.listdir(space))
"""


def test_a_user_reads_their_tasks_files_and_nothing_a_link_or_a_fifo_leads_to(
    server: LiveServer, users: list[HostileUser]
) -> None:
    mallory, eve = users
    eve_space = server.data_dir / "spaces" / "user" / eve.name
    eve_space.mkdir(parents=True, exist_ok=True)
    (eve_space / "secret.txt").write_text("eve's")
    database = str(server.data_dir / "runyard.db")
    plant = PLANT.replace("{database}", database).replace("{other}", str(eve_space))
    run = mallory.run(plant)
    assert run.task_status == "FINISHED", run.error

    with mallory.client() as api:
        listing = api.get("/userspace").json()
        kinds = {entry["name"]: entry["kind"] for entry in listing["entries"]}
        assert kinds == {
            "database": "other",
            "ml": "folder",
            "other": "other",
            "page.html": "file",
            "pipe": "other",
            "up": "other",
        }
        model = api.get("/userspace/ml/7/Train_Model/model.joblib")
        assert model.status_code == 200 and model.content == bytes(range(256)) * 4
        assert model.headers["content-security-policy"] == "sandbox"
        assert model.headers["x-content-type-options"] == "nosniff"
        page = api.get("/userspace/page.html")
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == "sandbox"  # its script cannot run as the platform
        for followed in ("database", "other/secret.txt", "up/up/runyard.db", "ml/../database"):
            answer = api.get(f"/userspace/{followed}")
            assert answer.status_code in (400, 404), (followed, answer.status_code)
            assert "eve's" not in answer.text and "SQLite" not in answer.text
        started = time.monotonic()
        assert api.get("/userspace/pipe").status_code == 400  # answered at once, never read
        assert time.monotonic() - started < 5
        for bad in ("/etc/passwd", "a/./b", "%2e%2e/x", "a\\b", "x" * 5000):
            assert api.get(f"/userspace/{bad}").status_code in (400, 404), bad
        folder = api.get("/userspace/ml/7").json()
        assert folder["entries"][0]["name"] == "Train_Model" and folder["entries"][0]["kind"] == "folder"

    # Eve's space is hers: Mallory's paths are his, and his files are not hers.
    with eve.client() as api:
        assert api.get("/userspace/ml/7/Train_Model/model.joblib").status_code == 404
        assert api.get("/userspace/secret.txt").text == "eve's"


def test_tasks_read_their_owners_space_and_the_sdk_downloads_files(
    server: LiveServer, users: list[HostileUser]
) -> None:
    mallory, _ = users
    run = mallory.run(
        "import os\n"
        "with open(os.path.join(userspace, 'note.txt'), 'w') as note:\n"
        "    note.write('from a task')\n"
        "from runyard.client import Client\n"
        "api = Client(variables['PA_SCHEDULER_REST_URL'], os.environ['RUNYARD_TOKEN'])\n"
        "result = api.read_userspace_file('note.txt').decode()"
    )
    assert (run.task_status, run.result) == ("FINISHED", "from a task"), run.error
    with Client(server.url, mallory.token) as sdk:
        assert sdk.read_userspace_file("note.txt") == b"from a task"
        assert "note.txt" in [entry["name"] for entry in sdk.list_userspace()["entries"]]

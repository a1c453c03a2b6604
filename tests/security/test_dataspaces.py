"""Data spaces a workflow names (issue 9, finding 6): only the ones the platform configures.

A job's ``user_space``/``global_space`` could name any server folder, and its ``input_space``/
``output_space`` too: a job read the server's ``credentials.key`` and wrote into another user's
userspace. Now a job's userSpace is its owner's, its globalSpace the platform's, and its input and
output spaces lie under either (or a configured root); anything else, ``..`` and symbolic links
included, is refused at submission with the field, or at the task's start when a variable a parent
changed names it. Transfers do not follow a link out of a space either.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hostile import HostileUser, hostile_users
from support.server import LiveServer, live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture
def users(server: LiveServer) -> list[HostileUser]:
    return hostile_users(server, 3)


def userspace(server: LiveServer, user: HostileUser) -> Path:
    return server.data_dir / "spaces" / "user" / user.name


def steal(spaces: str, mode: str = "transferFromInputSpace", files: str = "'**'") -> str:
    """A job declaring ``spaces`` whose task copies in every file of one of them."""
    return (
        f"name: Steal\n{spaces}\ntasks:\n  Take:\n"
        f"    input_files:\n      - {{includes: [{files}], access_mode: {mode}}}\n"
        "    script: {cpython: 'import os; result = sorted(os.listdir())'}\n"
    )


def fields_of(answer_json: dict[str, object]) -> set[object]:
    details = answer_json["details"]
    assert isinstance(details, list)
    return {problem["field"] for problem in details}


def test_naming_a_server_folder_or_another_users_space_is_refused_with_the_field(
    server: LiveServer, users: list[HostileUser]
) -> None:
    mallory, eve, _ = users
    data, eves = server.data_dir, userspace(server, eve)
    attacks = {
        f"user_space: {data}": "userSpace",
        f"user_space: {eves}": "userSpace",
        "global_space: /": "globalSpace",
        f"global_space: {data / 'spaces' / 'user'}": "globalSpace",
        f"input_space: {data}": "inputSpace",
        f"input_space: file://{data}/credentials.key": "inputSpace",
        f"input_space: ../{eve.name}": "inputSpace",
        f"output_space: file://{userspace(server, mallory)}/%2e%2e/{eve.name}": "outputSpace",
        f"output_space: {eves}": "outputSpace",
        "input_space: /etc": "inputSpace",
    }
    for spaces, field in attacks.items():
        answer = mallory.submit_answer(steal(spaces))
        assert answer.status_code == 400, (spaces, answer.text)
        assert fields_of(answer.json()) == {field}, (spaces, answer.text)
        assert "outside" in answer.json()["message"]


def test_a_variable_given_at_submission_is_checked_too(server: LiveServer, users: list[HostileUser]) -> None:
    mallory = users[0]
    workflow = steal("variables:\n  DIR: in\ninput_space: ${DIR}")
    answer = mallory.submit_answer(workflow, {"DIR": str(server.data_dir)})
    assert answer.status_code == 400 and fields_of(answer.json()) == {"inputSpace"}, answer.text


def test_a_variable_a_parent_changes_fails_the_task_at_start(
    server: LiveServer, users: list[HostileUser]
) -> None:
    mallory = users[0]
    workflow = (
        "name: Late\nvariables:\n  DIR: in\ninput_space: ${DIR}\ntasks:\n"
        f"  Set:\n    script:\n      cpython: variables['DIR'] = {str(server.data_dir)!r}\n"
        "  Take:\n    depends: [Set]\n"
        "    input_files:\n      - {includes: ['**'], access_mode: transferFromInputSpace}\n"
        "    script: {cpython: 'import os; result = sorted(os.listdir())'}\n"
    )
    job = mallory.wait(mallory.submit(workflow))
    take = next(t for t in job["tasks"] if t["name"] == "Take")
    assert take["status"] == "FAULTY" and "outside" in take["error"], take
    assert take["result"] is None


def test_a_symbolic_link_in_ones_own_userspace_leads_nowhere(
    server: LiveServer, users: list[HostileUser]
) -> None:
    mallory, eve, _ = users
    eves = userspace(server, eve)
    eves.mkdir(parents=True, exist_ok=True)
    (eves / "secret.txt").write_text("eve's")
    planted = mallory.run(
        "import os\n"
        f"os.symlink({str(eves)!r}, os.path.join(userspace, 'eve'))\n"
        f"os.symlink({str(eves / 'secret.txt')!r}, os.path.join(userspace, 'secret.txt'))\n"
        "result = 'planted'"
    )
    assert planted.result == "planted", planted
    # Named as a space: refused at submission.
    answer = mallory.submit_answer(steal("input_space: eve"))
    assert answer.status_code == 400 and fields_of(answer.json()) == {"inputSpace"}, answer.text
    # Read through a link in a transfer: the task fails, nothing of eve's is copied.
    job = mallory.wait(mallory.submit(steal("", "transferFromUserSpace", "'secret.txt'")))
    take = job["tasks"][0]
    assert take["status"] == "FAULTY" and "symbolic link" in take["error"], take
    # Written through a link in a transfer: eve's userspace gets nothing.
    write = (
        "name: Plant\ntasks:\n  Put:\n"
        "    output_files:\n      - {includes: ['eve/**'], access_mode: transferToUserSpace}\n"
        "    script: {cpython: \"import os; os.makedirs('eve'); open('eve/planted.txt', 'w').write('x')\"}\n"
    )
    job = mallory.wait(mallory.submit(write))
    assert job["tasks"][0]["status"] == "FAULTY", job["tasks"][0]
    assert not (eves / "planted.txt").exists()


def test_folders_under_ones_own_userspace_work(server: LiveServer, users: list[HostileUser]) -> None:
    mallory = users[0]
    mine = userspace(server, mallory)
    (mine / "in").mkdir(parents=True, exist_ok=True)
    (mine / "in" / "numbers.txt").write_text("1 2 3")
    workflow = (
        "name: Mine\ninput_space: in\noutput_space: out\ntasks:\n  Sum:\n"
        "    input_files:\n      - {includes: ['*.txt'], access_mode: transferFromInputSpace}\n"
        "    output_files:\n      - {includes: [sum.txt], access_mode: transferToOutputSpace}\n"
        "    script:\n      cpython: |-\n"
        "        total = sum(int(n) for n in open('numbers.txt').read().split())\n"
        "        open('sum.txt', 'w').write(str(total))\n"
        "        result = total\n"
    )
    job = mallory.wait(mallory.submit(workflow))
    assert job["tasks"][0]["result"] == 6, job["tasks"][0]
    assert (mine / "out" / "sum.txt").read_text() == "6"

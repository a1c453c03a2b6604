"""Attack on the static selection cache (issue 9 follow-up), on SQLite and PostgreSQL.

A node caches the answers of static selection scripts. A task's code runs in the process that reports
the answers it learnt, so it can make up any: they must count for its owner's tasks only, never for
another user's, whose tasks would otherwise be kept off (or sent to) the node at will.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from runyard.model import Script
from runyard.nodes.selection import static_key
from support.hostile import hostile_users
from support.server import LiveServer, backend_server

#: The static selection script of the victim: a common one, so its cache key is known to everyone.
SELECTION = "selected = True"

#: The victim's job: one task, run only where ``SELECTION`` says so.
VICTIM = f"""\
name: Victim
tasks:
  Work:
    selection:
      - type: static
        cpython: {SELECTION}
    script:
      cpython: result = 'ran'
"""

#: The attacker's task: it finds the static selection answers its process reports (up the stack, from
#: the execution running it) and adds a forged "not selected" under the victim's script's key.
FORGE = """\
import sys
frame = sys._getframe()
while frame is not None:
    cache = getattr(frame.f_locals.get("self"), "cache", None)
    if isinstance(cache, dict):
        cache[{key!r}] = False
        result = "forged"
        break
    frame = frame.f_back
"""

ENDED = ("FINISHED", "FAILED", "CANCELED", "KILLED")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One node: the attacker's task and the victim's run on the same one."""
    with backend_server(request, tmp_path_factory.mktemp("server"), nodes=1) as started:
        yield started


@pytest.mark.parametrize("fork", [True, False])
def test_forged_static_answers_do_not_reach_another_user(server: LiveServer, fork: bool) -> None:
    attacker, victim = hostile_users(server, 2)
    key = static_key(Script("cpython", code=SELECTION))
    forged = attacker.run(FORGE.format(key=key), fork=fork)
    assert (forged.status, forged.result) == ("FINISHED", "forged"), forged.output
    job_id = victim.submit(VICTIM)
    with victim.client() as api:  # polled: a job kept off its only node would wait forever
        deadline = time.monotonic() + 30
        while (job := api.get(f"/jobs/{job_id}").json())["status"] not in ENDED:
            assert time.monotonic() < deadline, f"the victim's task was kept off the node: {job}"
            time.sleep(0.2)
    assert (job["status"], job["tasks"][0]["result"]) == ("FINISHED", "ran")

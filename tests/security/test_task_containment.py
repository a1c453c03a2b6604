"""Tasks cannot reach the platform or other users (issue 9, findings 1, 3 and the agent's part of 7).

Hostile users run code through a live server, knowing the server's paths (the data folder, the
server's pid): whatever language and script position, their tasks read nothing of the data folder,
of the server's process or of other users, and touch no other user's data or process.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import runyard
from runyard.model import Script, ScriptExecutable
from runyard.nodes.local import LocalNodeSource
from runyard.nodes.protocol import NodeDown, OutcomeKind, TaskSpec
from support.hostile import HostileUser, TaskRun, hostile_users, one_task_workflow
from support.nodes import Events
from support.server import PASSWORD, LiveServer, bearer, live_server

#: In the server's environment (the server's process hosts it): no task may see them.
SERVER_ONLY = {"DOCKER_HOST": "unix:///var/run/docker.sock", "RUNYARD_SERVER_SECRET": "s3cr3t-of-the-server"}
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module", autouse=True)
def server_environment() -> Iterator[None]:
    """Set before the module's server starts (autouse fixtures come first), so its nodes inherit it."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SERVER_ONLY.items():
            patch.setenv(name, value)
        yield


def run(user: HostileUser, workflow: str, timeout: float = 60) -> TaskRun:
    """Submit ``workflow`` (one task, ``Attack``) as ``user`` and wait for its end."""
    job_id = user.submit(workflow)
    job = user.wait(job_id, timeout)
    task = job["tasks"][0]
    output = user.logs(job_id, "Attack")
    return TaskRun(job_id, job["status"], task["status"], task["result"], task["error"], output)


def platform_secrets(server: LiveServer) -> list[str]:
    data = server.data_dir
    return [
        str(data / "credentials.key"),
        str(data / "job-tokens.key"),
        str(data / "runyard.db"),
        f"/proc/{os.getpid()}/environ",  # the server's process
        f"/proc/{os.getpid()}/mem",
    ]


def cpython_probe(paths: list[str]) -> str:
    """Code returning ``{path: "READ" or the error's name}`` for each of ``paths``."""
    return textwrap.dedent(f"""\
        found = {{}}
        for path in {paths!r}:
            try:
                with open(path, "rb") as f:
                    f.read(1)
                found[path] = "READ"
            except OSError as error:
                found[path] = type(error).__name__
        print("PROBE", found)
        result = found
        """)


def bash_probe(paths: list[str]) -> str:
    quoted = " ".join(f"'{p}'" for p in paths)
    test = 'if head -c1 "$p" >/dev/null 2>&1; then echo "READ $p"; else echo "DENIED $p"; fi'
    return f"for p in {quoted}; do {test}; done"


def secret_of(user: HostileUser) -> tuple[int, Path]:
    """``user`` runs a job that keeps a file in its userspace and prints a secret in its log."""
    secret = f"secret-of-{user.name}"
    code = f"import os\nopen(os.path.join(userspace, 'secret.txt'), 'w').write({secret!r})\nprint({secret!r})"
    done = user.run(code)
    assert done.status == "FINISHED", done
    assert secret in done.output
    return done.job_id, user.server.data_dir / "spaces" / "user" / user.name / "secret.txt"


def test_a_task_reads_nothing_of_the_platform_or_of_another_user(server: LiveServer) -> None:
    mallory, alice = hostile_users(server, 2)
    alice_job, alice_file = secret_of(alice)
    alice_logs = [str(p) for p in (server.data_dir / "logs" / str(alice_job)).iterdir()]
    assert alice_file.exists() and alice_logs
    targets = [*platform_secrets(server), str(alice_file), *alice_logs]
    python = mallory.run(cpython_probe(targets))
    assert python.status == "FINISHED", python
    assert set(python.result) == set(targets)
    assert "READ" not in python.result.values(), python.result
    shell = mallory.run(bash_probe(targets), language="bash")
    assert shell.output.count("DENIED") == len(targets), shell.output
    assert "READ" not in shell.output


def test_every_script_position_is_contained(server: LiveServer) -> None:
    (mallory,) = hostile_users(server, 1)
    secrets = platform_secrets(server)[:3]
    probe = textwrap.indent(cpython_probe(secrets), " " * 8)
    shell = bash_probe(secrets)
    workflow = textwrap.dedent("""\
        name: Positions
        tasks:
          Attack:
            selection:
              cpython: |
        {probe}
                selected = True
            pre: {{bash: "{shell}"}}
            script:
              cpython: |
        {probe}
            post: {{bash: "{shell}"}}
            flow:
              loop:
                target: Attack
                script:
                  cpython: |
        {flow}
                    loop = False
            cleaning: {{bash: "{shell}"}}
        """).format(
        probe=probe, shell=shell.replace('"', '\\"'), flow=textwrap.indent(cpython_probe(secrets), " " * 12)
    )
    done = run(mallory, workflow)
    assert done.status == "FINISHED", done
    # selection, main and flow (cpython) print PROBE; pre, post and cleaning (bash) DENIED per path
    assert done.output.count("PROBE") == 3, done.output
    assert done.output.count("DENIED") == 3 * len(secrets), done.output
    assert "READ" not in done.output


def test_a_task_sees_no_other_process_and_no_server_environment(server: LiveServer) -> None:
    (mallory,) = hostile_users(server, 1)
    code = textwrap.dedent("""\
        import os
        owners = sorted({os.stat(f"/proc/{p}").st_uid for p in os.listdir("/proc") if p.isdigit()})
        result = {"uid": os.getuid(), "owners": owners, "environment": sorted(os.environ)}
        """)
    done = mallory.run(code)
    assert done.status == "FINISHED", done
    seen = done.result
    names = {name for name in seen["environment"] if not name.startswith("LC_")}
    assert not names & {*SERVER_ONLY, "RUNYARD_TEST_POSTGRES_URL", "RUNYARD_DATABASE_URL"}, names
    platform = {"RUNYARD_URL", "RUNYARD_PROXY_URL", "RUNYARD_TOKEN", "RUNYARD_SERVICES_DIR"}
    assert names <= {"PATH", "LANG", "HOME", "TMPDIR", *platform}
    if ROOT:
        assert seen["uid"] >= 200_000, seen
        assert seen["owners"] == [seen["uid"]], "a task sees processes of other accounts"


def test_a_task_writes_nothing_of_another_user(server: LiveServer) -> None:
    mallory, alice = hostile_users(server, 2)
    _, alice_file = secret_of(alice)
    target = alice_file.parent
    code = textwrap.dedent(f"""\
        import os
        tried = {{}}
        for action, call in (
            ("write", lambda: open({str(alice_file)!r}, "w").write("owned")),
            ("create", lambda: open({str(target / "planted.txt")!r}, "w").write("owned")),
            ("remove", lambda: os.remove({str(alice_file)!r})),
        ):
            try:
                call()
                tried[action] = "DONE"
            except OSError as error:
                tried[action] = type(error).__name__
        result = tried
        """)
    done = mallory.run(code)
    assert done.status == "FINISHED", done
    assert "DONE" not in done.result.values(), done.result
    assert alice_file.read_text() == f"secret-of-{alice.name}"
    assert not (target / "planted.txt").exists()


def test_a_task_cannot_kill_another_users_task(server: LiveServer) -> None:
    mallory, alice = hostile_users(server, 2)
    victim = alice.submit(
        one_task_workflow("import os, time\nprint('PID', os.getpid(), flush=True)\ntime.sleep(4)\nresult = 1")
    )
    deadline = time.monotonic() + 30
    while not (found := re.search(r"PID (\d+)", alice.logs(victim))):
        assert time.monotonic() < deadline, "the victim never started"
        time.sleep(0.1)
    pid = int(found.group(1))
    attack = mallory.run(
        f"import os, signal\ntry:\n    os.kill({pid}, signal.SIGKILL)\n    result = 'KILLED'\n"
        "except OSError as error:\n    result = type(error).__name__"
    )
    assert attack.result in ("ProcessLookupError", "PermissionError"), attack
    job = alice.wait(victim)
    assert job["status"] == "FINISHED" and job["tasks"][0]["result"] == 1, job


def test_a_fork_false_worker_never_serves_another_user(server: LiveServer) -> None:
    """Mallory patches the code of the node's worker; Alice's fork=False tasks must not run in it."""
    mallory, alice = hostile_users(server, 2)
    secret = f"credential-of-{alice.name}"
    with alice.client() as api:
        assert api.put("/credentials/KEY", json={"value": secret}).status_code in (201, 204)
    exfil = Path("/tmp") / f"runyard-exfil-{uuid.uuid4().hex}"
    patch = textwrap.indent(
        textwrap.dedent(f"""\
            import json, os, time
            import runyard.nodes.executor as executor
            original = executor._Execution._main
            def spy(self):
                seen = {{"env": dict(os.environ), "credentials": dict(self.credentials)}}
                with open({str(exfil)!r}, "a") as f:
                    f.write(json.dumps(seen) + "\\n")
                return original(self)
            executor._Execution._main = spy
            time.sleep(1)
            """),
        " " * 8,
    )
    both = "name: Parallel\ntasks:\n" + "".join(
        f"  {name}:\n    fork: false\n    script:\n      cpython: |\n{{code}}\n" for name in ("A", "B")
    )  # two at once: one on each node's worker
    patched = mallory.submit(both.format(code=patch))
    assert mallory.wait(patched)["status"] == "FINISHED"
    victim = alice.submit(both.format(code="        result = credentials['KEY'][:3]"))
    job = alice.wait(victim)
    assert job["status"] == "FINISHED", job
    leaked = exfil.read_text() if exfil.exists() else ""
    exfil.unlink(missing_ok=True)
    assert secret not in leaked and f"/services/{alice.name}" not in leaked, "the worker served alice"


def test_run_as_me_without_a_mapping_is_refused(server: LiveServer) -> None:
    (mallory,) = hostile_users(server, 1)
    workflow = one_task_workflow("import os\nresult = os.getuid()").replace(
        "    fork: true\n", "    fork: true\n    run_as_me: true\n"
    )
    answer = mallory.submit_answer(workflow)
    assert answer.status_code == 400, answer.text
    assert "runAsMe" in answer.text


#: Forked executions of one job, one after another on the same node (there is one).
CHAIN = """\
name: Chain
tasks:
  Poison:
    script:
      cpython: |-
        import os, runyard
        runyard.POISON = "left by Poison"
        result = [os.getpid(), os.getppid()]
  Check:
    depends: [Poison]
    script:
      cpython: |-
        import os, runyard
        result = [hasattr(runyard, "POISON"), os.getpid(), os.getppid()]
  Die:
    depends: [Check]
    script:
      cpython: |-
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
  After:
    depends: [Die]
    script:
      cpython: |-
        import os
        result = os.getppid()
"""


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("PPid:")).split()[1])


def test_forked_executions_of_a_job_each_get_a_fresh_process(tmp_path: Path) -> None:
    """A sandboxed node forks a job's executions from one process sandboxed for the job (its owner's
    account, the job's folders), never running user code in it: what one execution leaves in memory
    the next does not see, and one that dies, or is killed, leaves the next ones served."""
    with live_server(tmp_path / "server", nodes=1) as server:
        (mallory,) = hostile_users(server, 1)
        job = mallory.wait(mallory.submit(CHAIN))
        tasks = {t["name"]: t for t in job["tasks"]}
        (poison_pid, zygote), check = tasks["Poison"]["result"], tasks["Check"]["result"]
        assert check[0] is False and check[1] != poison_pid, tasks
        assert tasks["Die"]["status"] == "FAULTY" and "died (signal 9)" in tasks["Die"]["error"], tasks
        assert tasks["After"]["status"] == "FINISHED", tasks
        if ROOT:  # sandboxed once for the job: its executions share a parent forked for a node agent
            assert check[2] == zygote == tasks["After"]["result"], tasks
            fork_server = _parent_of(zygote)  # the node agent's: the agent forks no task process itself
            agent = _parent_of(fork_server)  # the server (this process) started the node agents
            assert agent != os.getpid() and _parent_of(agent) == os.getpid(), (zygote, agent)

        held = mallory.submit(one_task_workflow("import time\ntime.sleep(600)"))
        with mallory.client() as api:
            deadline = time.monotonic() + 30
            while api.get(f"/jobs/{held}").json()["status"] != "RUNNING":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert api.post(f"/jobs/{held}/kill").status_code == 200
        assert mallory.wait(held)["status"] == "KILLED"
        after = mallory.run("result = 'served'")
        assert (after.task_status, after.result) == ("FINISHED", "served"), after


def _named_user(server: LiveServer, name: str) -> HostileUser:
    answer = httpx.post(
        f"{server.api}/users", json={"name": name, "password": PASSWORD}, headers=bearer(server.admin_token)
    )
    answer.raise_for_status()
    return HostileUser(server, name, server.login(name))


def test_run_as_me_runs_as_the_mapped_account_only(tmp_path: Path) -> None:
    """``runAsMe`` with ``user_mapping``: the task runs as the OS account its owner is mapped to (here
    ``nobody``), its other tasks as its dedicated account; a mapping to root runs nothing."""
    identity = "import os\nresult = [os.getuid(), os.getgid(), os.getgroups()]"
    run_as_me = one_task_workflow(identity).replace(
        "    fork: true\n", "    fork: true\n    run_as_me: true\n"
    )
    with live_server(tmp_path / "server", user_mapping="carol=nobody,rooted=root") as server:
        carol, rooted = _named_user(server, "carol"), _named_user(server, "rooted")
        if not ROOT:
            answer = carol.submit_answer(run_as_me)
            assert answer.status_code == 400 and "does not run as root" in answer.text, answer.text
            return
        nobody = pwd.getpwnam("nobody")
        as_me = run(carol, run_as_me)
        assert as_me.task_status == "FINISHED", as_me
        assert as_me.result == [nobody.pw_uid, nobody.pw_gid, [nobody.pw_gid]], as_me
        dedicated = carol.run(identity)
        assert dedicated.task_status == "FINISHED", dedicated
        assert dedicated.result[0] >= 200_000 and dedicated.result[0] != nobody.pw_uid, dedicated
        as_root = run(rooted, run_as_me)
        assert as_root.task_status != "FINISHED" and as_root.result is None, as_root
        assert "is root; tasks never run as root" in (as_root.error or ""), as_root


def test_a_huge_walltime_does_not_kill_the_node(tmp_path: Path) -> None:
    """``walltime: 99999999:00:00`` (the server refuses it at submission; a node must survive it anyway)."""
    events = Events()
    nodes = LocalNodeSource(1, tmp_path / "nodes")
    nodes.start(events)
    try:
        spec = TaskSpec(
            job_id="1", job_name="job", task_id="1t1", task_name="T", execution=1, owner="mallory",
            iteration=0, replication=0, variables={}, generic_information={},
            executable=ScriptExecutable(Script("cpython", code="result = 1")),
            localspace=str(tmp_path / "local"), walltime=99_999_999 * 3600.0,
        )  # fmt: skip
        nodes.run("local-1", spec)
        done = events.done("1t1")
        assert done.outcome.kind is OutcomeKind.FINISHED, done.outcome.error
        time.sleep(0.5)
        assert not any(isinstance(e, NodeDown) for e in events.seen), events.seen
        assert [n.alive for n in nodes.nodes()] == [True]
    finally:
        nodes.stop()


SANDBOX_CHECK = """
import ctypes, json, os, sys
from runyard.nodes.accounts import own_account
from runyard.nodes.sandbox import Sandbox
private, shown = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
out = os.dup(1)  # the sandbox points 0, 1 and 2 at /dev/null
Sandbox([private]).enter(own_account(), [(shown, 0o700)])
seen = {}
def attempt(name, call):
    try:
        seen[name] = call()
    except OSError as error:
        seen[name] = type(error).__name__
attempt("secret", lambda: open(os.path.join(private, "secret.key")).read())
attempt("shown", lambda: open(os.path.join(shown, "mine.txt")).read())
attempt("umount", lambda: libc.umount2(private.encode(), 2) or "UNMOUNTED")
# a nested user namespace gives capabilities back, but the mounts come locked with it
attempt("nested", lambda: libc.unshare(0x10000000 | 0x00020000) or "NESTED")
attempt("umount in nested", lambda: libc.umount2(private.encode(), 2) or "UNMOUNTED")
attempt("secret after", lambda: open(os.path.join(private, "secret.key")).read())
seen["environment"] = sorted(os.environ)
os.write(out, json.dumps(seen).encode())
"""


@pytest.mark.skipif(not ROOT, reason="the test changes to another uid (CI and this machine run as root)")
def test_the_sandbox_holds_for_a_server_not_started_as_root() -> None:
    """What an agent of a server started as nobody does: a user namespace, the data folder covered,
    no capability left to uncover it."""
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:  # pytest's tmp_path: closed to nobody
        _check_unprivileged_sandbox(Path(folder))


def _check_unprivileged_sandbox(home: Path) -> None:
    private, shown = home / "data", home / "data" / "spaces" / "user" / "mallory"
    shown.mkdir(parents=True)
    (private / "secret.key").write_text("the platform's key")
    (shown / "mine.txt").write_text("mine")
    # runyard's source where nobody can read it (a clone may sit under a folder closed to others).
    source = home / "src"
    shutil.copytree(
        Path(runyard.__file__).parent, source / "runyard", ignore=shutil.ignore_patterns("__pycache__")
    )
    for path in (home, *home.rglob("*")):
        os.chown(path, 65534, 65534)
    command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3"]
    environment = {"PYTHONPATH": str(source), "PATH": os.environ["PATH"], **SERVER_ONLY}
    answer = subprocess.run(
        [*command, "-c", SANDBOX_CHECK, str(private), str(shown)],
        capture_output=True, text=True, env=environment, cwd="/", timeout=60, check=False,
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    seen = json.loads(answer.stdout)
    assert seen["secret"] == "FileNotFoundError", seen
    assert seen["shown"] == "mine"
    assert seen["umount"] != "UNMOUNTED" and seen["umount in nested"] != "UNMOUNTED", seen
    assert seen["secret after"] == "FileNotFoundError", seen
    assert not set(seen["environment"]) & set(SERVER_ONLY), seen


def test_a_task_process_holds_nothing_of_another_users_execution(server: LiveServer) -> None:
    """Task processes are forked from the node agent, which passed the previous specs on (credentials
    and job tokens in them): a task scanning its own memory must find none of them."""
    mallory, alice = hostile_users(server, 2)
    secret = f"SECRET-{uuid.uuid4().hex}"
    with alice.client() as api:
        assert api.put("/credentials/KEY", json={"value": secret}).status_code in (201, 204)
    both = "name: Parallel\ntasks:\n" + "".join(
        f"  {name}:\n    script:\n      cpython: |\n{{code}}\n" for name in ("A", "B")
    )  # two at once: one on each node
    code = "import time\ntime.sleep(0.5)\nresult = len(credentials['KEY'])"
    assert alice.wait(alice.submit(both.format(code=textwrap.indent(code, " " * 8))))["status"] == "FINISHED"
    scan = textwrap.dedent("""\
        import ctypes, re, time
        found = set()
        with open("/proc/self/maps") as maps:
            for line in maps:
                span, permissions, *_, name = line.split() if len(line.split()) > 5 else [*line.split(), ""]
                start, end = (int(x, 16) for x in span.split("-"))
                if permissions.startswith("r") and name not in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                    chunk = ctypes.string_at(start, end - start)
                    found.update(m.decode() for m in re.findall(rb"SECRET-[0-9a-f]{32}", chunk))
        time.sleep(0.5)
        result = sorted(found)
        """)
    own = f"SECRET-{uuid.uuid4().hex}"  # the scan must find mallory's own, in its own spec
    with mallory.client() as api:
        assert api.put("/credentials/KEY", json={"value": own}).status_code in (201, 204)
    job = mallory.wait(mallory.submit(both.format(code=textwrap.indent(scan, " " * 8))))
    assert job["status"] == "FINISHED", job
    assert all(own in task["result"] for task in job["tasks"]), job["tasks"]
    assert all(secret not in task["result"] for task in job["tasks"]), job["tasks"]

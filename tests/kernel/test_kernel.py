"""The runyard kernel driven by jupyter_client: building jobs from cells, submitting them to a live server,
reading their results and outputs; bad pragmas; hostile input."""

from __future__ import annotations

import re
import time

import pytest

from kernel.conftest import Kernel, connect_cell
from runyard import formats
from runyard.client import Client, Script, ScriptExecutable, Task, Workflow
from support.server import PASSWORD, LiveServer


@pytest.fixture
def connected(kernel: Kernel, server: LiveServer, user: tuple[str, str]) -> Kernel:
    reply = kernel.ok(connect_cell(server, user))
    assert f"as {user[0]}" in reply.stdout
    return kernel


def test_before_connecting_a_server_pragma_says_how_to_connect(kernel: Kernel) -> None:
    kernel.ok("#%task(name=Alone)\nresult = 1")
    reply = kernel.run("#%submit_job()")
    assert reply.status == "error"
    assert "Connection error" in reply.error and "#%connect(" in reply.error
    kernel.ok("#%delete_task(name=Alone)")


def test_a_job_with_shared_variables_and_a_replicate_runs_and_gives_results(connected: Kernel) -> None:
    kernel = connected
    kernel.ok("#%job(name=Words_Job, variables=[(GREETING, hello)])")
    kernel.ok('#%task(name=Prepare, export=[words])\nwords = "to be or not"\nresult = len(words)')
    kernel.ok(
        '#%split(name=Split, dep=[Prepare], import=[words])\nresult = words.split()\nprint("split", result)'
    )
    kernel.ok("#%runs()\nruns = len(result)")
    kernel.ok(
        '#%process(name=Count)\nword = results[0].value()[variables.get("PA_TASK_REPLICATION")]\n'
        'print("word", word)\nresult = len(word)'
    )
    kernel.ok(
        '#%merge(name=Total)\nresult = sum(r.value() for r in results)\nprint(variables.get("GREETING"))'
    )
    submitted = kernel.ok("#%submit_job()")
    job_id = re.search(r"job_id (\d+)", submitted.stdout)
    assert job_id is not None, submitted.stdout

    results = kernel.ok("#%get_job_result()")
    assert f"Job {job_id[1]} (FINISHED)" in results.stdout
    assert "Total: 9" in results.stdout and "Prepare: 12" in results.stdout
    assert "Count*3: 3" in results.stdout

    task = kernel.ok(f"#%get_task_result(job_id={job_id[1]}, task_name=Split)")
    assert task.stdout.strip() == '["to", "be", "or", "not"]'
    output = kernel.ok("#%print_task_output(job_name=Words_Job, task_name=Total)")
    assert output.stdout.strip() == "hello"
    everything = kernel.ok("#%print_job_output()")
    assert "[Split] split ['to', 'be', 'or', 'not']" in everything.stdout
    assert "word not" in everything.stdout
    listed = kernel.ok("#%list_submitted_jobs()")
    assert f"Id: {job_id[1]}, Name: Words_Job" in listed.stdout


def build_loop_and_branch(kernel: Kernel) -> None:
    kernel.ok('#%start(name=Begin)\nprint("iteration", variables.get("PA_TASK_ITERATION"))')
    kernel.ok('#%condition()\nloop = variables.get("PA_TASK_ITERATION") < 2')
    kernel.ok('#%loop(name=End)\nresult = variables.get("PA_TASK_ITERATION")')
    kernel.ok('#%branch(name=Choose, dep=[End])\nresult = "big"')
    kernel.ok('#%condition()\nbranch = "if" if result == "big" else "else"')
    kernel.ok('#%if(name=Big)\nresult = "took if"')
    kernel.ok('#%else(name=Small)\nresult = "took else"')
    kernel.ok("#%continuation(name=After)\nresult = [r.value() for r in results]")


def test_a_loop_and_a_branch_run_as_built(connected: Kernel) -> None:
    kernel = connected
    build_loop_and_branch(kernel)
    drawn = kernel.ok("#%draw_job()")
    picture = drawn.displays[0]["image/svg+xml"]
    assert all(f">{name}</text>" in picture for name in ("Begin", "End", "Choose", "Big", "Small", "After"))
    assert ">loop</text>" in picture and ">else</text>" in picture

    kernel.ok("#%submit_job(name=Loop_And_Branch)")
    results = kernel.ok("#%get_job_result(job_name=Loop_And_Branch)").stdout
    assert "End#2: 2" in results
    assert "Big: took if" in results
    assert "Small" not in results  # SKIPPED: no result, no error
    output = kernel.ok("#%print_task_output(task_name=Begin#2)").stdout
    assert output.strip() == "iteration 2"


def test_files_written_and_read(kernel: Kernel) -> None:
    build_loop_and_branch(kernel)
    kernel.ok("#%write_dot(name=graph)")
    kernel.ok("#%export_xml(name=exported)")
    exported = formats.load(kernel.folder / "exported.xml")
    assert exported.name == "exported"
    assert exported.task("Choose").control_flow is not None
    assert formats.validate(exported) == []
    kernel.ok("#%draw_job(name=picture, save=on, inline=off)")
    assert (kernel.folder / "picture.svg").read_text().startswith("<svg")

    (kernel.folder / "plan.dot").write_text('digraph plan { Fetch -> "Clean up" -> Report; Fetch -> Report }')
    imported = kernel.ok(f"#%import_dot(path={kernel.folder / 'plan.dot'})")
    assert "Task 'Clean up' created" in imported.stdout
    kernel.ok("#%task(name=Report, dep=[Fetch, 'Clean up'])\nresult = len(results)")
    loaded = kernel.ok(f"#%import_dot(path={kernel.folder / 'graph.dot'})")
    assert "created" not in loaded.stdout  # the tasks are there already; loop/if arrows are not dependencies


def test_bad_pragmas_are_refused_and_the_job_is_kept(kernel: Kernel) -> None:
    kernel.ok("#%task(name=Fetch)\nresult = 1")
    kernel.ok("#%task(name=Report, dep=[Fetch])\nresult = 2")
    before = kernel.ok("#%write_dot(name=before)")
    assert before.status == "ok"
    cases = {
        "#%frobnicate()": "Pragma error: unknown pragma #%frobnicate",
        "#%task(name=X, colour=red)": "unknown parameter 'colour'",
        "#%task(dep=[Fetch])": "missing parameter 'name'",
        "#%task(name=X, dep=[Fetch, Nowhere])": "cannot depend on 'Nowhere'",
        "#%task(name=Fetch, dep=[Report])": "cycle: Fetch -> Report -> Fetch",
        "#%task(name=X, dep=[Fetch": "Parsing error",
        "#%task(name=X, language=cobol)": "unknown language 'cobol'",
        "#%task(name=X, runs=many)": "runs: expected a whole number",
        "#%task(name=X, import=[nobody_exports_this])": "no other task exports nobody_exports_this",
        "#%runs()\nruns = 2": "begin one with #%split()",
        "#%task(name=X)\nresult = 1\nif result print(1)": "Syntax error: the code under the pragma, line 2",
        "#%pre_script(name=Ghost)\nprint(1)": "no task 'Ghost'",
        "#%help(pragma=nothing)": "unknown pragma 'nothing'",
        "#%get_job_result(job_name=never_submitted)": "no job named 'never_submitted'",
    }
    for cell, message in cases.items():
        reply = kernel.run(cell)
        assert reply.status == "error", cell
        assert message in reply.error, (cell, reply.error)

    kernel.ok("#%split(name=Half)\nresult = 1")
    reply = kernel.run("#%task(name=Elsewhere)\nresult = 1")
    assert "awaits #%runs()" in reply.error
    assert "awaits #%runs()" in kernel.run("#%submit_job()").error
    kernel.ok("#%delete_task(name=Half)")

    kernel.ok("#%write_dot(name=after)")
    assert (kernel.folder / "after.dot").read_text() == (kernel.folder / "before.dot").read_text().replace(
        '"before"', '"after"'
    )


def test_help_lists_every_pragma(kernel: Kernel) -> None:
    listing = kernel.ok("#%help()").stdout
    for pragma in (
        "connect",
        "task",
        "split",
        "runs",
        "loop",
        "continuation",
        "draw_job",
        "print_task_output",
    ):
        assert f"#%{pragma}():" in listing
    usage = kernel.ok("#%help(pragma=task)").stdout
    assert "usage: #%task(name=TASK_NAME, [language=LANGUAGE], [dep=[NAME1,NAME2,...]]" in usage


def test_hostile_input(connected: Kernel, server: LiveServer) -> None:
    kernel = connected
    with Client(server.url, server.admin_token) as admin:
        secret = Task("S", ScriptExecutable(Script("cpython", "result = 'Secret'")))
        other = admin.submit(Workflow("Secret", tasks=[secret]))
    reply = kernel.run(f"#%get_job_result(job_id={other})")
    assert reply.status == "error" and "Server error" in reply.error
    assert "Secret" not in reply.error and "result" not in reply.stdout

    injected = kernel.run('#%task(name=Inject, export=["x\\nimport os"])\nx = 1')
    assert "is not a variable name" in injected.error
    kernel.ok("#%task(name=Fine)\nresult = 1")
    assert "cannot name a file" in kernel.run("#%export_xml(name='../escaped')").error
    assert "cannot name a file" in kernel.run("#%write_dot(name=/tmp/x)").error
    assert not list(kernel.folder.parent.glob("escaped*"))
    assert "longer than 10000 characters" in kernel.run("#%task(name=" + "x" * 20_000 + ")").error
    assert "nested too deeply" in kernel.run("#%task(name=N, dep=[[[[A]]]])").error
    huge = kernel.folder / "huge.dot"
    huge.write_text("digraph huge {" + ";".join(f"n{i}" for i in range(10_001)) + "}")
    assert "at most 10000 tasks" in kernel.run(f"#%import_dot(path={huge})").error

    kernel.ok('#%task(name="</text></svg><script>alert(1)</script>")\nresult = 1')
    picture = kernel.ok("#%draw_job()").displays[0]["image/svg+xml"]
    assert "<script>" not in picture and "&lt;/text&gt;&lt;/svg&gt;&lt;script&gt;" in picture


def test_interrupting_a_wait_ends_the_cell(connected: Kernel) -> None:
    kernel = connected
    kernel.ok("#%task(name=Slow)\nimport time\ntime.sleep(60)")
    kernel.ok("#%submit_job(name=Slow_Job)")
    request = kernel.client.execute("#%get_job_result()")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # interrupt once the kernel waits (not before the cell started)
        message = kernel.client.get_iopub_msg(timeout=30)
        if message["parent_header"].get("msg_id") == request and "Waiting" in message["content"].get(
            "text", ""
        ):
            break
    kernel.manager.interrupt_kernel()
    reply = kernel.client.get_shell_msg(timeout=20)
    while reply["parent_header"].get("msg_id") != request:
        reply = kernel.client.get_shell_msg(timeout=20)
    assert (reply["content"]["status"], reply["content"]["ename"]) == ("error", "Interrupted")
    assert "Name: Slow_Job" in kernel.ok("#%list_submitted_jobs()").stdout


def test_connecting_from_a_config_file_or_the_saved_login(
    kernel: Kernel, server: LiveServer, user: tuple[str, str]
) -> None:
    config = kernel.folder / "proactive_config.ini"
    saved = kernel.folder / "config" / "runyard" / "client.toml"
    try:
        config.write_text(
            f"[proactive_server]\nurl = {server.url}\n[user]\nlogin = {user[0]}\npassword = {PASSWORD}\n"
        )
        assert f"as {user[0]}" in kernel.ok(f"#%connect(path={config})").stdout
        assert f"as {user[0]}" in kernel.ok("#%connect()").stdout  # the file in the notebook's folder
        config.write_text("[proactive_server]\nhost = 127.0.0.1\n")
        assert "needs [proactive_server] url" in kernel.run("#%connect()").error
        config.unlink()

        saved.parent.mkdir(parents=True)
        saved.write_text(f'url = "{server.url}"\ntoken = "{user[1]}"\n')
        assert f"as {user[0]}" in kernel.ok("#%connect()").stdout
        saved.write_text(f'url = "{server.url}"\ntoken = "not-a-token"\n')
        assert "Connection error" in kernel.run("#%connect()").error
        saved.write_text(
            f'url = "{server.url}"\n'
        )  # ProActive's #%connect(login, password): the known server
        assert f"as {user[0]}" in kernel.ok(f"#%connect(login={user[0]}, password='{PASSWORD}')").stdout
        saved.unlink()
        assert "give the server: url=URL" in kernel.run(f"#%connect(login={user[0]}, password=x)").error
    finally:
        config.unlink(missing_ok=True)
        saved.unlink(missing_ok=True)
    wrong = kernel.run(f"#%connect(url={server.url}, login={user[0]}, password=wrong)")
    assert wrong.status == "error" and "Connection error" in wrong.error
    assert "give login=LOGIN and password=PASSWORD" in kernel.run(f"#%connect(url={server.url})").error
    assert "not an http(s) URL" in kernel.run("#%connect(url=ftp://x, login=a, password=b)").error
    assert (
        "Parameter error: 'http://127.0.0.1:port'"
        in kernel.run("#%connect(host=127.0.0.1, port=port, login=a, password=b)").error
    )


def test_scripts_files_imports_and_bash_variables(connected: Kernel) -> None:
    kernel = connected
    kernel.ok("#%import()\nimport math")
    main = kernel.folder / "main_script.py"
    main.write_text("print('main')\nresult = math.floor(2.5)\n")
    kernel.ok(f"#%task(name=FromFile, path={main})")
    assert "cannot read" in kernel.run(f"#%task(name=Missing, path={kernel.folder / 'nowhere.py'})").error
    kernel.ok("#%pre_script(name=FromFile)\nprint('pre')")
    kernel.ok("#%post_script(name=FromFile, language=Linux_Bash)\necho post")
    kernel.ok("#%fork_env(name=FromFile)\nprint('environment')")
    kernel.ok("#%job_selection_script(force=on)\nselected = True")
    kernel.ok(
        '#%task(name=Shell, dep=[FromFile], language=Linux_Bash, export=[GREETING])\nGREETING="hi there"'
    )
    kernel.ok("#%task(name=Reader, dep=[Shell], import=[GREETING])\nresult = GREETING.upper()")

    kernel.ok("#%export_xml(name=scripts)")
    task = formats.load(kernel.folder / "scripts.xml").task("FromFile")
    assert task.pre is not None and task.post is not None and task.post.language == "bash"
    assert task.fork_environment is not None and task.fork_environment.env_script is not None
    assert [s.script.code for s in task.selection] == ["selected = True"]

    kernel.ok("#%task(name=Gem, language=Ruby)\nputs 1")
    refused = kernel.run("#%submit_job(name=Scripts_Job)")
    assert "Server error" in refused.error and "ruby" in refused.error
    kernel.ok("#%delete_task(name=Gem)")
    kernel.ok("#%submit_job(name=Scripts_Job)")
    assert "(FINISHED)" in kernel.ok("#%get_job_result()").stdout
    assert kernel.ok("#%get_task_result(task_name=FromFile)").stdout.strip() == "2"
    assert kernel.ok("#%print_task_output(task_name=FromFile)").stdout.split() == ["pre", "main", "post"]
    assert kernel.ok("#%get_task_result(task_name=Reader)").stdout.strip() == "HI THERE"


def test_a_task_replicated_by_its_runs_parameter(connected: Kernel) -> None:
    kernel = connected
    kernel.ok("#%task(name=Source)\nresult = 'x'")
    assert "needs exactly one parent" in kernel.run("#%task(name=Copies, runs=3)\nresult = 1").error
    kernel.ok('#%task(name=Copies, dep=[Source], runs=3)\nresult = variables.get("PA_TASK_REPLICATION")')
    kernel.ok("#%task(name=Gather, dep=[Copies])\nresult = sorted(r.value() for r in results)")
    kernel.ok("#%task(name=Slow, dep=[Gather])\nimport time\ntime.sleep(5)")
    kernel.ok("#%submit_job(name=Copies_Job)")
    assert "(timeout=0: no waiting)" in kernel.run("#%get_job_result(timeout=0)").error
    assert "Timeout" in kernel.run("#%get_job_result(timeout=1)").error
    results = kernel.ok("#%get_job_result()").stdout
    assert "Copies*2: 2" in results and "Gather: [0, 1, 2]" in results


def test_completion_and_help_of_pragmas(kernel: Kernel) -> None:
    reply = kernel.client.complete("#%sub", 5, reply=True, timeout=20)["content"]
    assert (reply["matches"], reply["cursor_start"], reply["cursor_end"]) == (["submit_job("], 2, 5)
    reply = kernel.client.complete("#%task(name=A, de\nprint(1)", 17, reply=True, timeout=20)["content"]
    assert reply["matches"] == ["dep="]
    reply = kernel.client.complete("#%task(name=A)\n#%ta", 19, reply=True, timeout=20)["content"]
    assert reply["matches"] == []  # only on the first line

    reply = kernel.client.inspect("#%split(name=S)\nresult = 1", 4, reply=True, timeout=20)["content"]
    assert reply["found"] and "usage: #%split(" in reply["data"]["text/plain"]
    assert not kernel.client.inspect("print(1)", 3, reply=True, timeout=20)["content"]["found"]

"""The R engine: ProActive's bindings in and out of ``Rscript`` in every script position, R's errors,
values both ways, kill and walltime, and a hostile R script on a server."""

from __future__ import annotations

import os
import pickle
import stat
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from engine.helpers import cli_json
from runyard.formats import loads
from runyard.model import JobStatus, Script
from runyard.platform import Platform
from runyard.reports import TaskReport
from runyard.scripts import (
    Bindings,
    JavaMap,
    ParentTaskResult,
    ScriptFailure,
    get_engine,
    resolve_language,
    run_script,
)
from runyard.scripts.rlang import REngine
from runyard.settings import Settings
from support.hostile import hostile_users
from support.server import LiveServer, live_server


def run_r(code: str, bindings: Bindings, arguments: list[str] | None = None) -> dict[str, Any]:
    output = run_script(
        Script("R", code=code, arguments=arguments or []), bindings, label="<main script of T>"
    )
    assert output.values is not None and output.exit_code is None
    return output.values


def fails_with(code: str, bindings: Bindings) -> str:
    with pytest.raises(ScriptFailure) as failure:
        run_script(Script("R", code=code), bindings, label="<main script of T>")
    return str(failure.value)


# -- the engine, through run_script ---------------------------------------------------------------


def test_the_language_is_r_in_any_case_and_from_r_files() -> None:
    assert isinstance(get_engine("R"), REngine) and get_engine("r") is get_engine("R")
    assert resolve_language(Script(file="analysis.R")) == "R"
    assert resolve_language(Script(url="http://host/buckets/b/resources/x/raw/model.r")) == "R"
    assert REngine().unavailable() is None


def test_every_input_binding(bindings: Bindings, tmp_path: Path) -> None:
    bindings.results = [
        ParentTaskResult("A", pickle.dumps({"k": [1, 2]})),
        ParentTaskResult("B", None, "boom"),
    ]
    bindings.result_map = JavaMap({"before": "x"})
    bindings.cachespace = str(tmp_path / "cache")
    bindings.inputspace, bindings.outputspace = str(tmp_path / "in"), str(tmp_path / "out")
    bindings.extra = {"nodename": "local-1", "nodeTokens": ["t1", "t2"], "result": {"so": "far"}}
    values = run_r(
        """
        result <- list(
          name = variables[["NAME"]], count = as.integer(variables[["COUNT"]]) + 1L,
          first = results[[1]]$k, by_name = results[["A"]]$k, faulty = is.null(results[["B"]]),
          parents = names(results), map = resultMap[["before"]], gi = genericInformation[["GI_KEY"]],
          secret = credentials[["SECRET"]], args = args,
          spaces = c(localspace, userspace, globalspace, cachespace, inputspace, outputspace), cwd = getwd(),
          node = nodename, tokens = nodeTokens, previous = result$so, metadata = length(resultMetadata)
        )
        """,
        bindings,
        arguments=["${NAME}", "two words"],
    )
    local = bindings.localspace
    assert values["result"] == {
        "name": "world",
        "count": 4,
        "first": [1, 2],
        "by_name": [1, 2],
        "faulty": True,
        "parents": ["A", "B"],
        "map": "x",
        "gi": "gi-value",
        "secret": "s3cret",
        "args": ["world", "two words"],
        "spaces": [
            local,
            bindings.userspace,
            bindings.globalspace,
            bindings.cachespace,
            bindings.inputspace,
            bindings.outputspace,
        ],
        "cwd": local,
        "node": "local-1",
        "tokens": ["t1", "t2"],
        "previous": "far",
        "metadata": 0,
    }
    assert os.listdir(local) == [], "the engine's files are left in localspace"


def test_what_the_script_changes_is_set_back(bindings: Bindings) -> None:
    kept = object()
    bindings.variables["OBJECT"] = kept
    bindings.variables["FLOAT"] = 2.0
    bindings.variables["HUGE"] = 2**64 + 1  # more than R's numbers hold: kept since untouched
    values = run_r(
        """
        variables[["GREETING"]] <- paste("hello", variables[["NAME"]])
        variables[["COUNT"]] <- NULL            # removing an entry does not remove the variable
        variables["NOTHING"] <- list(NULL)      # a null value
        resultMap[["out"]] <- c(1.5, 2)
        resultMetadata[["file.name"]] <- "report.csv"
        lapply <- vapply <- paste0 <- print <- function(...) stop("the script's own")  # not the runner's
        selected <- TRUE; branch <- "else"; runs <- 3; loop <- "*/5 * * * *"
        """,
        bindings,
    )
    assert dict(bindings.variables) == {
        "NAME": "world",
        "COUNT": "3",
        "OBJECT": kept,
        "FLOAT": 2.0,
        "HUGE": 2**64 + 1,
        "GREETING": "hello world",
        "NOTHING": None,
    }
    assert dict(bindings.result_map) == {"out": [1.5, 2]}
    assert values == {
        "result": "*/5 * * * *",
        "selected": True,
        "branch": "else",
        "runs": 3,
        "loop": "*/5 * * * *",
        "resultMetadata": {"file.name": "report.csv"},
    }


#: Values a script sends, as JSON gives them back to Python.
R_VALUES = {
    "integer": ("42L", 42),
    "double": ("2.5", 2.5),
    "whole double": ("5", 5),
    "precision": ("1/3", 0.333333333333333),
    "huge": ("1e300", 1e300),
    "text": ('"été ✓ \\"quoted\\"\\n"', 'été ✓ "quoted"\n'),
    "true": ("TRUE", True),
    "NA": ("NA", None),
    "NA text": ("NA_character_", None),
    "NaN and Inf": ("c(NaN, Inf, -Inf)", [None, None, None]),
    "NULL": ("NULL", None),
    "numeric vector": ("c(1, 2, 3)", [1, 2, 3]),
    "logical vector": ("c(TRUE, NA, FALSE)", [True, None, False]),
    "empty vector": ("character(0)", []),
    "named vector": ("c(a = 1, b = 2)", {"a": 1, "b": 2}),
    "list": ('list(1, "a", NULL)', [1, "a", None]),
    "named list": ("list(a = 1, b = list(c = TRUE))", {"a": 1, "b": {"c": True}}),
    "empty list": ("list()", []),
    "factor": ('factor(c("x", "y"))', ["x", "y"]),
    "data frame": ('data.frame(n = 1:2, s = c("p", "q"))', [{"n": 1, "s": "p"}, {"n": 2, "s": "q"}]),
    "matrix": ("matrix(1:4, 2)", [[1, 3], [2, 4]]),
    "function": ("function(x) x + 1", "function(x) x + 1"),
    "environment": ("globalenv()", "<environment: R_GlobalEnv>"),
}


def test_values_from_r(bindings: Bindings) -> None:
    entries = ",\n".join(f"`{name}` = {expression}" for name, (expression, _) in R_VALUES.items())
    values = run_r(f"result <- list({entries})", bindings)
    assert values["result"] == {name: expected for name, (_, expected) in R_VALUES.items()}


#: Values sent to R that come back unchanged, so a script that does not touch them changes nothing.
JSON_VALUES: dict[str, Any] = {
    "text": 'line 1\nline 2 "quoted" \\ `r` é',
    "code": '"); system("touch pwned"); ("',
    "number": 7,
    "float": 0.1,
    "negative": -3.25,
    "true": True,
    "false": False,
    "null": None,
    "numbers": [1, 2, 3],
    "texts": ["a", "b"],
    "object": {"k": "v", "n": 1},
    "empty object": {},
    "empty array": [],
}


def test_values_to_r_and_back(bindings: Bindings) -> None:
    bindings.variables = JavaMap(JSON_VALUES)
    values = run_r(
        """
        result <- variables
        variables[["types"]] <- vapply(variables, function(v) class(v)[[1]], "")
        """,
        bindings,
    )
    assert values["result"] == JSON_VALUES
    assert bindings.variables["types"] == {
        **{name: "character" for name in ("text", "code", "texts")},
        **{name: "numeric" for name in ("float", "negative")},
        **{name: "integer" for name in ("number", "numbers")},
        **{name: "logical" for name in ("true", "false")},
        **{name: "NULL" for name in ("null",)},
        **{name: "list" for name in ("object", "empty object", "empty array")},
    }
    assert not Path(bindings.localspace, "pwned").exists()


def test_large_values_cross(bindings: Bindings) -> None:
    """Larger than an environment variable may be (128 KiB): the bindings are not in R's environment."""
    bindings.variables["BIG"] = "x" * 300_000
    values = run_r(
        'variables[["SIZE"]] <- nchar(variables[["BIG"]])\nresult <- strrep("y", 500000)', bindings
    )
    assert bindings.variables["SIZE"] == 300_000
    assert values["result"] == "y" * 500_000


def test_without_result_the_last_value_is_the_result(bindings: Bindings) -> None:
    assert run_r("x <- c(1, 2, 3, 4)\nmean(x)", bindings)["result"] == 2.5
    assert run_r("mean(1:4)\nresult <- 'set'\ninvisible(7)", bindings)["result"] == "set"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            'check <- function(x) {\n  if (x > 1) {\n    stop("too big: ", x)\n  }\n}\n'
            "twice <- function(y) check(y * 2)\ntwice(1)",
            "Error in check(y * 2) : too big: 2\nCalls: twice -> check\n  at <main script of T>, line 3",
        ),
        (
            'x <- 1\nlog("a")',
            'Error in log("a") : non-numeric argument to mathematical function\n'
            "  at <main script of T>, line 2",
        ),
        ('x <- 1\n\nstop("no call", call. = FALSE)', "Error: no call\n  at <main script of T>, line 3"),
        ("undefined_thing + 1", "Error: object 'undefined_thing' not found\n  at <main script of T>, line 1"),
    ],
    ids=["in a function", "in a builtin", "without call", "unknown name"],
)
def test_an_r_error_is_the_failure(bindings: Bindings, code: str, expected: str) -> None:
    assert fails_with(code, bindings) == expected


def test_changes_before_an_error_are_kept(bindings: Bindings) -> None:
    fails_with('variables[["STEP"]] <- "one"\nstop("then failed")', bindings)
    assert bindings.variables["STEP"] == "one"


def test_bad_syntax(bindings: Bindings) -> None:
    assert fails_with("x <- 1\ny <- (2 +\nz <- )", bindings) == (
        "syntax error: <main script of T>:3:6: unexpected ')'\n2: y <- (2 +\n3: z <- )\n        ^"
    )


def test_quit_ends_the_script_with_its_status(bindings: Bindings) -> None:
    assert fails_with('variables[["Q"]] <- "set"\nquit(status = 3)\nvariables[["Q"]] <- "not"', bindings) == (
        "script exited with quit(status = 3)"
    )
    assert bindings.variables["Q"] == "set"
    assert run_r('result <- "kept"\nq(save = "no")\nresult <- "not reached"', bindings)["result"] == "kept"


def test_an_r_process_killed_by_a_signal(bindings: Bindings) -> None:
    assert fails_with("tools::pskill(Sys.getpid(), tools::SIGKILL)", bindings) == (
        "the R process was killed by signal 9"
    )


def test_a_bad_output_binding_is_the_failure(bindings: Bindings) -> None:
    assert fails_with("variables <- c(1, 2)", bindings) == "'variables' must be a named list, got numeric"


def test_a_script_that_spoils_its_outputs_fails_clearly(bindings: Bindings) -> None:
    """The outputs file is the script's own: spoiling it fails that script, nothing else."""
    message = fails_with("dir.create(commandArgs(TRUE)[[4]])", bindings)
    assert message.startswith("the outputs of the R script cannot be read: [Errno 21] Is a directory")


def test_unavailable_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert REngine().unavailable() == "Rscript is not installed (Debian package r-base-core)"
    fake = tmp_path / "bin" / "Rscript"  # an R whose library holds no jsonlite
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", str(fake.parent))
    for name in ("R_LIBS", "R_LIBS_USER", "R_LIBS_SITE"):
        monkeypatch.delenv(name, raising=False)
    assert (
        REngine().unavailable() == "the R package jsonlite is not installed (Debian package r-cran-jsonlite)"
    )


def test_runyard_run_infers_r_from_a_script_file(tmp_path: Path) -> None:
    (tmp_path / "analysis.R").write_text("values <- as.numeric(args)\nresult <- sum(values)\n")
    workflow = tmp_path / "sum.yaml"
    workflow.write_text(
        "name: R_File\ntasks:\n  Sum:\n    script: {file: analysis.R, arguments: ['1', '${TWO}']}\n"
        "variables: {TWO: '2'}\n"
    )
    code, report = cli_json("run", str(workflow))
    assert (code, report["status"], report["tasks"][0]["result"]) == (0, "FINISHED", 3)


# -- in every script position of real jobs ------------------------------------------------------


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(Settings(data_dir=tmp_path_factory.mktemp("platform"))) as started:
        yield started


def run_job(platform: Platform, workflow: str, timeout: float = 60) -> dict[str, TaskReport]:
    job = platform.submit(loads(textwrap.dedent(workflow)))
    assert platform.wait(job, timeout) is JobStatus.FINISHED
    return {task["name"]: task for task in platform.report(job)["tasks"]}


def test_every_position_with_a_loop(platform: Platform, tmp_path: Path) -> None:
    cleaned = tmp_path / "cleaned"
    cleaned.mkdir()
    tasks = run_job(
        platform,
        f"""
        name: R_Positions
        tasks:
          Loop:
            selection:
              R: selected <- startsWith(nodename, "local-") && length(nodeTokens) == 0
            pre:
              R: variables[["PRE"]] <- paste0("pre", variables[["PA_TASK_ITERATION"]])
            script:
              R: result <- list(pre = variables[["PRE"]], iteration = variables[["PA_TASK_ITERATION"]])
            post:
              R: |
                result$post <- TRUE
                resultMap[["last"]] <- variables[["PA_TASK_ITERATION"]]
            flow:
              loop:
                target: Loop
                script:
                  R: loop <- result$iteration < 1 && variables[["PA_TASK_SUCCESS"]] == "true"
            cleaning:
              R: file.create(file.path("{cleaned}", paste0("clean", variables[["PA_TASK_ITERATION"]])))
          After:
            depends: [Loop]
            script:
              R: result <- c(names(results), results[[1]]$pre, variables[["PRE"]])
        """,
    )
    assert tasks["Loop#1"]["result"] == {"pre": "pre1", "iteration": 1, "post": True}
    assert tasks["After"]["result"] == ["Loop#1", "pre1", "pre1"]
    assert sorted(os.listdir(cleaned)) == ["clean0", "clean1"]


def test_branch_and_replicate(platform: Platform) -> None:
    tasks = run_job(
        platform,
        """
        name: R_Flow
        tasks:
          Split:
            script: {R: "result <- c(3, 5, 7)"}
            flow:
              replicate: {script: {R: "runs <- length(result)"}}
          Square:
            depends: [Split]
            script:
              R: result <- results[[1]][variables[["PA_TASK_REPLICATION"]] + 1]^2
          Merge:
            depends: [Square]
            script: {R: "result <- sum(unlist(results))"}
            flow:
              if:
                target: Big
                else: Small
                continuation: Done
                script: {R: 'branch <- if (result > 50) "if" else "else"'}
          Big: {script: {R: 'result <- "big"'}}
          Small: {script: {R: 'result <- "small"'}}
          Done: {script: {R: "result <- results[[1]]"}}
        """,
    )
    assert tasks["Merge"]["result"] == 9 + 25 + 49
    assert tasks["Done"]["result"] == "big"
    assert tasks["Small"]["status"] == "SKIPPED"


def test_a_failing_r_task_is_faulty_with_the_r_error(platform: Platform) -> None:
    workflow = (
        "name: R_Error\ntasks:\n  Bad:\n    script:\n      R: |\n        x <- 1\n        sqrt('four')\n"
    )
    job = platform.submit(loads(workflow))
    platform.wait(job, 60)
    (task,) = platform.report(job)["tasks"]
    assert task["status"] == "FAULTY" and task["error"] is not None
    assert 'main script of task Bad failed: Error in sqrt("four") : non-numeric argument' in task["error"]
    assert "at <main script of task Bad>, line 2" in task["error"]


def wait_for_pid(path: Path, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} was not written within {timeout} s"
        time.sleep(0.05)
    return int(path.read_text())


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def sleeper(pid_file: Path, walltime: str | None = None, fork: bool = True) -> str:
    limit = f"    walltime: '{walltime}'\n" if walltime else ""
    return (
        f"name: R_Sleep\ntasks:\n  Sleep:\n    fork: {str(fork).lower()}\n{limit}    script:\n      R: |\n"
        f"        writeLines(as.character(Sys.getpid()), '{pid_file}')\n        Sys.sleep(600)\n"
    )


def test_walltime_and_kill_end_a_sleeping_r_task(platform: Platform, tmp_path: Path) -> None:
    """The walltime of a task in its own process; the kill of a task in the node's worker (fork=false)."""
    started = time.monotonic()
    job = platform.submit(loads(sleeper(tmp_path / "walltime.pid", walltime="2")))
    rscript = wait_for_pid(tmp_path / "walltime.pid")
    assert platform.wait(job, 30) is JobStatus.FINISHED
    assert time.monotonic() - started < 20
    (task,) = platform.report(job)["tasks"]
    assert (task["status"], "walltime" in (task["error"] or "")) == ("FAULTY", True)
    assert gone(rscript), "Rscript outlived the walltime"

    job = platform.submit(loads(sleeper(tmp_path / "kill.pid", fork=False)))
    rscript = wait_for_pid(tmp_path / "kill.pid")
    platform.kill_task(job, "Sleep")
    assert platform.wait(job, 20) is JobStatus.FINISHED
    assert platform.report(job)["tasks"][0]["status"] == "ABORTED"
    assert gone(rscript), "Rscript outlived the kill"
    after = run_job(
        platform, "name: R_After\ntasks:\n  Next:\n    fork: false\n    script: {R: 'result <- 1'}\n"
    )
    assert after["Next"]["result"] == 1


# -- a hostile R script on a server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


def r_probe(paths: list[str]) -> str:
    """R code that prints ``PROBE <path> READ|DENIED`` for each of ``paths``, and makes it the result."""
    listed = ", ".join(f'"{path}"' for path in paths)
    return textwrap.dedent(f"""\
        found <- list()
        for (path in c({listed})) {{
          found[[path]] <- tryCatch({{
            readBin(path, "raw", 1)
            "READ"
          }}, error = function(e) "DENIED", warning = function(w) "DENIED")
          cat("PROBE", path, found[[path]], "\\n")
        }}
        result <- found
        """)


def platform_secrets(server: LiveServer) -> list[str]:
    data = server.data_dir
    return [
        str(data / "credentials.key"),
        str(data / "job-tokens.key"),
        str(data / "runyard.db"),
        f"/proc/{os.getpid()}/environ",  # the server's process
    ]


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fork=false"])
def test_a_hostile_r_script_reads_nothing_of_the_platform_or_of_another_user(
    server: LiveServer, fork: bool
) -> None:
    mallory, alice = hostile_users(server, 2)
    secret = alice.run("open(userspace + '/secret.txt', 'w').write('alice secret')\nresult = userspace")
    assert secret.status == "FINISHED", secret
    targets = [*platform_secrets(server), f"{secret.result}/secret.txt"]
    readable = "/etc/os-release"  # the probe does read what a task may read
    done = mallory.run(r_probe([*targets, readable]), language="R", fork=fork)
    assert done.status == "FINISHED", done
    assert done.result == {**dict.fromkeys(targets, "DENIED"), readable: "READ"}, done.result


def test_every_r_script_position_is_contained(server: LiveServer) -> None:
    (mallory,) = hostile_users(server, 1)
    secrets = platform_secrets(server)
    probe = textwrap.indent(r_probe(secrets), " " * 8)
    workflow = textwrap.dedent("""\
        name: R_Positions
        tasks:
          Attack:
            selection:
              R: |
        {probe}
                selected <- TRUE
            pre:
              R: |
        {probe}
            script:
              R: |
        {probe}
            post:
              R: |
        {probe}
            flow:
              loop:
                target: Attack
                script:
                  R: |
        {flow}
                    loop <- FALSE
            cleaning:
              R: |
        {probe}
        """).format(probe=probe, flow=textwrap.indent(r_probe(secrets), " " * 12))
    job = mallory.submit(workflow)
    assert mallory.wait(job)["status"] == "FINISHED"
    output = mallory.logs(job, "Attack")
    assert output.count("PROBE") == 6 * len(secrets), output
    assert output.count("DENIED") == 6 * len(secrets), output

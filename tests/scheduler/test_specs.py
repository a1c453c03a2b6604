"""What a node is given: merged variables (ProActive's order), system variables, GI, parents, token."""

from __future__ import annotations

from pathlib import Path

from runyard.model import TaskStatus, Variable
from runyard.nodes.protocol import NodeInfo
from runyard.scheduler.specs import Spaces, access_token, build_spec, task_variables

from .helpers import Run, task, workflow

NODE = NodeInfo(name="local-1", source="local", host="h", url="local://h/local-1")
URLS = {"PA_SCHEDULER_REST_URL": "http://s/rest", "PA_CATALOG_REST_URL": "http://s/catalog"}


def merge_run() -> Run:
    return Run(
        workflow(
            task("P1"),
            task("P2"),
            task(
                "C",
                "P1",
                "P2",
                variables=[
                    Variable("OWN", "task"),
                    Variable("INHERITED", "default", inherited=True),
                    Variable("FRESH", "fresh", inherited=True),
                    Variable("JOBVAR", "task-wins"),
                    Variable("REF", "${JOBVAR}-$PA_TASK_NAME"),
                ],
                generic_information={"TG": "${OWN}", "JG": "task-gi"},
            ),
            variables=[Variable("JOBVAR", "job"), Variable("SHARED", "job")],
            generic_information={"JG": "job-gi", "J": "$PA_JOB_ID"},
        )
    )


def test_merge_order_job_then_parents_in_order_then_task_then_system() -> None:
    run = merge_run()
    run.run("P1", variables={"SHARED": "p1", "INHERITED": "p1", "FROM1": "1", "PA_TASK_NAME": "P1"})
    run.run("P2", variables={"SHARED": "p2", "FROM2": "2"})
    c = run["C"]
    merged = task_variables(run.job, run.graph, c)
    assert merged["SHARED"] == "p2"  # the later parent wins
    assert merged["INHERITED"] == "p1"  # an inherited task variable yields to a propagated one
    assert merged["FRESH"] == "fresh"  # ... and applies when nothing overrides it
    assert merged["JOBVAR"] == "task-wins"  # a non-inherited task variable overrides the job
    assert (merged["FROM1"], merged["OWN"]) == ("1", "task")
    run.start("C")
    spec = build_spec(run.job, run.graph, c, NODE, Spaces(Path("/data")), URLS)
    assert spec.variables["PA_TASK_NAME"] == "C"  # system variables come last
    assert spec.variables["REF"] == "task-wins-C"  # resolved against the merged set
    assert spec.variables["PA_JOB_ID"] == "7"
    assert spec.variables["PA_TASK_ID"] == f"7t{c.number}"
    assert spec.variables["PA_NODE_NAME"] == "local-1"
    assert spec.variables["PA_SCHEDULER_REST_URL"] == "http://s/rest"
    assert (spec.variables["PA_TASK_ITERATION"], spec.variables["PA_TASK_REPLICATION"]) == (0, 0)
    assert spec.generic_information == {"JG": "task-gi", "J": "7", "TG": "task"}
    assert [p.task_name for p in spec.parents] == ["P1", "P2"]
    assert (spec.execution, spec.task_name, spec.owner) == (1, "C", "alice")


def test_job_variable_overrides_an_inherited_task_variable() -> None:
    run = Run(
        workflow(
            task("A", variables=[Variable("X", "task", inherited=True)]), variables=[Variable("X", "job")]
        )
    )
    assert task_variables(run.job, run.graph, run["A"])["X"] == "job"


def test_spec_of_a_replica_and_its_paths() -> None:
    from .helpers import replicate

    run = Run(workflow(task("S", action=replicate()), task("P", "S"), task("M", "P")))
    run.run("S", {"runs": 2}, result=b"r")
    p1 = run.start("P*1")
    spec = build_spec(run.job, run.graph, p1, NODE, Spaces(Path("/data")), URLS)
    assert (spec.task_name, spec.replication, spec.variables["PA_TASK_REPLICATION"]) == ("P*1", 1, 1)
    assert spec.parents[0].value == b"r"
    assert spec.localspace == f"/data/spaces/local/7/{p1.number}-1"
    assert spec.log_path == f"/data/logs/7/{p1.number}-1.log"


def test_a_faulty_parent_passes_its_error() -> None:
    run = Run(workflow(task("A"), task("B", "A")))
    run.start("A")
    run.fail("A", error="Traceback: boom")
    assert run.status("A") is TaskStatus.FAULTY
    b = run.start("B")
    spec = build_spec(run.job, run.graph, b, NODE, Spaces(Path("/d")), URLS)
    assert spec.parents[0].error == "Traceback: boom"


def test_walltime_from_the_task_or_the_walltime_generic_information() -> None:
    run = Run(
        workflow(
            task("A", walltime="1:00"),
            task("B", generic_information={"WALLTIME": "$W"}),
            variables=[Variable("W", "30")],
        )
    )
    specs = [build_spec(run.job, run.graph, run.start(n), NODE, Spaces(Path("/d")), URLS) for n in ("A", "B")]
    assert [s.walltime for s in specs] == [60.0, 30.0]


def test_access_token_task_over_job_with_variables_substituted() -> None:
    run = Run(
        workflow(
            task("A"),
            task("B", generic_information={"NODE_ACCESS_TOKEN": "PSA_$INSTANCE_NAME"}),
            task("C", generic_information={"NODE_ACCESS_TOKEN": "  "}),
            variables=[Variable("INSTANCE_NAME", "mongo-${PA_JOB_ID}")],
            generic_information={"NODE_ACCESS_TOKEN": "job-token"},
        )
    )
    assert access_token(run.job, run.graph, run["A"]) == "job-token"
    assert access_token(run.job, run.graph, run["B"]) == "PSA_mongo-7"
    assert access_token(run.job, run.graph, run["C"]) is None


def test_no_access_token() -> None:
    run = Run(workflow(task("A")))
    assert access_token(run.job, run.graph, run["A"]) is None

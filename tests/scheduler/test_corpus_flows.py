"""Every control-flow workflow of the corpus, its scripts stubbed, runs to FINISHED under random
flow decisions (the core does not run scripts: the decisions are what matters)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.formats.loading import load
from runyard.model import JobStatus, Script, ScriptExecutable, Workflow

from .helpers import Run, random_decision

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
FLOW_FILES = sorted(
    path
    for path in [
        *CORPUS.glob("proactive-examples/*/resources/catalog/*.xml"),
        *CORPUS.glob("scheduler-descriptors/flow_valid_*.xml"),
    ]
    if any(tag in path.read_text(errors="replace") for tag in ("<loop", "<replicate", "<if "))
)
STUB = Script(language="cpython", code="pass")


def stubbed(path: Path) -> Workflow:
    """The workflow with every script replaced by a cpython no-op (languages, files and URLs
    are not what is tested here)."""
    workflow = load(path)
    workflow.source = None
    for task in workflow.tasks:
        task.executable = ScriptExecutable(STUB)
        task.pre = task.post = task.cleaning = None
        task.selection = []
        task.fork_environment = None
        task.generic_information.pop("WALLTIME", None)
        if task.control_flow is not None and task.control_flow.action is not None:
            task.control_flow.action.script = STUB
    return workflow


def test_the_corpus_has_control_flow_workflows() -> None:
    assert len(FLOW_FILES) >= 20


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.name)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_corpus_workflow_finishes(path: Path, data: st.DataObject) -> None:
    run = Run(stubbed(path))

    run.run_all(lambda t: random_decision(data, run, t, max_iteration=3))
    assert run.job_status() is JobStatus.FINISHED, {n: t.status for n, t in run.job.tasks.items()}
    assert len(run.job.tasks) == len(set(run.job.tasks))


CONTROLS = CORPUS / "proactive-examples" / "Controls" / "resources" / "catalog"


def test_controls_replicate_template() -> None:
    run = Run(stubbed(CONTROLS / "replicate.xml"))
    order = run.run_all(lambda t: {"runs": 2} if t.name == "Split" else None)
    assert order == ["Split", "Process", "Process*1", "Merge"]
    assert run["Merge"].depends == ["Process", "Process*1"]


def test_controls_loop_template_loops_while_the_iteration_is_below_five() -> None:
    run = Run(stubbed(CONTROLS / "loop.xml"))
    run.run_all(lambda t: {"loop": t.iteration < 5} if t.template == "Loop" else None)
    assert [n for n in run.names() if run[n].template == "Loop"] == [
        "Loop",
        *(f"Loop#{i}" for i in range(1, 6)),
    ]
    assert run.job_status() is JobStatus.FINISHED


def test_controls_branch_template() -> None:
    run = Run(stubbed(CONTROLS / "branch.xml"))
    assert run.run_all(lambda t: {"branch": "else"} if t.name == "Condition" else None) == [
        "Condition",
        "Else",
        "Continuation",
    ]
    assert run.status("If").value == "SKIPPED"


def test_controls_cron_template_waits_for_the_next_minute() -> None:
    run = Run(stubbed(CONTROLS / "Cron.xml"), now=120.0)
    run.run("Cron_Task", {"loop": "* * * * *"})
    assert run["Cron_Task#1"].not_before == 180.0
    assert run.ready() == []

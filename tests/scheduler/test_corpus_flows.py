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

"""Which folders a job may name as its data spaces (``Spaces.job_space``) and where they are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.errors import SchedulerError, WorkflowError
from runyard.model import Variable
from runyard.scheduler.specs import Spaces
from runyard.scheduler.submission import prepare_job

from .helpers import task, workflow


@pytest.fixture
def spaces(tmp_path: Path) -> Spaces:
    for folder in ("spaces/user/alice", "spaces/user/bob", "spaces/global", "shared"):
        (tmp_path / folder).mkdir(parents=True)
    return Spaces(tmp_path, (tmp_path / "shared",))


@pytest.mark.parametrize(
    ("field", "url", "expected"),
    [
        ("inputSpace", "in", "spaces/user/alice/in"),
        ("inputSpace", "in/../out", "spaces/user/alice/out"),
        ("outputSpace", "{root}/spaces/global/results", "spaces/global/results"),
        ("inputSpace", "file://{root}/shared/data", "shared/data"),
        ("userSpace", "{root}/spaces/user/alice", "spaces/user/alice"),
        ("globalSpace", "file://{root}/spaces/global/sub", "spaces/global/sub"),
    ],
)
def test_folders_under_the_owners_spaces_are_allowed(
    spaces: Spaces, field: str, url: str, expected: str
) -> None:
    path = spaces.job_space(field, url.format(root=spaces.root), "alice", None)
    assert path == str(spaces.root.resolve() / expected)


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("userSpace", "{root}"),
        ("userSpace", "{root}/spaces/user/bob"),
        ("userSpace", "{root}/spaces/global"),
        ("globalSpace", "/"),
        ("globalSpace", "{root}/spaces/user/alice"),
        ("inputSpace", "../bob"),
        ("inputSpace", "file://{root}/spaces/user/alice/%2e%2e/bob"),
        ("outputSpace", "{root}/spaces/user/alice-evil"),
        ("inputSpace", "/etc"),
        ("outputSpace", "link/inside"),
    ],
)
def test_any_other_folder_is_refused_with_the_field(spaces: Spaces, field: str, url: str) -> None:
    (spaces.root / "spaces/user/alice/link").symlink_to(spaces.root / "spaces/user/bob")
    with pytest.raises(SchedulerError, match=field):
        spaces.job_space(field, url.format(root=spaces.root), "alice", None)


def test_without_confinement_any_folder_goes_relative_to_the_workflow_file(tmp_path: Path) -> None:
    free = Spaces(tmp_path, None)
    assert free.job_space("inputSpace", "/etc", "alice", None) == "/etc"
    assert free.job_space("inputSpace", "in", "alice", "/home/alice/flows") == "/home/alice/flows/in"


def test_submission_refuses_a_space_once_job_variables_are_in_it(spaces: Spaces) -> None:
    wf = workflow(task("A"), input_space="${DIR}")
    wf.variables = [Variable("DIR", "in")]
    prepare_job(wf, owner="alice", now=0, spaces=spaces)
    with pytest.raises(WorkflowError) as refused:
        prepare_job(wf, {"DIR": str(spaces.root)}, owner="alice", now=0, spaces=spaces)
    assert [p.field for p in refused.value.problems] == ["inputSpace"]

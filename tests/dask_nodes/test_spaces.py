"""Data-space files carried to and from other hosts: what the other side sends is written inside its
space only, and each way is bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runyard.errors import NodeError
from runyard.model import FileSelector, Script, ScriptExecutable
from runyard.nodes.dask_spaces import Limits, input_files, write_files
from runyard.nodes.protocol import TaskSpec


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../escape.txt", "", ".", "a\0b"])
def test_a_path_leading_out_of_its_space_is_refused(tmp_path: Path, path: str) -> None:
    space = tmp_path / "space"
    space.mkdir()
    with pytest.raises(NodeError, match="refused file path"):
        write_files(space, {path: b"x"})
    assert [p.name for p in tmp_path.iterdir()] == ["space"] and not any(space.iterdir())


def test_no_file_is_written_through_a_symbolic_link(tmp_path: Path) -> None:
    space, outside = tmp_path / "space", tmp_path / "outside"
    space.mkdir()
    outside.mkdir()
    (space / "link").symlink_to(outside)
    (space / "file-link").symlink_to(outside / "target")
    with pytest.raises(NodeError, match="symbolic link"):
        write_files(space, {"link/x.txt": b"x"})
    with pytest.raises(OSError):
        write_files(space, {"file-link": b"x"})
    assert not any(outside.iterdir())
    write_files(space, {"a/b/c.txt": b"kept"})
    assert (space / "a" / "b" / "c.txt").read_bytes() == b"kept"


def test_input_files_are_bounded_and_stay_in_their_space(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    (user / "a.txt").write_bytes(b"a" * 600)
    (user / "b.txt").write_bytes(b"b" * 600)
    os.symlink("/etc/hostname", user / "c.txt")
    spec = TaskSpec(
        job_id="1", job_name="j", task_id="1t1", task_name="T", execution=1, owner="o", iteration=0,
        replication=0, variables={}, generic_information={},
        executable=ScriptExecutable(Script("cpython", code="pass")), userspace=str(user),
        input_files=[FileSelector(["a.txt"], access_mode="transferFromUserSpace")],
    )  # fmt: skip
    assert input_files(spec, Limits(max_bytes=1000)) == {"userspace": {"a.txt": b"a" * 600}}
    spec.input_files = [FileSelector(["*.txt"], excludes=["c.txt"], access_mode="transferFromUserSpace")]
    with pytest.raises(NodeError, match="over 1000 bytes"):
        input_files(spec, Limits(max_bytes=1000))
    with pytest.raises(NodeError, match="over 1 files"):
        input_files(spec, Limits(max_files=1))
    spec.input_files = [FileSelector(["c.txt"], access_mode="transferFromUserSpace")]
    with pytest.raises(NodeError, match="leads out of the userspace"):
        input_files(spec, Limits())

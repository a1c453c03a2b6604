from __future__ import annotations

from pathlib import Path

import pytest

from runyard.errors import NodeError
from runyard.model import FileSelector
from runyard.nodes.dataspaces import DataSpaces, glob_regex, matching_files, transfer_inputs


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.txt", "a.txt", True),
        ("*.txt", "dir/a.txt", False),
        ("**/*.txt", "a.txt", True),
        ("**/*.txt", "x/y/a.txt", True),
        ("dir/**", "dir/x/y", True),
        ("titi*", "titi-1", True),
        ("?.csv", "ab.csv", False),
        ("{a,b}.py", "b.py", True),
        ("{a,b}.py", "c.py", False),
        ("[ab]1", "b1", True),
        ("[!ab]1", "b1", False),
        ("a.b", "axb", False),
    ],
)
def test_glob(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_regex(pattern).fullmatch(path)) is matches


def test_matching_files(tmp_path: Path) -> None:
    for name in ("a.txt", "d/b.txt", "d/e/c.txt", "d/x.log"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    assert matching_files(tmp_path, ["**/*.txt"], ["d/e/**"]) == ["a.txt", "d/b.txt"]


def test_missing_space_and_unknown_mode(tmp_path: Path) -> None:
    spaces = DataSpaces(localspace=str(tmp_path))
    with pytest.raises(NodeError, match="this task has no userspace"):
        transfer_inputs([FileSelector(["*"], [], "transferFromUserSpace")], spaces)
    with pytest.raises(NodeError, match="unknown input file access mode 'fromNowhere'"):
        transfer_inputs([FileSelector(["*"], [], "fromNowhere")], spaces)

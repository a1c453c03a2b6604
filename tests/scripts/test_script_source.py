from __future__ import annotations

from pathlib import Path

import pytest

from runyard.errors import ScriptError
from runyard.model import Script
from runyard.scripts import Bindings, load_source, run_script


def test_inline_code_is_labelled() -> None:
    source = load_source(Script(code="x = 1"), label="<main script of T>", variables={})
    assert (source.text, source.origin) == ("x = 1", "<main script of T>")


def test_relative_file_resolves_against_the_workflow_folder(tmp_path: Path, bindings: Bindings) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "job.py").write_text("result = variables['NAME']")
    output = run_script(Script(file="lib/job.py"), bindings, label="x", source_dir=str(tmp_path))
    assert output.values == {"result": "world"}


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=f"script file not found: {tmp_path}/nope.py"):
        load_source(Script(file="nope.py"), label="x", variables={}, source_dir=str(tmp_path))


def test_url_is_substituted_then_fetched(tmp_path: Path) -> None:
    (tmp_path / "remote.sh").write_text("echo remote")
    source = load_source(Script(url="file://${DIR}/remote.sh"), label="x", variables={"DIR": str(tmp_path)})
    assert (source.text, source.origin) == ("echo remote", f"file://{tmp_path}/remote.sh")


def test_unreachable_url(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=f"cannot fetch script file://{tmp_path}/missing.py"):
        load_source(Script(url=f"file://{tmp_path}/missing.py"), label="x", variables={})

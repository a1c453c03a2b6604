"""bash, shell and native commands: bindings as environment variables, exit code as result."""

from __future__ import annotations

import dataclasses
import os
import pickle
import signal
from pathlib import Path

import pytest

from runyard.errors import ScriptError
from runyard.model import NativeExecutable, Script
from runyard.scripts import Bindings, ParentTaskResult, ScriptFailure, run_native, run_script


def bash(
    code: str, bindings: Bindings, arguments: list[str] | None = None, language: str = "bash"
) -> int | None:
    output = run_script(
        Script(language=language, code=code, arguments=arguments or []), bindings, label="<t>"
    )
    assert output.values is None
    return output.exit_code


def test_bindings_are_environment_variables(bindings: Bindings, tmp_path: Path) -> None:
    bindings.results = [ParentTaskResult("A", pickle.dumps(7)), ParentTaskResult("B", None, error="x")]
    out = tmp_path / "out.txt"
    code = (
        f'echo "$variables_NAME|$genericInformation_GI_KEY|$credentials_SECRET|$results_0|$results_1|'
        f'$args_0|$1|$2|$(pwd)|$localspace" > {out}'
    )
    assert bash(code, bindings, arguments=["${NAME}", "two words"]) == 0
    local = bindings.localspace
    assert out.read_text() == f"world|gi-value|s3cret|7||world|world|two words|{local}|{local}\n"


def test_exit_code(bindings: Bindings) -> None:
    assert bash("exit 3", bindings) == 3
    assert bash("kill -9 $$", bindings) == 128 + 9


def test_variables_file_sets_variables_and_is_removed(bindings: Bindings) -> None:
    assert (
        bash('echo "A=1" > .variables\necho "# note" >> .variables\necho "B=x=y" >> .variables', bindings)
        == 0
    )
    assert bindings.variables["A"] == "1"
    assert bindings.variables["B"] == "x=y"
    assert not Path(bindings.localspace, ".variables").exists()


def test_bad_variables_file_line(bindings: Bindings) -> None:
    with pytest.raises(ScriptFailure, match=r"\.variables:1: expected a KEY=VALUE line, got 'oops'"):
        bash("echo oops > .variables", bindings)


def test_shell_needs_a_shebang(bindings: Bindings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert bash(f'#!/bin/sh\necho "$1 $variables_NAME" > {out}\nexit 4', bindings, ["hi"], "shell") == 4
    assert out.read_text() == "hi world\n"
    with pytest.raises(ScriptError, match="must start with a shebang"):
        bash("echo no", bindings, language="shell")


def test_native_command(bindings: Bindings, tmp_path: Path) -> None:
    out = tmp_path / "native.txt"
    command = NativeExecutable("sh", ["-c", f'echo "$0 $variables_COUNT" > {out}; exit 5', "${NAME}"])
    assert run_native(command, bindings).exit_code == 5
    assert out.read_text() == "world 3\n"


def test_native_command_working_dir_is_localspace_by_default(bindings: Bindings, tmp_path: Path) -> None:
    out = tmp_path / "pwd.txt"
    assert run_native(NativeExecutable("sh", ["-c", f"pwd > {out}"]), bindings).exit_code == 0
    assert out.read_text().strip() == bindings.localspace
    with pytest.raises(ScriptFailure, match="working folder not found: /no/such"):
        run_native(NativeExecutable("true", working_dir="/no/such"), bindings)


def test_native_command_not_found(bindings: Bindings) -> None:
    with pytest.raises(ScriptFailure, match="command not found: no-such-command-xyz"):
        run_native(NativeExecutable("no-such-command-xyz"), bindings)


def test_command_that_cannot_be_executed(bindings: Bindings, tmp_path: Path) -> None:
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(ScriptFailure, match=r"command cannot be executed \(permission denied\): .*/not-exec"):
        run_native(NativeExecutable(str(script)), bindings)


def test_working_folder_applies_to_the_command_only(bindings: Bindings, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "run.sh").write_text("#!/bin/sh\nexit 6\n")
    (folder / "run.sh").chmod(0o755)
    before = os.getcwd()
    assert run_native(NativeExecutable("./run.sh", working_dir=str(folder)), bindings).exit_code == 6
    assert os.getcwd() == before


def test_signals_python_ignores_have_their_default_action(bindings: Bindings) -> None:
    assert bash("kill -PIPE $$", bindings) == 128 + signal.SIGPIPE


def test_script_files_are_not_left_behind(bindings: Bindings) -> None:
    assert bash("ls -A > listing", bindings) == 0
    listing = Path(bindings.localspace, "listing").read_text().split()
    assert len(listing) == 2 and listing[0].startswith(".runyard-script-") and listing[1] == "listing"
    assert sorted(os.listdir(bindings.localspace)) == ["listing"]
    nowhere = dataclasses.replace(bindings, localspace="")
    assert bash('case "$0" in /*/.runyard-script-*.sh) exit 0;; esac; exit 1', nowhere) == 0
    assert sorted(os.listdir(bindings.localspace)) == ["listing"]

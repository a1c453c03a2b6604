"""``Rscript`` runs ``runner.R``, which reads the bindings from a JSON file, runs the script in R's
global environment and writes the output bindings back as JSON (see docs/scripts.md, "R").

The script is a child process of the task process, like a bash script: a kill or a walltime of the
task kills it with the task's process group, and what it prints goes to the task log.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from runyard.scripts.bindings import Bindings, ParentTaskResult
from runyard.scripts.engine import ScriptFailure, ScriptOutput, ScriptSource
from runyard.scripts.process import run_process
from runyard.scripts.values import json_mapping, to_json_value

RUNNER = Path(__file__).with_name("runner.R")

#: The environment variables naming R's library folders, besides its own.
R_LIBRARY_VARIABLES = ("R_LIBS", "R_LIBS_USER", "R_LIBS_SITE")

#: The maps an R script may change (``variables[["K"]] <- v``); its changes are set back.
WRITABLE_MAPS = (("variables", "variables"), ("resultMap", "result_map"))


class REngine:
    """``Rscript --vanilla runner.R``: R's own start-up files are not read, as in ProActive."""

    def unavailable(self) -> str | None:
        rscript = shutil.which("Rscript")
        if rscript is None:
            return "Rscript is not installed (Debian package r-base-core)"
        if not _has_jsonlite(rscript):
            return "the R package jsonlite is not installed (Debian package r-cran-jsonlite)"
        return None

    def run(self, source: ScriptSource, bindings: Bindings) -> ScriptOutput:
        with _exchange_folder(bindings) as files:
            files.inputs.write_text(json.dumps(_inputs(bindings)), encoding="utf-8")
            files.script.write_text(source.text, encoding="utf-8")
            argv = ["Rscript", "--vanilla", str(RUNNER), str(files.inputs), str(files.script), source.origin]
            code = run_process([*argv, str(files.outputs)], _folders_only(bindings)).exit_code or 0
            returned = _read_outputs(files.outputs)
        if returned is None:
            if code > 128:
                raise ScriptFailure(f"the R process was killed by signal {code - 128}")
            raise ScriptFailure(f"the R script ended (exit code {code}) without writing its outputs")
        values = _apply(returned, bindings)
        if returned.get("error") is not None:
            raise ScriptFailure(str(returned["error"]))
        if code != 0:
            raise ScriptFailure(f"script exited with quit(status = {code})")
        return ScriptOutput(values=values)


def _folders_only(bindings: Bindings) -> Bindings:
    """What R's environment holds of the bindings: the folders. The rest is in the JSON file, since
    an environment variable holds at most 128 KiB and a variable's value may hold more."""
    folders = ("localspace", "userspace", "globalspace", "cachespace", "inputspace", "outputspace")
    return Bindings(**{name: getattr(bindings, name) for name in folders})


def _inputs(bindings: Bindings) -> dict[str, Any]:
    """The bindings as JSON values: maps as objects, ``results`` by parent task name."""
    names = {name: _json(value) for name, value in bindings.as_names().items()}
    names["results"] = {parent.task_name: _parent_value(parent) for parent in bindings.results}
    names["resultMetadata"] = {}
    return names


def _json(value: Any) -> Any:
    return json_mapping(value) if isinstance(value, Mapping) else to_json_value(value)


def _parent_value(parent: ParentTaskResult) -> Any:
    """A parent's result as JSON (its text if it is not JSON), ``None`` if that parent failed."""
    if parent.hadException():
        return None
    try:
        return to_json_value(parent.value())
    except Exception as error:
        raise ScriptFailure(
            f"the result of parent task {parent.task_name!r} cannot be read: {error}"
        ) from None


@dataclass(frozen=True)
class _Files:
    inputs: Path
    script: Path
    outputs: Path


@contextmanager
def _exchange_folder(bindings: Bindings) -> Iterator[_Files]:
    """A private folder (in localspace, so nothing is left behind even if the task is killed) for the
    bindings, the script and the outputs; removed afterwards."""
    parent = bindings.localspace or _temporary_folder()
    folder = Path(parent, f".runyard-r-{os.urandom(8).hex()}")
    folder.mkdir(mode=0o700)
    try:
        yield _Files(folder / "bindings.json", folder / "script.R", folder / "outputs.json")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _temporary_folder() -> str:
    import tempfile  # here: its import of random adds an after-fork hook to every task process

    return tempfile.gettempdir()


def _read_outputs(path: Path) -> dict[str, Any] | None:
    """What the runner wrote; ``None`` if it wrote nothing (R was killed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ScriptFailure(f"the outputs of the R script cannot be read: {error}") from None
    try:
        returned = json.loads(text)
    except ValueError as error:
        raise ScriptFailure(f"the outputs of the R script are not JSON: {error}") from None
    if not isinstance(returned, dict) or not all(
        isinstance(returned.get(part, {}), dict) for part in ("maps", "values")
    ):
        raise ScriptFailure("the outputs of the R script are not an object of maps and values")
    return returned


def _apply(returned: dict[str, Any], bindings: Bindings) -> dict[str, Any]:
    """Set the variables and resultMap entries the script set (the runner leaves out those it did not
    touch); the output bindings, as a cpython script's."""
    maps = returned.get("maps", {})
    for name, attribute in WRITABLE_MAPS:
        changed = maps.get(name)
        if isinstance(changed, dict):
            getattr(bindings, attribute).update(changed)
    values: dict[str, Any] = dict(returned.get("values", {}))
    metadata = maps.get("resultMetadata")
    if isinstance(metadata, dict) and metadata:
        values["resultMetadata"] = metadata
    return values


def _has_jsonlite(rscript: str) -> bool:
    """Whether R finds jsonlite: looked for in R's usual library folders (no R started), else R is asked."""
    home = Path(rscript).resolve().parent.parent / "lib" / "R"
    named = [part for name in R_LIBRARY_VARIABLES for part in os.environ.get(name, "").split(":")]
    folders = [*named, "/usr/local/lib/R/site-library", str(home / "site-library"), str(home / "library")]
    if any(folder and os.path.isfile(os.path.join(folder, "jsonlite", "DESCRIPTION")) for folder in folders):
        return True
    return _r_finds_jsonlite(rscript)


@cache
def _r_finds_jsonlite(rscript: str) -> bool:
    import subprocess  # here: see process._spawn

    check = 'quit(status = if (requireNamespace("jsonlite", quietly = TRUE)) 0 else 1)'
    try:
        answer = subprocess.run([rscript, "--vanilla", "-e", check], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return answer.returncode == 0

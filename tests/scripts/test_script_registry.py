from __future__ import annotations

import pytest

from runyard.errors import ScriptError
from runyard.model import Script
from runyard.scripts import (
    Bindings,
    ScriptOutput,
    ScriptSource,
    get_engine,
    known_languages,
    register,
    resolve_language,
    run_script,
)
from runyard.scripts.registry import LanguageUnavailable


def test_builtin_languages() -> None:
    assert {"cpython", "python", "bash", "shell"} <= known_languages()
    assert get_engine("python") is get_engine("cpython")


@pytest.mark.parametrize(
    ("script", "language"),
    [
        (Script(language="cpython", code="x"), "cpython"),
        (Script(language="Bash", code="x"), "bash"),
        (Script(file="scripts/do.py"), "cpython"),
        (Script(file="do.SH"), "bash"),
        (Script(url="http://host/catalog/run.py?raw=1"), "cpython"),
        (Script(language="shell", file="x.py"), "shell"),
    ],
)
def test_resolve_language(script: Script, language: str) -> None:
    assert resolve_language(script) == language


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (Script(language="cobol", code="x"), "unknown script language 'cobol'"),
        (Script(code="print(1)"), "must declare its language"),
        (Script(file="tool.rb"), "'tool.rb' is in ruby, which runyard cannot run"),
        (Script(url="http://host/buckets/b/resources/Name/raw"), "cannot tell the language"),
    ],
)
def test_resolve_language_errors(script: Script, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        resolve_language(script)


def test_unknown_engine_names_the_language() -> None:
    with pytest.raises(ScriptError, match=r"language 'klingon' \(runyard runs: .*bash, cpython"):
        get_engine("klingon")
    with pytest.raises(LanguageUnavailable, match=r"perl scripts cannot run here: runyard has no perl"):
        get_engine("perl")


class _Upper:
    def run(self, source: ScriptSource, bindings: Bindings) -> ScriptOutput:
        return ScriptOutput(values={"result": source.text.upper() + "/" + ",".join(bindings.args)})


def test_register_a_new_engine() -> None:
    register("upper-test", _Upper(), extensions=[".upper"])
    assert "upper-test" in known_languages()
    assert resolve_language(Script(file="a.upper")) == "upper-test"
    output = run_script(
        Script(language="upper-test", code="abc", arguments=["${X}"]),
        Bindings(),
        label="<test>",
    )
    assert output.values == {"result": "ABC/${X}"}

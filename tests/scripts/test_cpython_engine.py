from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from runyard.model import Script
from runyard.scripts import Bindings, ParentTaskResult, ScriptFailure, TaskResultError, run_script


def run(code: str, bindings: Bindings, arguments: list[str] | None = None) -> dict[str, object]:
    output = run_script(
        Script(language="cpython", code=code, arguments=arguments or []), bindings, label="<main script of T>"
    )
    assert output.values is not None and output.exit_code is None
    return output.values


def test_variables_get_put_and_index(bindings: Bindings) -> None:
    run(
        "variables.put('GREETING', 'hello ' + variables.get('NAME'))\n"
        "variables['N'] = int(variables['COUNT']) + 1\n"
        "assert variables.get('MISSING') is None and variables.containsKey('NAME')\n",
        bindings,
    )
    assert bindings.variables["GREETING"] == "hello world"
    assert bindings.variables["N"] == 4


def test_results_value_unpickles_parent_results(bindings: Bindings) -> None:
    bindings.results = [ParentTaskResult("A", pickle.dumps({"k": [1, 2]})), ParentTaskResult("B", None)]
    values = run("result = (results[0].value()['k'], results[1].value(), results[0].getTaskName())", bindings)
    assert values["result"] == ([1, 2], None, "A")


def test_value_of_a_faulty_parent_raises(bindings: Bindings) -> None:
    bindings.results = [ParentTaskResult("A", None, error="boom")]
    with pytest.raises(ScriptFailure, match="TaskResultError: parent task 'A' failed: boom"):
        run("results[0].value()", bindings)
    assert bindings.results[0].hadException()
    with pytest.raises(TaskResultError):
        bindings.results[0].value()


def test_other_bindings(bindings: Bindings) -> None:
    values = run(
        "resultMap.put('out', 1)\n"
        "result = [genericInformation.get('GI_KEY'), credentials['SECRET'], args, localspace, userspace,"
        " globalspace, __name__]\n",
        bindings,
        arguments=["${NAME}", "$credentials_SECRET", "${UNKNOWN}"],
    )
    assert bindings.result_map == {"out": 1}
    assert values["result"] == [
        "gi-value",
        "s3cret",
        ["world", "s3cret", "${UNKNOWN}"],
        bindings.localspace,
        bindings.userspace,
        bindings.globalspace,
        "__main__",
    ]


def test_code_is_not_substituted(bindings: Bindings) -> None:
    assert run("result = '${NAME}'", bindings)["result"] == "${NAME}"


def test_output_bindings_and_functions_see_bindings(bindings: Bindings) -> None:
    values = run(
        "def name():\n    return variables['NAME']\nselected = name() == 'world'\nbranch = 'else'\nruns = 2",
        bindings,
    )
    assert values == {"selected": True, "branch": "else", "runs": 2}


def test_post_style_result_binding_is_passed_in_and_can_be_replaced(bindings: Bindings) -> None:
    bindings.extra = {"result": 41}
    assert run("result = result + 1", bindings)["result"] == 42
    assert run("pass", bindings)["result"] == 41


def test_exception_gives_the_user_traceback(bindings: Bindings) -> None:
    with pytest.raises(ScriptFailure) as caught:
        run("x = 1\ndef f():\n    raise ValueError('bad value')\nf()\n", bindings)
    text = str(caught.value)
    assert 'File "<main script of T>", line 4' in text
    assert "raise ValueError('bad value')" in text
    assert text.endswith("ValueError: bad value")
    assert "cpython.py" not in text


def test_a_script_failure_raised_on_purpose_is_its_message_alone(bindings: Bindings) -> None:
    code = "from runyard.scripts import ScriptFailure\ndef f():\n    raise ScriptFailure('T: no x')\nf()"
    with pytest.raises(ScriptFailure) as caught:
        run(code, bindings)
    assert str(caught.value) == "T: no x"


def test_syntax_error(bindings: Bindings) -> None:
    with pytest.raises(ScriptFailure, match="SyntaxError"):
        run("def (", bindings)


def test_sys_exit(bindings: Bindings) -> None:
    assert run("import sys\nresult = 1\nsys.exit(0)\nresult = 2", bindings)["result"] == 1
    with pytest.raises(ScriptFailure, match=r"sys.exit\(3\)"):
        run("import sys\nsys.exit(3)", bindings)


def test_python_language_is_cpython(bindings: Bindings, tmp_path: Path) -> None:
    output = run_script(
        Script(language="python", code="import sys\nresult = sys.implementation.name"), bindings, label="x"
    )
    assert output.values == {"result": "cpython"}

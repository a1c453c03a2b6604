"""The groovy and javascript engines in this process: the binding contract, errors, System.exit, what
does not leak from one execution to the next, the task-side API bridge. One JVM serves the module
(its folder is the module's "job" folder, as on a node)."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard.errors import ScriptError
from runyard.model import Script
from runyard.scripts import (
    Bindings,
    JavaMap,
    ParentTaskResult,
    ScriptFailure,
    get_engine,
    run_script,
)
from runyard.scripts.jvm import launcher, session

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def job_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("job")


@pytest.fixture
def bindings(job_folder: Path) -> Bindings:
    localspace = job_folder / f"localspace-{next(_numbers)}"
    localspace.mkdir()
    return Bindings(
        variables=JavaMap({"NAME": "world", "COUNT": "3", "PA_TASK_ITERATION": 2}),
        generic_information=JavaMap({"GI_KEY": "gi-value"}),
        credentials=JavaMap({"SECRET": "s3cret"}),
        localspace=str(localspace),
        userspace=str(job_folder / "user"),
        globalspace=str(job_folder / "global"),
        cachespace=str(job_folder / "cache"),
    )


def run(language: str, code: str, bindings: Bindings, arguments: list[str] | None = None) -> dict[str, Any]:
    script = Script(language=language, code=code, arguments=arguments or [])
    output = run_script(script, bindings, label="<main script of T>")
    assert output.values is not None and output.exit_code is None
    return output.values


def groovy(code: str, bindings: Bindings, arguments: list[str] | None = None) -> dict[str, Any]:
    return run("groovy", code, bindings, arguments)


def javascript(code: str, bindings: Bindings) -> dict[str, Any]:
    return run("javascript", code, bindings)


# -- the binding contract ----------------------------------------------------------------------


def test_variables_get_put_index_and_contains_key(bindings: Bindings) -> None:
    groovy(
        "variables.put('GREETING', 'hello ' + variables.get('NAME'))\n"
        "variables['N'] = Integer.parseInt(variables['COUNT']) + 1\n"
        "assert variables.get('MISSING') == null && variables.containsKey('NAME')\n"
        "variables.remove('COUNT')\n",
        bindings,
    )
    assert bindings.variables["GREETING"] == "hello world"
    assert bindings.variables["N"] == 4
    assert "COUNT" not in bindings.variables
    assert bindings.variables["PA_TASK_ITERATION"] == 2  # numbers stay numbers


def test_results_value_decodes_parent_results(bindings: Bindings) -> None:
    bindings.results = [
        ParentTaskResult("A", pickle.dumps({"k": [1, 2]})),
        ParentTaskResult("B", None),
        ParentTaskResult("C", pickle.dumps({1, 2})),  # not JSON: its repr
        ParentTaskResult("D", pickle.dumps(b"\x00\xff")),
    ]
    values = groovy(
        "result = [results[0].value()['k'], results[1].value(), results[2].value(),"
        " results[0].getTaskName(), results[0].hadException(), results.size(),"
        " (results[3].value() as byte[]).length]",
        bindings,
    )
    assert values["result"] == [[1, 2], None, "{1, 2}", "A", False, 4, 2]


def test_value_of_a_faulty_parent_throws(bindings: Bindings) -> None:
    bindings.results = [ParentTaskResult("A", None, error="boom")]
    values = groovy("assert results[0].hadException()\nresult = results[0].toString()", bindings)
    assert values["result"] == ""
    with pytest.raises(ScriptFailure, match="parent task 'A' failed: boom"):
        groovy("results[0].value()", bindings)


def test_other_bindings(bindings: Bindings) -> None:
    values = groovy(
        "resultMap.put('out', 1)\n"
        "resultMetadata.put('content.type', 'text/plain')\n"
        "result = [genericInformation.get('GI_KEY'), credentials['SECRET'], args as List, args.length,"
        " localspace, userspace, globalspace, cachespace, nodesurl]\n",
        bindings,
        arguments=["${NAME}", "$credentials_SECRET"],
    )
    assert bindings.result_map == {"out": 1}
    assert values["resultMetadata"] == {"content.type": "text/plain"}
    assert values["result"] == [
        "gi-value",
        "s3cret",
        ["world", "s3cret"],
        2,
        bindings.localspace,
        bindings.userspace,
        bindings.globalspace,
        bindings.cachespace,
        [],
    ]


def test_output_bindings_are_those_the_script_set(bindings: Bindings) -> None:
    values = groovy(
        "selected = variables.NAME == 'world'\nbranch = 'else'\nruns = 2\ndef local = 5", bindings
    )
    assert values == {"selected": True, "branch": "else", "runs": 2, "resultMetadata": {}}


def test_post_and_flow_scripts_get_the_result_and_can_replace_it(bindings: Bindings) -> None:
    bindings.extra = {"result": 41}
    assert groovy("result = result + 1", bindings)["result"] == 42
    bindings.extra = {"result": {"a": [1]}}
    assert javascript("result = result.get('a').get(0) + 1", bindings)["result"] == 2


def test_selection_bindings(bindings: Bindings) -> None:
    bindings.extra = {
        "nodename": "local-1",
        "nodeurl": "local://local-1",
        "nodehost": "h",
        "nodeTokens": ["gpu"],
    }
    values = groovy(
        "selected = nodename == 'local-1' && nodeTokens.contains('gpu') && nodehost == 'h'", bindings
    )
    assert values["selected"] is True


def test_non_json_outputs_come_back_as_text(bindings: Bindings) -> None:
    values = groovy(
        "result = new File('/tmp')\nvariables.put('when', new Date(0).getClass().getName())\n"
        "variables.put('gstring', \"${variables.NAME}!\")",
        bindings,
    )
    assert values["result"] == "/tmp"
    assert bindings.variables["when"] == "java.util.Date"
    assert bindings.variables["gstring"] == "world!"


def test_bytes_results_stay_bytes(bindings: Bindings) -> None:
    assert groovy("result = 'hi'.getBytes('UTF-8')", bindings)["result"] == b"hi"


# -- JavaScript ----------------------------------------------------------------------------------


def test_javascript_bindings_and_java_classes(bindings: Bindings) -> None:
    bindings.results = [ParentTaskResult("A", pickle.dumps(7))]
    values = javascript(
        "variables.put('GREETING', 'hello ' + variables.get('NAME'));\n"
        "variables['INDEXED'] = variables['COUNT'] + '!';\n"
        "var File = Java.type('java.io.File');\n"
        "var home = new java.io.File(localspace);\n"
        "result = [results[0].value() + 1, results.length, home.isDirectory(), new File('/').exists(),"
        " java.lang.System.getProperty('file.encoding'), variables.get('PA_TASK_ITERATION') < 5];\n"
        "print('from', 'js');\n"
        "loop = variables.get('PA_TASK_ITERATION') < 5;\n",
        bindings,
    )
    assert values["result"] == [8, 1, True, True, "UTF-8", True]
    assert values["loop"] is True
    assert bindings.variables["GREETING"] == "hello world"
    assert bindings.variables["INDEXED"] == "3!"


def test_javascript_errors_name_the_line(bindings: Bindings) -> None:
    with pytest.raises(ScriptFailure, match=r"<main script of T>#2"):
        javascript("var a = 1;\nthis is not javascript", bindings)
    with pytest.raises(ScriptFailure, match=r"boom.*<main script of T>#3"):
        javascript("var a = 1;\n\nthrow new Error('boom');", bindings)
    with pytest.raises(ScriptFailure, match=r"System.exit\(4\)"):
        javascript("java.lang.System.exit(4)", bindings)
    assert javascript("result = 1", bindings)["result"] == 1


# -- errors and exits --------------------------------------------------------------------------


def test_syntax_error_names_the_script_and_line(bindings: Bindings) -> None:
    with pytest.raises(ScriptFailure) as failure:
        groovy("def a = 1\ndef b = (\n", bindings)
    assert "<main script of T>: 3" in str(failure.value)
    assert "RunyardScript" not in str(failure.value)


def test_exception_names_its_class_message_and_line(bindings: Bindings) -> None:
    with pytest.raises(ScriptFailure) as failure:
        groovy("def a = 1\n\nthrow new IllegalStateException('bad state')", bindings)
    text = str(failure.value)
    assert text.startswith("java.lang.IllegalStateException: bad state")
    assert "<main script of T>, line 3" in text


def test_system_exit_ends_the_script_and_not_the_jvm(bindings: Bindings) -> None:
    values = groovy("variables.put('before', 1)\nSystem.exit(0)\nvariables.put('after', 1)", bindings)
    assert bindings.variables["before"] == 1 and "after" not in bindings.variables
    assert values["resultMetadata"] == {}
    with pytest.raises(ScriptFailure, match=r"script exited with System.exit\(2\)"):
        groovy("System.exit(2)", bindings)
    with pytest.raises(ScriptFailure, match=r"System.exit\(9\)"):
        groovy("Runtime.getRuntime().halt(9)", bindings)
    assert groovy("result = 'still here'", bindings)["result"] == "still here"


def test_output_goes_to_the_process_output_in_order(
    bindings: Bindings, capfd: pytest.CaptureFixture[str]
) -> None:
    print("python first", flush=True)
    groovy("println 'groovy out'\nSystem.err.println('groovy err')\nprint 'no newline'", bindings)
    print("python last", flush=True)
    captured = capfd.readouterr()
    assert (
        captured.out.index("python first")
        < captured.out.index("groovy out")
        < captured.out.index("python last")
    )
    assert "no newline" in captured.out
    assert "groovy err" in captured.err


# -- nothing leaks between executions ----------------------------------------------------------


def test_script_classes_and_statics_start_fresh(bindings: Bindings) -> None:
    code = "class Counter { static int n = 0 }\nCounter.n++\nresult = Counter.n"
    assert [groovy(code, bindings)["result"] for _ in range(3)] == [1, 1, 1]


def test_system_properties_and_js_globals_start_fresh(bindings: Bindings) -> None:
    groovy("System.setProperty('runyard.left', 'behind')\nLocale.setDefault(Locale.JAPAN)", bindings)
    values = groovy("result = [System.getProperty('runyard.left'), Locale.getDefault().toString()]", bindings)
    assert values["result"][0] is None and values["result"][1] != "ja_JP"
    javascript("leaked = 1; Array.prototype.extra = 2;", bindings)
    assert javascript("result = [typeof leaked, typeof [].extra]", bindings)["result"] == [
        "undefined",
        "undefined",
    ]


# -- the task-side API bridge ------------------------------------------------------------------


class Calculator:
    """A small task-side API: what the JVM's calls reach."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def add(self, a: int, b: int) -> int:
        self.calls.append((a, b))
        return a + b

    def describe(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"keys": sorted(values), "size": len(values)}

    def fail(self) -> None:
        raise ValueError("refused on purpose")

    def _secret(self) -> str:
        return "never"


def test_api_calls_go_back_to_the_task_process(bindings: Bindings) -> None:
    calculator = Calculator()
    bindings.apis = {"calculator": calculator}
    values = groovy(
        "def caught = null\n"
        "try { calculator.fail() } catch (Exception e) { caught = e.message }\n"
        "def hidden = null\n"
        "try { calculator._secret() } catch (Exception e) { hidden = e.message }\n"
        "result = [calculator.add(2, 3), calculator.describe([b: 1, a: 2]), caught, hidden]",
        bindings,
    )
    assert values["result"] == [
        5,
        {"keys": ["a", "b"], "size": 2},
        "calculator.fail: ValueError: refused on purpose",
        "calculator has no method '_secret'",
    ]
    assert calculator.calls == [(2, 3)]
    assert javascript("result = calculator.add(40, 2)", bindings)["result"] == 42


def test_a_groovy_adapter_wraps_the_raw_bridge(
    bindings: Bindings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "calculator.groovy").write_text(
        "class calculator {\n"
        "    private final Object raw\n"
        "    calculator(Object raw) { this.raw = raw }\n"
        "    def twice(x) { raw.add(x, x) }\n"
        "    def apply(String closure, value) { Eval.me(closure).call(value) }\n"
        "}\n"
    )
    monkeypatch.setattr(session, "ADAPTERS", tmp_path)
    bindings.apis = {"calculator": Calculator()}
    values = groovy("result = [calculator.twice(21), calculator.apply('{ v -> v * 3 }', 2)]", bindings)
    assert values["result"] == [42, 6]


# -- availability -----------------------------------------------------------------------------


def test_engines_say_why_they_cannot_run(bindings: Bindings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_engine("groovy").unavailable() is None  # type: ignore[attr-defined]
    launcher.installation.cache_clear()
    monkeypatch.setenv("RUNYARD_GROOVY_JAR", "/nonexistent/groovy-all.jar")
    try:
        reason = get_engine("javascript").unavailable()  # type: ignore[attr-defined]
        assert reason is None
        with pytest.raises(ScriptError, match="groovy jar is missing"):
            groovy("result = 1", bindings)
        monkeypatch.setenv("PATH", "/nonexistent")
        launcher.installation.cache_clear()
        with pytest.raises(ScriptError, match="no java on the PATH"):
            javascript("result = 1", bindings)
    finally:
        monkeypatch.undo()
        launcher.installation.cache_clear()
    assert groovy("result = 1", bindings)["result"] == 1


@pytest.fixture(autouse=True)
def _clean_installation() -> Iterator[None]:
    yield
    launcher.installation.cache_clear()


def test_selection_utils_of_proactive_are_there(bindings: Bindings) -> None:
    values = groovy(
        "import org.ow2.proactive.scripting.helper.selection.SelectionUtils\n"
        "selected = SelectionUtils.checkOSName('linux') && !SelectionUtils.checkOSName('windows')"
        " && SelectionUtils.checkExec('sh') && SelectionUtils.checkFreeMemory(1024)"
        " && SelectionUtils.checkJavaProperty('java.version', '17.*') && SelectionUtils.checkFileExist('/')",
        bindings,
    )
    assert values["selected"] is True


def test_maps_keyed_by_numbers_keep_their_keys(bindings: Bindings) -> None:
    bindings.results = [ParentTaskResult("Split", pickle.dumps({0: "abc", 1: "def"}))]
    values = groovy("result = [results[0].value()[1], [2: 'two', 'k': 3]]", bindings)
    assert values["result"] == ["def", {2: "two", "k": 3}]


def test_a_script_declaring_nothing_keeps_its_class_and_others_get_theirs_anew(bindings: Bindings) -> None:
    stateless = "result = System.identityHashCode(getClass())"
    first, second = (groovy(stateless, bindings)["result"] for _ in range(2))
    assert first == second  # the same class: its meta class is made once
    stateful = "class Counter { static int n }\nresult = System.identityHashCode(getClass())"
    first, second = (groovy(stateful, bindings)["result"] for _ in range(2))
    assert first != second


def test_relative_paths_are_in_the_localspace(bindings: Bindings) -> None:
    values = groovy(
        "new File('relative.txt').text = 'here'\n"
        "result = [new File('relative.txt').absolutePath, System.getProperty('user.dir')]",
        bindings,
    )
    assert values["result"] == [f"{bindings.localspace}/relative.txt", bindings.localspace]
    assert Path(bindings.localspace, "relative.txt").read_text() == "here"
    assert javascript("result = new java.io.File('relative.txt').exists()", bindings)["result"] is True


def test_scripts_and_their_commands_see_the_task_environment(
    bindings: Bindings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_TEST_VALUE", "from the task")
    code = (
        "def child = ['sh', '-c', 'echo $RUNYARD_TEST_VALUE; pwd'].execute().text.readLines()\n"
        "result = [System.getenv('RUNYARD_TEST_VALUE')] + child"
    )
    assert groovy(code, bindings)["result"] == ["from the task", "from the task", bindings.localspace]
    monkeypatch.delenv("RUNYARD_TEST_VALUE")
    assert groovy("result = System.getenv('RUNYARD_TEST_VALUE')", bindings)["result"] is None

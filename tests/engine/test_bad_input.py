"""Bad input to ``runyard run`` / ``validate`` / ``convert``: a clear error, exit 2, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.helpers import EXAMPLES, cli, cli_json

SCRIPT = '<scriptExecutable><script><code language="cpython">pass</code></script></scriptExecutable>'
GOOD_TASK = f'\n    <task name="A">{SCRIPT}</task>'


def xml(body: str, variables: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Bad">
  <variables>{variables}</variables>
  <taskFlow>{body}
  </taskFlow>
</job>
"""


def alias_bomb() -> str:
    """The classic "billion laughs" in YAML: nine anchors, each nine aliases of the previous one."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


ENTITY_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE job [<!ENTITY a "lollollollollollollollollollol">'
    + "".join(f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi", strict=True))
    + ']>\n<job xmlns="urn:proactive:jobdescriptor:3.14" name="&i;"><taskFlow/></job>\n'
)

CASES = {
    "YAML nested 30,000 deep": (
        "deep.yaml",
        "a: " + "[" * 30_000 + "]" * 30_000,
        "deep.yaml:1",
        "limit of 100 levels",
    ),
    "YAML alias bomb": ("bomb.yaml", alias_bomb(), "bomb.yaml:", "aliases expanded"),
    "XML nested 30,000 deep": (
        "deep.xml",
        xml(GOOD_TASK).replace(
            "</job>", "<metadata>" + "<x>" * 30_000 + "</x>" * 30_000 + "</metadata></job>"
        ),
        "deep.xml:",
        "limit of 100 levels",
    ),
    "XML entity bomb": ("bomb.xml", ENTITY_BOMB, "bomb.xml:", "malformed XML"),
    "malformed XML": (
        "bad.xml",
        xml(GOOD_TASK).replace("</taskFlow>", "</taskflow>"),
        "bad.xml:6",
        "malformed XML",
    ),
    "malformed YAML": (
        "bad.yaml",
        "name: Bad\ntasks:\n  A: {script: {cpython: x}\n",
        "bad.yaml:",
        "malformed YAML",
    ),
    "unknown depends": (
        "deps.xml",
        xml(GOOD_TASK + f'\n    <task name="B"><depends><task ref="Nope"/></depends>{SCRIPT}</task>'),
        "deps.xml:",
        "Nope",
    ),
    "cycle": (
        "cycle.yaml",
        "name: Cycle\ntasks:\n"
        "  A: {depends: [B], script: {cpython: pass}}\n"
        "  B: {depends: [A], script: {cpython: pass}}\n",
        "cycle.yaml:",
        "cycle",
    ),
    "duplicate task names": ("dup.xml", xml(GOOD_TASK + GOOD_TASK), "dup.xml:", "A"),
    "wrong variable value": (
        "var.xml",
        xml(GOOD_TASK, '<variable name="N" value="ten" model="PA:Integer"/>'),
        "var.xml:3",
        "'ten' is not an integer",
    ),
    "unknown language": (
        "lang.yaml",
        "name: Lang\ntasks:\n  A: {script: {language: cobol, code: DISPLAY 1}}\n",
        "lang.yaml:",
        "cobol",
    ),
    "missing script file": (
        "file.yaml",
        "name: File\ntasks:\n  A: {script: {language: cpython, file: nowhere/script.py}}\n",
        "file.yaml:",
        "does not exist",
    ),
}


def stored_jobs(data_dir: Path) -> int:
    database = data_dir / "runyard.db"
    if not database.exists():
        return 0
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_refuses_bad_workflows_with_location_and_stores_nothing(tmp_path: Path, case: str) -> None:
    name, text, where, reason = CASES[case]
    path = tmp_path / name
    path.write_text(text)
    data_dir = tmp_path / "data"
    code, out, err = cli("run", str(path), "--data-dir", str(data_dir))
    assert code == 2, (out, err)
    assert where in err and reason in err, err
    assert stored_jobs(data_dir) == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_reports_every_problem(tmp_path: Path, case: str) -> None:
    name, text, where, reason = CASES[case]
    path = tmp_path / name
    path.write_text(text)
    code, _, err = cli("validate", str(path))
    assert code != 0
    assert where in err and reason in err, err


def test_unknown_variable_override_is_refused_before_anything_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code, _, err = cli("run", str(EXAMPLES / "loop.xml"), "--var", "NOPE=1", "--data-dir", str(data_dir))
    assert code == 2
    assert "no variable 'NOPE'" in err and "ITERATIONS" in err
    assert stored_jobs(data_dir) == 0


def test_override_outside_the_model_range_is_refused(tmp_path: Path) -> None:
    code, _, err = cli("run", str(EXAMPLES / "loop.xml"), "--var", "ITERATIONS=1000")
    assert code == 2
    assert "ITERATIONS" in err and "1000" in err


def test_var_without_equal_sign_is_a_usage_error() -> None:
    code, _, err = cli("run", str(EXAMPLES / "loop.xml"), "--var", "ITERATIONS")
    assert code == 2 and "KEY=VALUE" in err


def test_missing_workflow_file(tmp_path: Path) -> None:
    code, _, err = cli("run", str(tmp_path / "absent.xml"))
    assert code == 2 and "absent.xml" in err


def test_a_faulty_task_makes_run_exit_one(tmp_path: Path) -> None:
    path = tmp_path / "fails.yaml"
    path.write_text("name: Fails\ntasks:\n  A: {script: {bash: exit 4}}\n")
    code, out, _ = cli("run", str(path))
    assert code == 1 and "FAULTY" in out


def test_validate_accepts_the_examples() -> None:
    code, out, _ = cli("validate", *[str(p) for p in sorted(EXAMPLES.iterdir())])
    assert code == 0 and out.count("valid") == 5


def test_convert_round_trips_between_xml_and_yaml(tmp_path: Path) -> None:
    yaml_path, xml_path = tmp_path / "loop.yaml", tmp_path / "loop.xml"
    assert cli("convert", str(EXAMPLES / "loop.xml"), str(yaml_path))[0] == 0
    assert "loop:" in yaml_path.read_text()
    assert cli("convert", str(yaml_path), str(xml_path))[0] == 0
    assert cli("validate", str(xml_path))[0] == 0
    code, _, err = cli("convert", str(EXAMPLES / "loop.xml"), str(tmp_path / "loop.txt"))
    assert code == 2 and ".txt" in err


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/none", "not a url"])
def test_an_unreachable_or_malformed_store_is_a_clear_error(tmp_path: Path, url: str) -> None:
    code, _, err = cli(
        "run", str(EXAMPLES / "hello.yaml"), "--data-dir", str(tmp_path), "--database-url", url
    )
    assert code == 2
    assert "cannot open the store" in err


def test_run_refuses_a_walltime_over_the_default_max_walltime(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text('name: Long\ntasks:\n  A: {walltime: "99999999:00:00", script: {cpython: pass}}\n')
    code, _, err = cli("run", str(path), "--data-dir", str(tmp_path / "data"))
    assert code == 2 and "max_walltime" in err, err
    assert stored_jobs(tmp_path / "data") == 0


def test_run_fails_a_job_whose_replicate_asks_1e300_runs(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(
        "name: Bomb\ntasks:\n"
        "  Split: {script: {cpython: pass}, flow: {replicate: {script: {cpython: runs = 1e300}}}}\n"
        "  Process: {depends: [Split], script: {cpython: pass}}\n"
        "  Merge: {depends: [Process], script: {cpython: pass}}\n"
    )
    code, report = cli_json("run", str(path))
    assert code == 1 and report["status"] == "FAILED"
    assert len(report["tasks"]) == 3
    assert "max_replicas" in report["tasks"][0]["error"]

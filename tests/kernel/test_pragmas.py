"""How a cell's pragma line is read: the grammar, types and limits (in-process, no kernel)."""

from __future__ import annotations

from typing import Any

import pytest

from runyard.kernel.pragmas import PRAGMAS, PragmaError, help_text, read_cell


@pytest.mark.parametrize(
    ("line", "params"),
    [
        ("#%task(name=T)", {"name": "T"}),
        ("#%task( name = T , dep = [ A , B ] )", {"name": "T", "dep": ["A", "B"]}),
        ("#%task(name='my task', dep=[])", {"name": "my task", "dep": []}),
        (
            '#%task(name=T, generic_info=[(K1,V1), (K2, "a, b")])',
            {"name": "T", "generic_info": [("K1", "V1"), ("K2", "a, b")]},
        ),
        (
            '#%task(name=T, variables=[(X, "it\'s")], runs=3)',
            {"name": "T", "variables": [("X", "it's")], "runs": 3},
        ),
        (r'#%task(name="quote \" and \\ back")', {"name": 'quote " and \\ back'}),
        ("#%draw_job(inline=OFF, save=on)", {"inline": False, "save": True}),
        (
            "#%connect(url=http://127.0.0.1:8080/x, login=a, password=p@ss:w/rd)",
            {"url": "http://127.0.0.1:8080/x", "login": "a", "password": "p@ss:w/rd"},
        ),
        ("#%list_submitted_jobs", {}),
        ("#%  task(name=t1,dep=t2)", {"name": "t1", "dep": ["t2"]}),
    ],
)
def test_parameters_are_read_as_written(line: str, params: dict[str, Any]) -> None:
    cell = read_cell(line + "\nprint(1)\n")
    assert cell.params == params
    assert cell.code == "print(1)\n"


@pytest.mark.parametrize(
    ("line", "title", "message"),
    [
        ("#%task(name=T", "Parsing error", "cannot read"),
        ("#%task(name=T,, dep=[A])", "Parsing error", "expected a parameter name"),
        ("#%task(name=T, name=U)", "Parsing error", "given twice"),
        ("#%task(name=[A])", "Parameter error", "expected one value"),
        ("#%task(name=T, variables=A)", "Parameter error", "expected a list"),
        ("#%task(name=T, generic_info=[(A,B,C)])", "Parameter error", "expected pairs"),
        ("#%task(name=T, runs=-1)", "Parameter error", "expected a whole number"),
        ("#%draw_job(save=yes)", "Parameter error", "expected on or off"),
        ("#%task(name=__import__('os').system('x'))", "Parsing error", "expected ','"),
        ("#%task(name=T, dep=[" + ",".join("A" * 1001) + "])", "Parsing error", "more than 1000 values"),
        ("#% 1task()", "Parsing error", "cannot read"),
    ],
)
def test_bad_lines_are_refused_with_the_usage(line: str, title: str, message: str) -> None:
    with pytest.raises(PragmaError) as raised:
        read_cell(line)
    assert raised.value.title == title
    assert message in str(raised.value)


def test_a_cell_without_a_pragma_is_a_task_of_its_code() -> None:
    cell = read_cell("x = 1\n#%task(name=T)\n")
    assert (cell.pragma, cell.params, cell.code, cell.explicit) == (
        "task",
        {},
        "x = 1\n#%task(name=T)\n",
        False,
    )


def test_every_pragma_has_help_with_its_usage() -> None:
    for name in PRAGMAS:
        assert help_text(name).startswith(f"#%{name}(): ")
        assert f"usage: #%{name}(" in help_text(name)

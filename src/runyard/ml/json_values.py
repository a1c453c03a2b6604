"""A value inside a JSON column, as SQL text or as a number, the same on SQLite and PostgreSQL.

``JsonText(document)`` / ``JsonNumber(document)`` read the whole document (a task's result),
``JsonText(document, key)`` / ``JsonNumber(document, key)`` its member ``key`` (a job's variable).
Text is a string without its quotes, a number as written, an object or a list as JSON. A number is
a JSON number (an integer only below :data:`~runyard.ml.analytics_search.INTEGER_LIMIT`), or a
string holding one (:func:`~runyard.ml.analytics_search.is_number`: variables are strings); anything
else is NULL, never an error (PostgreSQL refuses to cast what is not a number), as
:func:`~runyard.ml.analytics_search.number` says in Python.
On SQLite a JSON number is taken as it is, without the regular expression (a call into Python).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from runyard.ml.analytics_search import INTEGER_LIMIT, NUMBER, NUMBER_LENGTH

assert "'" not in NUMBER and "%" not in NUMBER  # written into the SQL text as it is
_PATTERN = f"'{NUMBER}'"
_LIMIT = f"{INTEGER_LIMIT:.0e}"  # 1e+100


class JsonText(FunctionElement[str]):
    type = sa.Text()
    inherit_cache = True
    name = "json_text"


class JsonNumber(FunctionElement[float]):
    type = sa.Float()
    inherit_cache = True
    name = "json_number"


def _parts(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> tuple[str, str | None]:
    clauses = [compiler.process(clause, **kw) for clause in element.clauses]
    return clauses[0], clauses[1] if len(clauses) > 1 else None


def _sqlite_path(key: str | None) -> str:
    return "'$'" if key is None else f"""('$."' || {key} || '"')"""


@compiles(JsonText, "sqlite")
def _text_sqlite(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    document, key = _parts(element, compiler, **kw)
    return f"CAST(json_extract({document}, {_sqlite_path(key)}) AS TEXT)"


@compiles(JsonNumber, "sqlite")
def _number_sqlite(element: JsonNumber, compiler: SQLCompiler, **kw: Any) -> str:
    document, key = _parts(element, compiler, **kw)
    path = _sqlite_path(key)
    value = f"json_extract({document}, {path})"
    return (
        f"(CASE json_type({document}, {path}) WHEN 'real' THEN {value}"
        f" WHEN 'integer' THEN (CASE WHEN abs({value}) < {_LIMIT} THEN {value} END)"
        f" WHEN 'text' THEN (CASE WHEN length({value}) <= {NUMBER_LENGTH} AND {value} REGEXP {_PATTERN}"
        f" THEN CAST({value} AS REAL) END) END)"
    )


def _postgresql_value(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    document, key = _parts(element, compiler, **kw)
    return document if key is None else f"({document} -> CAST({key} AS TEXT))"


@compiles(JsonText, "postgresql")
def _text_postgresql(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({_postgresql_value(element, compiler, **kw)} #>> '{{}}')"


@compiles(JsonNumber, "postgresql")
def _number_postgresql(element: JsonNumber, compiler: SQLCompiler, **kw: Any) -> str:
    value = _postgresql_value(element, compiler, **kw)
    text = f"({value} #>> '{{}}')"
    number = f"CAST({text} AS DOUBLE PRECISION)"
    fits = f"({text} ~ '[.eE]' OR abs(CAST({text} AS NUMERIC)) < {_LIMIT})"  # a double, or not too large
    return (
        f"(CASE json_typeof({value}) WHEN 'number' THEN (CASE WHEN {fits} THEN {number} END)"
        f" WHEN 'string' THEN (CASE WHEN length({text}) <= {NUMBER_LENGTH} AND {text} ~ {_PATTERN}"
        f" THEN {number} END) END)"
    )

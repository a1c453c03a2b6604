"""Job Analytics queries (PML §7): metric panels, chart series and the execution table of a search.

Filtering, counting, sorting and paging run in SQL over the whole set of jobs a search finds (the
panels, the table and its total). What needs each job's values (chart series, the columns found) is
read for the newest jobs of the set only, at most ``sample`` of them; the table reads the values of
its page. A job's values are its variables (``variables.K``), its tasks' JSON results
(``results.TASK``; a result that is not JSON is left out) and its result map (``result_map.K``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.ml.analytics_search import (
    INTERRUPTED,
    JOB_COLUMNS,
    VALUE_KINDS,
    Column,
    ColumnFilter,
    Issue,
    Pattern,
    Search,
    number,
)
from runyard.ml.json_values import JsonNumber, JsonText
from runyard.model import JobStatus, TaskStatus
from runyard.store.schema import jobs, tasks

_ALIVE = [s.value for s in JobStatus if s.is_alive]
_FAILED_TASK = [s.value for s in TaskStatus if s.is_failure]
_DURATION = jobs.c.finished_at - jobs.c.started_at
_JOB_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "id": jobs.c.id,
    "name": jobs.c.name,
    "owner": jobs.c.owner,
    "project": jobs.c.project_name,
    "status": jobs.c.status,
    "submitted_at": jobs.c.submitted_at,
    "started_at": jobs.c.started_at,
    "finished_at": jobs.c.finished_at,
    "duration": _DURATION,
}
MAX_VALUE_COLUMNS = 500
"""Columns (and chart series) of each kind of value at most: the first ones by name."""


# -- the search, as SQL ------------------------------------------------------------------------------


def conditions(search: Search) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of the jobs ``search`` finds."""
    found = [
        *_matching(jobs.c.name, search.workflows),
        *_matching(jobs.c.project_name, search.projects),
        *_matching(jobs.c.owner, search.users),
    ]
    if search.statuses:
        found.append(jobs.c.status.in_([s.value for s in search.statuses]))
    if search.submitted_after is not None:
        found.append(jobs.c.submitted_at >= search.submitted_after)
    if search.submitted_before is not None:
        found.append(jobs.c.submitted_at < search.submitted_before)
    if search.issue is Issue.FINISHED_WITH_ISSUES:
        found.append(_finished_with_issues())
    elif search.issue is Issue.INTERRUPTED:
        found.append(jobs.c.status.in_([s.value for s in INTERRUPTED]))
    found.extend(_filter(f) for f in search.where)
    return found


def _finished_with_issues() -> sa.ColumnElement[bool]:
    failed = sa.select(tasks.c.job_id).where(tasks.c.status.in_(_FAILED_TASK))
    return sa.and_(jobs.c.status == JobStatus.FINISHED.value, jobs.c.id.in_(failed))


def _matching(column: sa.ColumnElement[Any], patterns: Sequence[Pattern]) -> list[sa.ColumnElement[bool]]:
    """The positive patterns OR-ed, each negated one AND-ed (a missing value matches no positive one
    and every negated one)."""
    found = [sa.or_(column.is_(None), ~_match(column, p)) for p in patterns if p.negated]
    positive = [_match(column, p) for p in patterns if not p.negated]
    if positive:
        found.append(sa.or_(*positive))
    return found


def _match(column: sa.ColumnElement[Any], pattern: Pattern) -> sa.ColumnElement[bool]:
    if not pattern.wildcard:
        return column == pattern.text
    return column.ilike(_escaped(pattern.text).replace("*", "%"), escape="\\")


def _escaped(text: str) -> str:
    """``text`` with LIKE's own wildcards (and the escape character) taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _value(column: Column, kind: type[JsonText | JsonNumber]) -> sa.ColumnElement[Any]:
    """The column's value as text or a number (``kind``); a job's columns as they are. Not for task
    results: :func:`_filter` and :func:`_ordered` read them from the task rows."""
    if column.kind == "job":
        return _JOB_COLUMNS[column.key]
    document = jobs.c.variables if column.kind == "variables" else jobs.c.result_map
    return kind(document, sa.literal(column.key))


def _filter(where: ColumnFilter) -> sa.ColumnElement[bool]:
    kind = JsonText if where.operator == "contains" else JsonNumber
    if where.column.kind == "results":  # one pass over the task's rows, not one lookup per job
        task = tasks.c.name == where.column.key
        found = sa.select(tasks.c.job_id).where(task, _compare(kind(tasks.c.result_json), where))
        return jobs.c.id.in_(found)
    return _compare(_value(where.column, kind), where)


def _compare(value: sa.ColumnElement[Any], where: ColumnFilter) -> sa.ColumnElement[bool]:
    if where.operator == "contains":
        return value.ilike(f"%{_escaped(str(where.value))}%", escape="\\")
    return value > where.value if where.operator == "gt" else value < where.value


# -- panels ------------------------------------------------------------------------------------------


def metrics(connection: sa.Connection, search: Search) -> dict[str, Any]:
    """The three panels: totals and success ratio, issues by type, mean duration (seconds)."""
    where = conditions(search)
    known_duration = sa.and_(jobs.c.started_at.is_not(None), jobs.c.finished_at.is_not(None))
    rows = connection.execute(
        sa.select(
            jobs.c.status,
            sa.func.count(),
            sa.func.sum(sa.case((known_duration, _DURATION), else_=sa.null())),
            sa.func.count(sa.case((known_duration, 1), else_=sa.null())),
            sa.func.count(sa.case((_finished_with_issues(), 1), else_=sa.null())),
        )
        .where(*where)
        .group_by(jobs.c.status)
    ).all()
    by_status = {str(status): int(count) for status, count, *_ in rows}
    total = sum(by_status.values())
    seconds = sum(float(row[2] or 0.0) for row in rows)
    timed = sum(int(row[3]) for row in rows)
    with_issues = sum(int(row[4]) for row in rows)
    interrupted = {s.value: by_status.get(s.value, 0) for s in INTERRUPTED}
    successful = by_status.get(JobStatus.FINISHED.value, 0) - with_issues
    return {
        "total": total,
        "successful": successful,
        "success_ratio": successful / total if total else None,
        "in_progress": sum(by_status.get(s, 0) for s in _ALIVE),
        "by_status": by_status,
        "issues": {
            "finished_with_issues": with_issues,
            "interrupted": sum(interrupted.values()),
            "interrupted_by_status": interrupted,
        },
        "mean_duration": seconds / timed if timed else None,
    }


# -- a job's values ----------------------------------------------------------------------------------


def _values(connection: sa.Connection, rows: Sequence[sa.RowMapping]) -> dict[int, dict[str, Any]]:
    """Job id → ``{"variables.K": v, "results.T": v, "result_map.K": v}`` for jobs read with their
    ``variables`` and ``result_map``."""
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        values = {f"variables.{k}": v for k, v in (row["variables"] or {}).items()}
        values.update({f"result_map.{k}": v for k, v in (row["result_map"] or {}).items()})
        found[row["id"]] = values
    for chunk in _chunks(list(found), 500):
        results = connection.execute(
            sa.select(tasks.c.job_id, tasks.c.name, tasks.c.result_json)
            .where(tasks.c.job_id.in_(chunk))
            .order_by(tasks.c.job_id, tasks.c.number)
        )
        for job_id, name, value in results:
            if value is not None:
                found[job_id][f"results.{name}"] = value
    return found


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


def value_columns(values: Iterable[dict[str, Any]]) -> list[str]:
    """The value columns found, by kind then name, at most :data:`MAX_VALUE_COLUMNS` of each kind."""
    names: set[str] = set()
    for job in values:
        names.update(job)
    found = []
    for kind in VALUE_KINDS:
        found += sorted(n for n in names if n.startswith(kind + "."))[:MAX_VALUE_COLUMNS]
    return found


# -- charts ------------------------------------------------------------------------------------------


def charts(connection: sa.Connection, search: Search, sample: int) -> dict[str, Any]:
    """Series over the newest ``sample`` jobs found, oldest first: each job's duration, and each value
    whose every occurrence is a number (or a text holding one); ``None`` where a job has none."""
    rows = (
        connection.execute(
            sa.select(jobs.c.id, _DURATION.label("duration"), jobs.c.variables, jobs.c.result_map)
            .where(*conditions(search))
            .order_by(jobs.c.id.desc())
            .limit(sample)
        )
        .mappings()
        .all()
    )[::-1]
    values = _values(connection, rows)
    series: dict[str, dict[str, list[float | None]]] = {kind: {} for kind in VALUE_KINDS}
    for name in value_columns(values.values()):
        numbers = [number(values[row["id"]].get(name)) for row in rows]
        present = [values[row["id"]][name] for row in rows if name in values[row["id"]]]
        if sum(n is not None for n in numbers) == len(present):
            kind, _, key = name.partition(".")
            series[kind][key] = numbers
    return {
        "job_ids": [row["id"] for row in rows],
        "duration": [row["duration"] for row in rows],
        **series,
        "columns": [*JOB_COLUMNS, "issue", *value_columns(values.values())],
    }


# -- the execution table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    column: Column
    descending: bool = True
    as_number: bool = False
    """Values compared as numbers (those that are not sort last), else as text."""


_SUMMARY = [jobs.c.variables, jobs.c.result_map, *(c.label(n) for n, c in _JOB_COLUMNS.items())]


_NEVER_NULL = frozenset({"id", "name", "owner", "status", "submitted_at"})


def _ordered(search: Search, sort: Sort) -> sa.Select[Any]:
    """The jobs found, sorted; missing values last. A task's result is joined (PostgreSQL then reads
    the task rows once rather than looking each one up), and a column never NULL is ordered as its
    index is (PostgreSQL puts NULLs first when descending: asking otherwise would sort every row)."""
    kind = JsonNumber if sort.as_number else JsonText
    source: sa.FromClause = jobs
    if sort.column.kind == "results":
        result = tasks.alias("sorted_result")
        source = jobs.outerjoin(
            result, sa.and_(result.c.job_id == jobs.c.id, result.c.name == sort.column.key)
        )
        key: sa.ColumnElement[Any] = kind(result.c.result_json)
    else:
        key = _value(sort.column, kind)
    order = key.desc() if sort.descending else key.asc()
    if sort.column.name not in _NEVER_NULL:
        order = order.nulls_last()
    tie = jobs.c.id.desc() if sort.descending else jobs.c.id.asc()
    return sa.select(*_SUMMARY).select_from(source).where(*conditions(search)).order_by(order, tie)


def executions(
    connection: sa.Connection, search: Search, sort: Sort, *, limit: int, offset: int
) -> dict[str, Any]:
    """A page of the table: its columns (the job's, ``issue``, the values found in the page) and rows.

    When the search filters on values, which means reading every job's, the page query counts the
    jobs too (a window), rather than a second query reading them all again."""
    count = sa.select(sa.func.count()).select_from(jobs).where(*conditions(search))
    if not any(f.column.kind != "job" for f in search.where):
        total = connection.execute(count).scalar_one()
        page = connection.execute(_ordered(search, sort).limit(limit).offset(offset)).mappings().all()
    else:
        counted = _ordered(search, sort).add_columns(sa.func.count().over().label("total"))
        page = connection.execute(counted.limit(limit).offset(offset)).mappings().all()
        total = page[0]["total"] if page else connection.execute(count).scalar_one() if offset else 0
    rows = list(_rows(connection, page))
    return {
        "columns": [*JOB_COLUMNS, "issue", *value_columns(rows)],
        "rows": rows,
        "total": int(total),
    }


def _rows(connection: sa.Connection, page: Sequence[sa.RowMapping]) -> Iterator[dict[str, Any]]:
    values = _values(connection, page)
    finished = [r["id"] for r in page if r["status"] == JobStatus.FINISHED.value]
    troubled: set[int] = set()
    for chunk in _chunks(finished, 500):
        failed = sa.select(tasks.c.job_id).where(tasks.c.job_id.in_(chunk), tasks.c.status.in_(_FAILED_TASK))
        troubled.update(connection.execute(failed).scalars())
    interrupted = {s.value for s in INTERRUPTED}
    for row in page:
        issue = Issue.FINISHED_WITH_ISSUES if row["id"] in troubled else None
        if row["status"] in interrupted:
            issue = Issue.INTERRUPTED
        job = {name: row[name] for name in JOB_COLUMNS}
        yield {**job, "issue": None if issue is None else issue.value, **values[row["id"]]}


def export(
    connection: sa.Connection, search: Search, sort: Sort, *, limit: int, chunk: int = 1000
) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """Every row of the table (at most ``limit``) in order, read ``chunk`` jobs at a time, with the
    columns of all of them (found first, in SQL)."""
    ordered = _ordered(search, sort).limit(limit).subquery()
    ids: list[int] = list(connection.execute(sa.select(ordered.c.id)).scalars())
    columns = [*JOB_COLUMNS, "issue", *_value_names(connection, search)]

    def rows() -> Iterator[dict[str, Any]]:
        for part in _chunks(ids, chunk):
            found = connection.execute(sa.select(*_SUMMARY).where(jobs.c.id.in_(part))).mappings().all()
            by_id = {row["id"]: row for row in found}
            yield from _rows(connection, [by_id[i] for i in part if i in by_id])

    return columns, rows()


def _value_names(connection: sa.Connection, search: Search) -> list[str]:
    """The value columns of every job ``search`` finds, read by the database from the JSON."""
    where = conditions(search)
    names: set[str] = set()
    for kind, document in (("variables", jobs.c.variables), ("result_map", jobs.c.result_map)):
        if connection.dialect.name == "sqlite":
            entries = sa.func.json_each(document).table_valued("key")
            keys = sa.select(entries.c.key).select_from(jobs).join(entries, sa.true()).where(*where)
        else:
            keys = sa.select(sa.func.json_object_keys(document)).where(*where)
        names.update(f"{kind}.{key}" for key in connection.execute(keys.distinct()).scalars())
    found = sa.select(jobs.c.id).where(*where)
    results = sa.select(tasks.c.name).where(
        tasks.c.job_id.in_(found), JsonText(tasks.c.result_json).is_not(None)
    )
    names.update(f"results.{name}" for name in connection.execute(results.distinct()).scalars())
    return value_columns([dict.fromkeys(names)])

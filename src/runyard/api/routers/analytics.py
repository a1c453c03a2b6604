"""Job Analytics (PML §7): the dashboard of a search (panels, charts) and its execution table (JSON, CSV).

Every route takes the same search (:func:`search`). A user sees their own jobs, which is also the
default for an admin; an admin may name other users (``user=*`` for everyone's jobs), a user who
does so gets 403, as with ``GET /jobs``. Job tokens are refused (:mod:`runyard.api.task_scope`):
a task has no use for a dashboard of its owner's history.

The search and sort dependencies are ``async`` though they wait for nothing: a plain ``def`` one
would cost a hop to the thread pool each (see :mod:`runyard.api.deps`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from runyard.api.deps import EngineDep
from runyard.api.errors import ApiError
from runyard.api.security import CurrentUser
from runyard.auth import User
from runyard.ml import analytics
from runyard.ml import analytics_search as parse
from runyard.ml.analytics_search import TIME_COLUMNS, Pattern, Search

router = APIRouter(prefix="/analytics", tags=["analytics"])

MAX_SAMPLE = 10_000
MAX_PAGE = 1000
MAX_EXPORT = 100_000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Values = Annotated[list[str] | None, Query(max_length=parse.MAX_VALUES)]


class SearchOut(BaseModel):
    """The search as the server understood it (times resolved to epoch seconds)."""

    workflows: list[str]
    projects: list[str]
    statuses: list[str]
    users: list[str]
    """Empty: everyone's jobs."""
    submitted_after: float | None
    submitted_before: float | None
    issue: str | None
    where: list[str]


class Issues(BaseModel):
    finished_with_issues: int
    interrupted: int
    interrupted_by_status: dict[str, int]


class Metrics(BaseModel):
    total: int
    successful: int
    """FINISHED without a failed task."""
    success_ratio: float | None
    in_progress: int
    by_status: dict[str, int]
    issues: Issues
    mean_duration: float | None
    """Seconds from start to end, over the jobs that have both."""


class Charts(BaseModel):
    """Series aligned on ``job_ids`` (oldest first), ``None`` where a job has no value."""

    job_ids: list[int]
    duration: list[float | None]
    variables: dict[str, list[float | None]]
    results: dict[str, list[float | None]]
    result_map: dict[str, list[float | None]]


class Dashboard(BaseModel):
    search: SearchOut
    metrics: Metrics
    charts: Charts
    columns: list[str]
    """The execution table's columns: the job's, ``issue``, and the values found in the charts' jobs."""


class ExecutionPage(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


async def zone_of(
    tz: Annotated[
        str | None, Query(max_length=64, description="IANA zone of presets and dates (UTC)")
    ] = None,
) -> dt.tzinfo:
    return parse.time_zone(tz)


async def search(
    user: CurrentUser,
    workflow: Values = None,
    project: Values = None,
    status: Values = None,
    owner: Annotated[
        list[str] | None,
        Query(
            alias="user", max_length=parse.MAX_VALUES, description="Default: yours; '*': everyone's (admins)"
        ),
    ] = None,
    submitted: Annotated[str | None, Query(max_length=64, description=", ".join(parse.PRESETS))] = None,
    submitted_after: Annotated[str | None, Query(max_length=64, description="ISO 8601 or epoch s")] = None,
    submitted_before: Annotated[str | None, Query(max_length=64, description="ISO 8601 or epoch s")] = None,
    zone: Annotated[dt.tzinfo, Depends(zone_of)] = dt.UTC,
    issue: Annotated[Literal["finished_with_issues", "interrupted"] | None, Query()] = None,
    where: Annotated[
        list[str] | None,
        Query(max_length=parse.MAX_VALUES, description="COLUMN~TEXT, COLUMN>NUMBER or COLUMN<NUMBER"),
    ] = None,
) -> Search:
    """The search the query describes (400 for what cannot be parsed, 403 for others' jobs)."""
    after, before = parse.submission_range(submitted, submitted_after, submitted_before, zone, time.time())
    return Search(
        workflows=parse.patterns(workflow, "workflow"),
        projects=parse.patterns(project, "project"),
        statuses=parse.statuses(status),
        users=_users(user, parse.patterns(owner, "user")),
        submitted_after=after,
        submitted_before=before,
        issue=parse.issue(issue),
        where=parse.column_filters(where, zone),
    )


def _users(user: User, asked: tuple[Pattern, ...]) -> tuple[Pattern, ...]:
    if not asked:
        return (Pattern(user.name, negated=False),)
    if not user.is_admin and any(p.negated or p.wildcard or p.text != user.name for p in asked):
        raise ApiError(403, "forbidden", "only an admin may see other users' jobs")
    if all(not p.negated and set(p.text) == {"*"} for p in asked):
        return ()  # everyone: no condition at all
    return asked


SearchDep = Annotated[Search, Depends(search)]


@router.get("", response_model=Dashboard)
def dashboard(
    found: SearchDep,
    engine: EngineDep,
    sample: Annotated[int, Query(ge=1, le=MAX_SAMPLE, description="Newest jobs in the charts")] = 1000,
) -> Dashboard:
    """Panels over every job found; charts over the newest ``sample`` of them."""
    with engine.connect() as connection:
        metrics = analytics.metrics(connection, found)
        charts = analytics.charts(connection, found, sample)
    return Dashboard(
        search=_described(found), metrics=Metrics.model_validate(metrics),
        charts=Charts.model_validate(charts), columns=charts["columns"],
    )  # fmt: skip


def _described(found: Search) -> SearchOut:
    def texts(patterns: tuple[Pattern, ...]) -> list[str]:
        return [("!" if p.negated else "") + p.text for p in patterns]

    return SearchOut(
        workflows=texts(found.workflows),
        projects=texts(found.projects),
        statuses=[s.value for s in found.statuses],
        users=texts(found.users),
        submitted_after=found.submitted_after,
        submitted_before=found.submitted_before,
        issue=None if found.issue is None else found.issue.value,
        where=[f"{f.column.name}{_SIGNS[f.operator]}{f.value}" for f in found.where],
    )


_SIGNS = {"contains": "~", "gt": ">", "lt": "<"}


async def sort_of(
    sort: Annotated[str, Query(max_length=300, description="A column; '-' first: descending")] = "-id",
    sort_as: Annotated[Literal["text", "number"], Query(description="How values are compared")] = "text",
) -> analytics.Sort:
    descending = sort.startswith("-")
    column = parse.column(sort[1:] if descending else sort)
    return analytics.Sort(column, descending=descending, as_number=sort_as == "number")


SortDep = Annotated[analytics.Sort, Depends(sort_of)]


@router.get("/executions", response_model=ExecutionPage)
def executions(
    found: SearchDep,
    order: SortDep,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ExecutionPage:
    """A page of the execution table: one row per job, its values as columns (``variables.K``,
    ``results.TASK``, ``result_map.K``), sorted by ``sort`` then by id."""
    with engine.connect() as connection:
        page = analytics.executions(connection, found, order, limit=limit, offset=offset)
    return ExecutionPage(**page, limit=limit, offset=offset)


@router.get(
    "/executions.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The table, one line per job"}},
)
def executions_csv(
    found: SearchDep,
    order: SortDep,
    engine: EngineDep,
    zone: Annotated[dt.tzinfo, Depends(zone_of)],
    limit: Annotated[int, Query(ge=1, le=MAX_EXPORT)] = MAX_EXPORT,
) -> StreamingResponse:
    """The whole table (at most ``limit`` rows) as CSV; times in ISO 8601 in ``tz``.

    A text cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) starts with ``'``."""
    connection = engine.connect()
    try:
        columns, rows = analytics.export(connection, found, order, limit=limit)
    except BaseException:
        connection.close()
        raise

    def lines() -> Iterator[str]:
        with connection:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(columns)
            for count, row in enumerate(rows, 1):
                writer.writerow([_cell(name, row.get(name), zone) for name in columns])
                if count % 500 == 0:
                    yield _drain(buffer)
            yield _drain(buffer)

    headers = {"Content-Disposition": 'attachment; filename="executions.csv"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(column: str, value: Any, zone: dt.tzinfo) -> str:
    if value is None:
        return ""
    if column in TIME_COLUMNS:
        return dt.datetime.fromtimestamp(value, zone).isoformat(timespec="milliseconds")
    if isinstance(value, bool | dict | list):
        return json.dumps(value)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS) and parse.number(text) is None:
        return "'" + text
    return text

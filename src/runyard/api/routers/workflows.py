"""Workflows not (yet) submitted: checked as ``runyard validate`` checks a file, for editors (the studio).

One route answers both ways an editor works: given the text, it reads it (the mapping form, for forms
and a graph); given the mapping form, it writes the text. Either way the problems come located in the
text answered, references to the catalog resolved as the caller's submission would resolve them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from runyard import formats
from runyard.api.deps import EngineDep
from runyard.api.security import CurrentUser
from runyard.auth import User
from runyard.catalog.references import catalog_fetch
from runyard.errors import Problem, WorkflowError
from runyard.formats.locations import locate
from runyard.formats.task_references import expand_references
from runyard.scheduler.submission import check_variable_values, check_workflow, unrunnable

router = APIRouter(prefix="/workflows", tags=["workflows"])

Format = Literal["yaml", "xml"]
#: Where problems of the text answered are located (the ``source`` of each problem).
SOURCE = "workflow"


class WorkflowDraft(BaseModel):
    workflow: str | dict[str, Any]
    """The workflow's text (ProActive XML or runyard YAML), or its mapping form."""
    format: Format | None = None
    """The format of the text answered: by default the text's own, YAML for a mapping."""


class CheckedWorkflow(BaseModel):
    valid: bool
    problems: list[Problem]
    """Sorted by line; ``line`` is in the text answered (``source``: ``workflow``), when known."""
    warnings: list[Problem]
    """What does not make the workflow invalid but makes a submission refuse it here: a language
    runyard cannot run, a ``javaExecutable`` (located as ``problems`` are)."""
    text: str
    """The workflow as text in ``format``: the text given, unchanged, if it was given in that format."""
    format: Format
    workflow: dict[str, Any] | None
    """The mapping form of the workflow (task references kept as ``from``); ``None`` when the text
    cannot be read (then ``problems`` says where)."""


@router.post("/validate", response_model=CheckedWorkflow)
async def validate_workflow(
    draft: Annotated[WorkflowDraft, Body()], user: CurrentUser, engine: EngineDep
) -> CheckedWorkflow:
    """Check a workflow as ``runyard validate`` does (syntax, rules, languages, catalog references, variable
    values); an invalid workflow is a ``200`` answer listing its problems, each with its line."""
    return await run_in_threadpool(_check, draft, user, engine)


def _check(draft: WorkflowDraft, user: User, engine: sa.Engine) -> CheckedWorkflow:
    if isinstance(draft.workflow, dict):
        try:
            read = formats.from_mapping(draft.workflow)
        except WorkflowError as error:  # the mapping form has no lines to point to
            return _answer("", draft.format or "yaml", None, error.problems)
        format: Format = draft.format or "yaml"
        text = formats.dump_xml(read) if format == "xml" else formats.dump_yaml(read)
    else:
        text = draft.workflow
        format = "xml" if text.lstrip().startswith("<") else "yaml"
        if draft.format not in (None, format):
            try:  # another format asked: converted, then checked as the converted text
                read = formats.loads(text, format=format, source=SOURCE, validate=False)
            except WorkflowError as error:
                return _answer(text, format, None, error.problems)
            format = draft.format
            text = formats.dump_xml(read) if format == "xml" else formats.dump_yaml(read)
    try:
        workflow = formats.loads(text, format=format, source=SOURCE, validate=False)
    except WorkflowError as error:
        return _answer(text, format, None, error.problems)
    problems = check_workflow(workflow, runnable=False)
    if not problems:
        try:
            with engine.connect() as connection:
                expanded = expand_references(workflow, catalog_fetch(connection, user))
            check_variable_values(expanded, {}, problems)
        except WorkflowError as error:
            problems = error.problems
    located = [locate(p, workflow.locations, SOURCE) for p in problems]
    warnings = [locate(p, workflow.locations, SOURCE) for p in unrunnable(workflow)]
    return _answer(text, format, formats.to_mapping(workflow), located, warnings)


def _answer(
    text: str,
    format: Format,
    mapping: dict[str, Any] | None,
    problems: list[Problem],
    warnings: list[Problem] | None = None,
) -> CheckedWorkflow:
    listed = sorted(problems, key=lambda p: p.line or 0)
    return CheckedWorkflow(
        valid=not listed, problems=listed, warnings=warnings or [], text=text, format=format, workflow=mapping
    )

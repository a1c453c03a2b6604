"""ProActive's submission routes: ``/rest/scheduler/submit``, ``/jobs`` (from a URL), ``/jobs/{id}/resubmit``.

Variables come as matrix parameters on the path (``/submit;NAME=value;OTHER=2``) and, for ``submit``,
as a ``variables`` JSON part too; every query parameter is a generic information. Submitting is the
native ``POST /api/v1/jobs`` (:mod:`runyard.api.routers.jobs`): the same checks, queue and answer.

From a URL (the ``link`` header), runyard fetches nothing: the URL must be one of this server's catalog
objects (``…/buckets/B/resources/N/raw``, or ``…/revisions/R/raw``), which it reads from its catalog.
A URL elsewhere is refused: the server sends no request a caller chooses (no server-side request
forgery).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.datastructures import UploadFile

from runyard import formats
from runyard.api.deps import ConfigDep, PlatformDep
from runyard.api.proactive import shapes
from runyard.api.proactive.common import (
    JOB_CREATION_EXCEPTION,
    ProActiveError,
    ProActiveUser,
    proactive_router,
)
from runyard.api.proactive.scheduler_jobs import owned_job
from runyard.api.routers import jobs as native
from runyard.auth import User
from runyard.platform import Platform

router = proactive_router(prefix="/rest/scheduler")

MAX_LINK = 4096
_CATALOG_RAW = re.compile(
    r"/buckets/(?P<bucket>[^/]+)/resources/(?P<name>[^/]+)(?:/revisions/(?P<revision>\d+))?/raw$"
)


class MatrixParameters(StringConvertor):
    """A path segment's matrix parameters, ``;A=1;B=2`` (``{segment:matrix}``): only a ``;`` starts them, so
    ``/jobs{segment:matrix}`` never takes ``/jobsinfolist``."""

    regex = ";[^/]*"


register_url_convertor("matrix", MatrixParameters())


def matrix(segment: str) -> dict[str, native.Scalar]:
    """The variables of matrix parameters (``;A=1;B=2``)."""
    pairs: dict[str, native.Scalar] = {}
    for item in segment.split(";")[1:]:
        name, sep, value = item.partition("=")
        if not name or not sep:
            raise ProActiveError(
                400, f"a matrix parameter is ;NAME=value, not {item[:64]!r}", JOB_CREATION_EXCEPTION
            )
        pairs[name] = value
    return pairs


def generic_information(request: Request) -> dict[str, native.Scalar]:
    return dict(request.query_params)


async def _submitted(
    request: Request, platform: Platform, user: User, submission: native.Submission
) -> dict[str, Any]:
    """``JobIdData`` of the job queued as the native API queues it."""
    job = await native.queue_submission(request, platform, user, submission, None)
    return shapes.job_id_data(job.id, job.name)


def _json_variables(text: str | bytes, where: str) -> dict[str, native.Scalar]:
    try:
        value = json.loads(text or "{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ProActiveError(400, f"{where} is not JSON: {error}", JOB_CREATION_EXCEPTION) from None
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | float | bool) for v in value.values()
    ):
        raise ProActiveError(400, f"{where} must be a JSON object of names to values", JOB_CREATION_EXCEPTION)
    return {str(k): shapes.text(v) for k, v in value.items()}


async def _upload(request: Request, segment: str) -> native.Submission:
    """The submission a multipart body and the path's matrix parameters hold."""
    variables = matrix(segment)
    async with request.form(max_files=2, max_fields=8) as form:
        parts = [(name, value) for name, value in form.multi_items() if name != "variables"]
        if not parts:
            message = "the multipart body needs a part 'file' holding the workflow's XML"
            raise ProActiveError(400, message, JOB_CREATION_EXCEPTION)
        # ProActive reads the part ``file``, else the first; its Java client sends it without a file name.
        workflow = dict(parts).get("file", parts[0][1])
        data = await workflow.read() if isinstance(workflow, UploadFile) else workflow
        given = form.get("variables")
        if given is not None:
            text = await given.read() if isinstance(given, UploadFile) else given
            variables = {**variables, **_json_variables(text, "the part 'variables'")}
    try:
        workflow_text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        message = f"the workflow is not UTF-8 text: {error}"
        raise ProActiveError(400, message, JOB_CREATION_EXCEPTION) from None
    return native.Submission(
        workflow=workflow_text, variables=variables, generic_information=generic_information(request)
    )


@router.post("/submit")
async def submit(request: Request, user: ProActiveUser, platform: PlatformDep) -> dict[str, Any]:
    """Multipart: the workflow's XML (the first file part, usually ``file``), an optional ``variables``
    JSON part; → ``JobIdData``."""
    return await _submitted(request, platform, user, await _upload(request, ""))


@router.post("/submit{segment:matrix}")
async def submit_with_variables(
    segment: str, request: Request, user: ProActiveUser, platform: PlatformDep
) -> dict[str, Any]:
    """The same with variables as matrix parameters: ``/submit;NAME=value``."""
    return await _submitted(request, platform, user, await _upload(request, segment))


@router.post("/validate")
async def validate(request: Request, user: ProActiveUser, platform: PlatformDep) -> dict[str, Any]:
    """Every check a submission makes, nothing submitted (the native ``POST /api/v1/jobs/validate``), on
    the body ``submit`` takes → ``JobValidationData``."""
    return await _validation(request, user, platform, "")


@router.post("/validate{segment:matrix}")
async def validate_with_variables(
    segment: str, request: Request, user: ProActiveUser, platform: PlatformDep
) -> dict[str, Any]:
    return await _validation(request, user, platform, segment)


async def _validation(request: Request, user: User, platform: Platform, segment: str) -> dict[str, Any]:
    submission = await _upload(request, segment)
    vault = request.app.state.vault
    checked = await run_in_threadpool(native.check_submission, platform, vault, user, submission)
    variables = checked.workflow.variables if checked.workflow else ()
    given = {name: shapes.text(value) for name, value in submission.variables.items()}
    problem = checked.problems[0] if checked.problems else None
    return {
        "valid": checked.valid,
        "taskName": problem.task if problem else None,
        "errorMessage": "\n".join(str(p) for p in checked.problems) or None,
        "stackTrace": None,
        "updatedVariables": {v.name: given.get(v.name, v.value) for v in variables},
        "updatedModels": {v.name: v.model or "" for v in variables},
        "updatedDescriptions": {v.name: v.description or "" for v in variables},
        "updatedGroups": {v.name: v.group or "" for v in variables},
        "updatedAdvanced": {v.name: v.advanced for v in variables},
        "updatedHidden": {v.name: v.hidden for v in variables},
    }


def catalog_ref(link: str, request: Request, public_url: str) -> native.CatalogRef:
    """The catalog object a ``link`` names on this server (by its address or its public URL)."""
    if len(link) > MAX_LINK:
        raise ProActiveError(400, "the link is too long", JOB_CREATION_EXCEPTION)
    url = urlsplit(link.strip())
    ours = {request.url.netloc, urlsplit(public_url).netloc}
    found = _CATALOG_RAW.search(url.path)
    if url.scheme not in ("http", "https") or url.netloc not in ours or found is None:
        raise ProActiveError(
            400,
            "runyard submits from a URL only when it is one of its own catalog objects "
            "(…/buckets/BUCKET/resources/NAME/raw); it fetches no other address",
            JOB_CREATION_EXCEPTION,
        )
    revision = found.group("revision")
    return native.CatalogRef(
        bucket=unquote(found.group("bucket")),
        name=unquote(found.group("name")),
        revision=int(revision) if revision else None,
    )


async def _submit_link(
    request: Request, platform: Platform, user: User, public_url: str, segment: str, body: bool
) -> dict[str, Any]:
    link = request.headers.get("link")
    if not link:
        raise ProActiveError(400, "give the workflow's URL in the 'link' header", JOB_CREATION_EXCEPTION)
    variables = matrix(segment)
    if body:
        variables = {**variables, **_json_variables(await request.body(), "the body")}
    submission = native.Submission(
        catalog=catalog_ref(link, request, public_url),
        variables=variables,
        generic_information=generic_information(request),
    )
    return await _submitted(request, platform, user, submission)


@router.post("/jobs")
async def submit_from_url(
    request: Request, user: ProActiveUser, platform: PlatformDep, config: ConfigDep
) -> dict[str, Any]:
    """The workflow at the ``link`` header's URL (this server's catalog) → ``JobIdData``."""
    return await _submit_link(request, platform, user, config.base_url, "", body=False)


@router.post("/jobs{segment:matrix}")
async def submit_from_url_with_variables(
    segment: str, request: Request, user: ProActiveUser, platform: PlatformDep, config: ConfigDep
) -> dict[str, Any]:
    """The same with variables as matrix parameters: ``/jobs;NAME=value``."""
    return await _submit_link(request, platform, user, config.base_url, segment, body=False)


@router.post("/jobs/body")
async def submit_from_url_with_body(
    request: Request, user: ProActiveUser, platform: PlatformDep, config: ConfigDep
) -> dict[str, Any]:
    """The same with variables as a JSON object in the body."""
    return await _submit_link(request, platform, user, config.base_url, "", body=True)


@router.post("/jobs{segment:matrix}/body")
async def submit_from_url_with_both(
    segment: str, request: Request, user: ProActiveUser, platform: PlatformDep, config: ConfigDep
) -> dict[str, Any]:
    return await _submit_link(request, platform, user, config.base_url, segment, body=True)


@router.get("/jobs/{job_id}/resubmit")
async def resubmit(
    job_id: str, request: Request, user: ProActiveUser, platform: PlatformDep
) -> dict[str, Any]:
    """Submit again the workflow a job ran, with its variables (as matrix parameters on ``resubmit`` they
    override) and generic information (query parameters add to them)."""
    return await _resubmit(job_id, "", request, user, platform)


@router.get("/jobs/{job_id}/resubmit{segment:matrix}")
async def resubmit_with_variables(
    job_id: str, segment: str, request: Request, user: ProActiveUser, platform: PlatformDep
) -> dict[str, Any]:
    return await _resubmit(job_id, segment, request, user, platform)


async def _resubmit(
    job_id: str, segment: str, request: Request, user: User, platform: Platform
) -> dict[str, Any]:
    overrides = matrix(segment)
    job = owned_job(platform.engine, user, job_id)
    declared = {v.name for v in job.workflow.variables}
    variables: dict[str, native.Scalar] = {
        n: shapes.text(v) for n, v in job.variables.items() if n in declared
    }
    submission = native.Submission(
        workflow=formats.dump_xml(job.workflow),
        variables={**variables, **overrides},
        generic_information={**job.generic_information, **generic_information(request)},
    )
    return await _submitted(request, platform, user, submission)

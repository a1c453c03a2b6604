"""The HTTP plumbing both servers share: tokens from requests, bounded bodies, errors, Swagger UI, pages.

Routes are added under the instance's prefix (``settings.prefix``), the path the platform's proxy
keeps when it forwards; so every page links with that prefix and works both directly and proxied.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive

from runyard.maas import pages
from runyard.maas.defaults import MAX_JSON_BYTES
from runyard.maas.errors import RequestRefused, TooLarge, Unauthorized
from runyard.maas.names import checked_name, checked_version
from runyard.maas.runtime import ServerState
from runyard.maas.tokens import Caller

COOKIE = "maas_token"
TOKEN_HEADER = "x-api-token"
#: How a token may come, for the OpenAPI description (Swagger UI's "Authorize" offers each).
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "header": {"type": "apiKey", "in": "header", "name": "X-Api-Token"},
    "query": {"type": "apiKey", "in": "query", "name": "api_token"},
}
#: The OpenAPI description of the fields naming a model version.
MODEL_FIELDS = {"model_name": {"type": "string"}, "model_version": {"type": "integer"}}
_FORM_FIELD_BYTES = 64 * 1024


def json_response(content: Any, status: int = 200) -> Response:
    """``content`` as JSON, without FastAPI's encoder (the hot path's answers are plain already)."""
    return Response(json.dumps(content), status, media_type="application/json")


def header_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer …``, else of ``X-Api-Token`` (the platform's proxy keeps its
    own credentials in ``Authorization`` and does not forward it)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None
    return request.headers.get(TOKEN_HEADER)


def bearer(request: Request) -> str | None:
    """The token of the headers (:func:`header_token`), else of the ``api_token`` query parameter."""
    return header_token(request) or request.query_params.get("api_token")


def caller(state: ServerState, request: Request, fields: dict[str, Any] | None = None) -> Caller:
    """Who sent ``request`` (token from the header, the query or the body's ``api_token``), else 401."""
    token = bearer(request)
    if token is None and fields is not None:
        field = fields.get("api_token")
        token = field if isinstance(field, str) else None
    return state.tokens.caller(token)


async def read_fields(request: Request) -> dict[str, Any]:
    """An operation's parameters: the query's, then those of a JSON object or form body (files left out)."""
    found: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await read_json(request)
        if not isinstance(body, dict):
            raise RequestRefused("the JSON body must be an object")
        found.update(body)
    else:
        async with read_form(request, _FORM_FIELD_BYTES) as form:
            found.update(form_fields(form, request))
    return found


async def read_json(request: Request) -> Any:
    """The JSON body, at most ``MAX_JSON_BYTES``."""
    body = await read_body(request, MAX_JSON_BYTES)
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestRefused(f"the body is not JSON: {error}") from None


@asynccontextmanager
async def read_form(request: Request, limit: int) -> AsyncIterator[FormData]:
    """The multipart (or urlencoded) form, its whole body at most ``limit`` bytes; its files are
    closed when the block ends."""
    _check_length(request, limit)
    bounded = Request(request.scope, _bounded(request.receive, limit))
    try:
        form = await bounded.form(max_files=4, max_fields=32, max_part_size=_FORM_FIELD_BYTES)
    except HTTPException as error:  # starlette's refusal of a malformed or oversized form
        raise RequestRefused(f"the form could not be read: {error.detail}") from None
    try:
        yield form
    finally:
        await form.close()


async def file_field(form: FormData, name: str, limit: int, *, required: bool) -> bytes | None:
    """The bytes of the uploaded file ``name`` (at most ``limit``), or None when absent and not required."""
    field = form.get(name)
    if not isinstance(field, UploadFile):
        if required:
            raise RequestRefused(f"{name} is required (a file in a multipart form)")
        return None
    if field.size is not None and field.size > limit:
        raise TooLarge(f"{name} is larger than {limit} bytes")
    data = await field.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{name} is larger than {limit} bytes")
    return data


def form_fields(form: FormData, request: Request) -> dict[str, Any]:
    """The query parameters, then the form's text fields."""
    found: dict[str, Any] = dict(request.query_params)
    found.update((name, value) for name, value in form.items() if isinstance(value, str))
    return found


def flag(value: object, name: str, default: bool) -> bool:
    """A true/false parameter (a JSON boolean, or text)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise RequestRefused(f"{name} must be true or false")


@dataclass(frozen=True)
class Upload:
    """A multipart request from a token holder: who sent it, its text fields and its form (with files)."""

    who: Caller
    fields: dict[str, Any]
    form: FormData


@asynccontextmanager
async def upload(state: ServerState, request: Request, limit: int) -> AsyncIterator[Upload]:
    """The multipart request of a token holder; a token in the header is checked before the body is read."""
    given = bearer(request)
    if given is not None:
        state.tokens.caller(given)
    async with read_form(request, limit) as form:
        fields = form_fields(form, request)
        yield Upload(caller(state, request, fields), fields, form)


def application(state: ServerState, title: str) -> FastAPI:
    """The application of ``state``, with :func:`install`'s routes; its lifespan runs the threads."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.start()
        try:
            yield
        finally:
            state.stop()

    app = FastAPI(
        title=title,
        version="1",
        openapi_url=f"{state.settings.prefix}/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.maas = state
    install(app, state)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = _SECURITY_SCHEMES
            schema["security"] = [{name: []} for name in _SECURITY_SCHEMES]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


#: What a version action does once its caller, model name and version are known (its answer as JSON).
VersionRun = Callable[[Caller, str, int, dict[str, Any]], Awaitable[Any]]


def version_action(
    app: FastAPI, state: ServerState, action: str, summary: str, properties: dict[str, Any], run: VersionRun
) -> None:
    """``POST {prefix}/api/<action>`` on ``model_name`` and ``model_version`` (query, form or JSON)."""

    async def endpoint(request: Request) -> Response:
        fields = await read_fields(request)
        who = caller(state, request, fields)
        with state.operation(who, action, fields.get("model_name")) as done:
            name = checked_name(fields.get("model_name"))
            version = checked_version(fields.get("model_version"))
            if version is None:
                raise RequestRefused("model_version is required")
            done.version = version
            answer = await run(who, name, version, fields)
        return json_response(answer)

    app.post(
        f"{state.settings.prefix}/api/{action}",
        tags=["models"],
        summary=summary,
        name=action,
        openapi_extra=form_body({**MODEL_FIELDS, **properties}, ["model_name", "model_version"]),
    )(endpoint)


def install(app: FastAPI, state: ServerState) -> None:
    """Error answers, health, ``get_token``, ``trace``, Swagger UI and the login routes of ``state``."""
    prefix = state.settings.prefix

    async def refused(request: Request, error: Exception) -> Response:
        status = error.status if isinstance(error, RequestRefused) else 500
        return json_response({"error": str(error)}, status)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return json_response({"error": str(error.detail)}, error.status_code)

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return json_response({"error": problems}, 400)

    app.add_exception_handler(RequestRefused, refused)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)

    @app.get(f"{prefix}/api/health", tags=["service"], summary="Whether the server answers (no token needed)")
    async def health() -> Response:
        return json_response({"status": "ok", "instance": state.settings.instance_name})

    @app.post(
        f"{prefix}/api/get_token",
        tags=["service"],
        summary="A new token for a user (needs the instance's master token as Bearer)",
        openapi_extra=form_body({"user": {"type": "string", "default": "user"}}),
    )
    async def get_token(request: Request) -> Response:
        if not state.tokens.is_master(header_token(request)):
            raise Unauthorized("get_token needs Authorization: Bearer <the instance's master token>")
        given = await read_fields(request)
        user = checked_name(given.get("user") or "user", "user")
        token = await run_in_threadpool(state.tokens.issue, user)
        state.record(Caller(user, "master"), "get_token", None, None, "ok")
        return json_response({"token": token, "user": user})

    @app.get(f"{prefix}/api/trace", tags=["service"], summary="Who did what when, newest first")
    async def trace(request: Request, limit: int = 1000) -> Response:
        caller(state, request)
        return json_response({"enabled": state.settings.trace, "trace": state.trace.latest(max(0, limit))})

    assets = f"{prefix}/api/ui/assets"
    app.mount(assets, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-ui-assets")

    @app.get(f"{prefix}/api/ui", include_in_schema=False)
    async def swagger_ui() -> Response:
        title = f"{state.settings.instance_name}: API"
        return html(pages.swagger(title, assets, f"{prefix}/api/openapi.json"), scripts=True)

    @app.post(f"{prefix}/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        async with read_form(request, _FORM_FIELD_BYTES) as form:
            token = form.get("token")
        try:
            state.tokens.caller(token if isinstance(token, str) else None)
        except Unauthorized as error:
            return html(pages.login(f"{prefix}/login", state.settings.instance_name, str(error)), 401)
        answer = RedirectResponse(f"{prefix}/", 303)
        _set_cookie(answer, state, str(token))
        return answer

    if prefix:

        @app.get(prefix, include_in_schema=False)
        async def slash() -> Response:
            return RedirectResponse(f"{prefix}/", 307)


def page(state: ServerState, render: Callable[[], str]) -> Callable[[Request], Awaitable[Response]]:
    """An HTML page for token holders: the token from the ``maas_token`` cookie or ``?token=``."""

    async def endpoint(request: Request) -> Response:
        given = request.query_params.get("token")
        token = given or request.cookies.get(COOKIE)
        try:
            state.tokens.caller(token)
        except Unauthorized as error:
            login_url = f"{state.settings.prefix}/login"
            message = str(error) if token else None
            return html(pages.login(login_url, state.settings.instance_name, message), 401)
        answer = html(render())
        if given:
            _set_cookie(answer, state, given)
        return answer

    return endpoint


def html(text: str, status: int = 200, *, scripts: bool = False) -> Response:
    """An HTML answer whose content security policy allows this server's resources only (and inline
    scripts only where ``scripts``, for Swagger UI): an unescaped value could still not run code."""
    script = "'self' 'unsafe-inline'" if scripts else "'none'"
    policy = (
        f"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'"
    )
    return HTMLResponse(text, status, headers={"Content-Security-Policy": policy})


def _set_cookie(answer: Response, state: ServerState, token: str) -> None:
    answer.set_cookie(
        COOKIE,
        token,
        path=f"{state.settings.prefix}/",
        httponly=True,
        samesite="strict",
        secure=state.settings.https,
    )


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def form_body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """``openapi_extra`` describing a multipart form body with ``properties``."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}}


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdecimal() and int(length) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, at most ``limit`` bytes (also when sent in chunks)."""
    _check_length(request, limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _bounded(receive: Receive, limit: int) -> Receive:
    """``receive`` raising :class:`TooLarge` once the body passes ``limit`` bytes (chunked bodies too)."""
    size = 0

    async def bounded() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
        return message

    return bounded

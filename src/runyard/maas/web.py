"""The HTTP side both servers share: the application, errors, health, tokens, trace, Swagger UI, pages.

Routes are added under the instance's prefix (``settings.prefix``), the path the platform's proxy
keeps when it forwards; so every page links with that prefix and works both directly and proxied.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from runyard import swagger_ui
from runyard.maas import pages
from runyard.maas.errors import RequestRefused, Unauthorized
from runyard.maas.inputs import FORM_FIELD_BYTES, bearer, caller, header_token, read_fields, read_form
from runyard.maas.names import checked_name, checked_version
from runyard.maas.runtime import ServerState
from runyard.maas.tokens import Caller

COOKIE = "maas_token"
#: How a token may come, for the OpenAPI description (Swagger UI's "Authorize" offers each).
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "header": {"type": "apiKey", "in": "header", "name": "X-Api-Token"},
    "query": {"type": "apiKey", "in": "query", "name": "api_token"},
}
#: The OpenAPI description of the fields naming a model version.
MODEL_FIELDS = {"model_name": {"type": "string"}, "model_version": {"type": "integer"}}


def json_response(content: Any, status: int = 200) -> Response:
    """``content`` as JSON, without FastAPI's encoder (the hot path's answers are plain already)."""
    return Response(json.dumps(content), status, media_type="application/json")


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

    title = f"{state.settings.instance_name}: API"
    swagger_ui.install(app, f"{prefix}/api/ui", f"{prefix}/api/openapi.json", title)

    @app.post(f"{prefix}/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        async with read_form(request, FORM_FIELD_BYTES) as form:
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
    """An HTML page for token holders: the token from ``?token=``, from where the API takes it
    (:func:`~runyard.maas.inputs.bearer`; the platform's proxy keeps ``?token=`` for its own session, so
    through it give ``?api_token=``) or from the ``maas_token`` cookie."""

    async def endpoint(request: Request) -> Response:
        given = request.query_params.get("token") or bearer(request)
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


def html(text: str, status: int = 200) -> Response:
    """An HTML answer whose content security policy allows this server's resources and no script: an
    unescaped value could still not run code."""
    policy = (
        "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
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

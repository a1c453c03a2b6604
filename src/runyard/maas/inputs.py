"""Reading what a client sends: its token, and bodies, forms and fields within their bounds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

from runyard.maas.defaults import MAX_JSON_BYTES
from runyard.maas.errors import RequestRefused, TooLarge
from runyard.maas.runtime import ServerState
from runyard.maas.tokens import Caller

TOKEN_HEADER = "x-api-token"
#: Largest text field of a form, and largest form without files (``get_token``, ``login``, version actions).
FORM_FIELD_BYTES = 64 * 1024


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
        async with read_form(request, FORM_FIELD_BYTES) as form:
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
        form = await bounded.form(max_files=4, max_fields=32, max_part_size=FORM_FIELD_BYTES)
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

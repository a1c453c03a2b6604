"""A task's result as a person reads it: HTML in a sandboxed frame, pictures as pictures, the rest as JSON.

Results are written by user code, so nothing here is ever HTML of the portal's page: an HTML page goes
into an ``<iframe sandbox srcdoc>`` (no scripts, no same origin: it can neither run nor reach the portal),
pictures are ``<img>`` of ``data:`` URLs, text stays text. The ML library's reports (``Preview_Results``,
``Model_Explainability``: ``{"files": [...], "html": ...}``, paths in the owner's user space) show the
files they name.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import PurePosixPath
from typing import Any

from nicegui import ui

from runyard.client import AsyncClient
from runyard.web.calls import Refused, call

_PICTURES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
_HTML = re.compile(r"\s*(<!doctype html|<html|<body|<div|<table|<p>|<h[1-6])", re.IGNORECASE)
_DATA_PICTURE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+")
#: Files of a report shown at most (a report naming thousands stays readable).
MAX_FILES = 12


async def show_result(client: AsyncClient, value: Any) -> None:
    """Render ``value`` (a task's result) in the current container."""
    if isinstance(value, str) and _HTML.match(value):
        sandboxed(value)
    elif isinstance(value, str) and _DATA_PICTURE.fullmatch(value):
        ui.image(value).classes("max-w-xl").props('alt="Result picture"')
    else:
        if isinstance(value, dict) and isinstance(value.get("files"), list):
            await _files(client, [f for f in value["files"] if isinstance(f, str)][:MAX_FILES])
        text_block(json.dumps(value, indent=2, ensure_ascii=False, default=str), label="Result value")


def sandboxed(page: str) -> ui.element:
    """An HTML page in an iframe where its scripts cannot run and it has no origin of its own."""
    frame = ui.element("iframe").classes("w-full h-96 border rounded bg-white")
    frame.props('sandbox="" title="HTML result" referrerpolicy="no-referrer"')
    frame.props["srcdoc"] = page  # a DOM property set by Vue: the page stays inside the frame
    return frame


def text_block(text: str, *, label: str) -> ui.label:
    """Preformatted text (never markup), labelled ``label`` for assistive technology."""
    block = ui.label(text).classes("w-full whitespace-pre-wrap font-mono text-sm bg-gray-50 p-2 rounded")
    block.props["aria-label"] = label  # set, not parsed: a task's name in it stays a value
    return block


async def _files(client: AsyncClient, paths: list[str]) -> None:
    for path in paths:
        suffix = PurePosixPath(path).suffix.lower()
        if suffix not in _PICTURES and suffix not in (".html", ".htm"):
            continue
        ui.label(path).classes("text-gray-600 text-sm")
        try:
            content = await call(client.read_userspace_file(path), quiet=True)
        except (Refused, ValueError) as error:
            why = error.text if isinstance(error, Refused) else str(error)
            ui.label(f"Cannot read it: {why}").classes("text-negative text-sm")
            continue
        if suffix in _PICTURES:
            data = base64.b64encode(content).decode()
            picture = ui.image(f"data:{_PICTURES[suffix]};base64,{data}").classes("max-w-xl")
            picture.props["alt"] = path
        else:
            sandboxed(content.decode("utf-8", errors="replace"))

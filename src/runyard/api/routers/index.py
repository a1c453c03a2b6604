"""Where a visitor lands (no token): ``/`` is a page for people, the API's root the same as JSON.

Both tell the version and where the API's docs are, nothing else; they stay out of the OpenAPI document.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response

from runyard import __version__

#: The page runs nothing and loads nothing: its only style is inline.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_STYLE = "body{font-family:sans-serif;margin:2em;max-width:40em;color:#222}li{margin:.3em 0}"


def routes(api: str, docs: str, openapi: str, *, landing: bool) -> APIRouter:
    """``GET {api}``, ``GET {api}/`` (JSON), and with ``landing`` ``GET /`` (HTML), linking ``docs`` and
    ``openapi``; without it the portal has ``/``."""
    router = APIRouter(include_in_schema=False)
    index = {"name": "runyard", "version": __version__, "api": api, "docs": docs, "openapi": openapi}
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>runyard</title>'
        f"<style>{_STYLE}</style></head><body><h1>runyard {escape(__version__)}</h1>"
        "<p>Workflows of tasks on a pool of nodes, and the services they start.</p><ul>"
        f'<li><a href="{escape(docs)}">REST API documentation</a> (try the routes in the browser)</li>'
        f'<li><a href="{escape(openapi)}">OpenAPI document</a> (for API clients)</li></ul>'
        "<p>This server runs without its web portal (<code>runyard server --no-portal</code>): use the API "
        "or the <code>runyard</code> command line (<code>runyard login</code>, then "
        "<code>runyard --help</code>).</p></body></html>"
    )

    if landing:

        @router.get("/")
        async def landing_page() -> Response:
            return HTMLResponse(page, headers={"Content-Security-Policy": POLICY})

    @router.get(api)
    @router.get(f"{api}/")
    async def api_index() -> Response:
        return JSONResponse(index)

    return router

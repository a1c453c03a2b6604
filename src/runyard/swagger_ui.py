"""Swagger UI served by the app itself (assets of the ``swagger-ui-bundle`` package): it works offline.

Both the platform's server and the model servers install it. The page runs no inline script: its
start script is a route of its own, so the content security policy allows this server's scripts only.
"""

from __future__ import annotations

import json
from html import escape

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

#: What the page may load: this server's scripts, styles, images (and Swagger UI's inline SVGs).
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def install(app: FastAPI, url: str, openapi_url: str, title: str) -> None:
    """Swagger UI of ``openapi_url`` at ``url``; its start script and assets under ``url/``."""
    assets = f"{url}/assets"
    script = f"{url}/start.js"
    # validatorUrl None: no call to swagger.io's validator.
    settings = {"url": openapi_url, "dom_id": "#swagger-ui", "validatorUrl": None}
    start = f"window.ui = SwaggerUIBundle({json.dumps(settings)});\n"
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<link rel="stylesheet" href="{escape(assets)}/swagger-ui.css">'
        f'<link rel="icon" type="image/png" href="{escape(assets)}/favicon-32x32.png"></head>'
        f'<body><div id="swagger-ui"></div><script src="{escape(assets)}/swagger-ui-bundle.js"></script>'
        f'<script src="{escape(script)}"></script></body></html>'
    )
    app.mount(assets, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-ui-assets")

    @app.get(url, include_in_schema=False)
    async def swagger_page() -> Response:
        return HTMLResponse(page, headers={"Content-Security-Policy": POLICY})

    @app.get(script, include_in_schema=False)
    async def swagger_start() -> Response:
        return Response(start, media_type="text/javascript")

"""The interactive API reference at ``/docs``, served entirely from this server.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script; the site's
Content-Security-Policy (``script-src 'self'``) blocks both, and many installs have no network at
all. So the Swagger UI files come from the pinned ``swagger-ui-bundle-v2`` package (Apache-2.0),
mounted under ``/static/swagger-ui``, and the page starts it from a file of ours
(``static/js/api-docs.js``) that reads the document's address from a data attribute. The policy
stays as strict as on every other page.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/static/swagger-ui"


def install(app: FastAPI) -> None:
    """Adds ``/docs`` and its OAuth2 redirect page; the app must be made with ``docs_url=None``."""
    from swagger_ui_bundle import swagger_ui_path  # the package's files, located only when the app is built

    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
    title = escape(f"{app.title} — API")
    openapi_url = escape(app.openapi_url or "/openapi.json")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js"></script>
</body>
</html>""")

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def api_docs_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

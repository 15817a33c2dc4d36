"""The application factory: nothing connects anywhere until ``create_app`` is called."""

from __future__ import annotations

from http import HTTPStatus

import logging
import re
from urllib.parse import urlsplit
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from forecourt import __version__
from forecourt.core import i18n
from forecourt.core.config import Settings, get_settings
from forecourt.core.db import WriteBusy, get_engine, make_sessionmaker
from forecourt.core.i18n import _
from forecourt.core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyAttempts
from forecourt.payments.providers import CARD, gateway_from
from forecourt.web import api_docs, connections, formats, log_redaction, openapi, writes
from forecourt.web.deps import LoginRequired
from forecourt.web.limits import BodyLimits
from forecourt.web.viewer import ViewerMiddleware
from forecourt.web.views.render import render

WEB = Path(__file__).parent
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Forecourt", version=__version__, docs_url=None,
                  description="Carmaker, dealers and partners serving one driver — who owns their data.")
    app.state.settings = settings
    engine = get_engine(settings.database_url, settings.db_echo)
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.replica_sessionmaker = (make_sessionmaker(get_engine(settings.database_replica_url, settings.db_echo))
                                      if settings.database_replica_url else None)  # None: the primary
    app.state.templates = _templates()
    app.state.templates.env.globals["map_tiles"] = {  # every map's tile server, read by its script
        "url": settings.map_tile_url, "attribution": settings.map_tile_attribution,
        "subdomains": settings.map_tile_subdomains}
    app.state.payment_gateway = gateway_from(settings)
    api_docs.install(app)  # before /static, whose mount would otherwise answer for /static/swagger-ui
    app.state.write_stats = writes.WriteStats()
    app.state.write_gate = writes.WriteGate(single_writer=engine.dialect.name == "sqlite")
    app.state.connection_gate = connections.ConnectionGate(capacity=connections.capacity_for(engine),
                                                           wait_seconds=settings.write_wait_seconds)
    app.state.access_log_writer = writes.AccessLogWriter(app)
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Browsers and bookmarks ask here whatever the page links; the answer is the site's icon."""
        return FileResponse(WEB / "static" / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    from forecourt.web.api import (admin, advisor, auth, cases, commission, configurator, devices, dispatch,
                                   engagement, finance, leads, me, nps, operations, opportunities, orders, payments, pipeline,
                                   public, recalls, sharing, staff, subscriptions, transfers,
                                   telemetry, warranty, workshop)
    from forecourt.web.views import pages

    routers = [module.router for module in (auth, me, staff, admin, public, telemetry, devices, configurator, leads,
                                            opportunities, pipeline, orders, warranty, recalls, workshop, advisor,
                                            cases, dispatch, subscriptions, payments, commission, operations,
                                            transfers, nps, sharing, engagement, finance)] + pages.routers()
    for router in routers:
        app.include_router(router)
    openapi.install(app, routers)
    from forecourt.handlers import subscribe_all

    # SOS and crash open cases, health events propose visits, right after the request commits (the
    # worker delivers what is left); the factory is read at delivery time (tests swap it).
    subscribe_all(lambda: app.state.sessionmaker(), settings)
    from forecourt.core import events
    from forecourt.messaging import notify

    notify.subscribe_handlers(events.bus, lambda: app.state.sessionmaker(), settings)  # dispatch notices at once
    _install_error_handlers(app)
    app.add_middleware(writes.WriteTurns)  # innermost: runs a read again as a writer, logs reads before the answer
    app.add_middleware(BodyLimits)  # inside the security headers: a 413 carries them too
    _install_security_headers(app, card_payments=settings.payment_provider == CARD,
                              tiles=tile_origin(settings.map_tile_url))
    log_redaction.install()
    app.add_middleware(ViewerMiddleware, settings=settings)
    return app


def _templates() -> Jinja2Templates:
    """Templates speak through the same translation markers as the code (``_``, ``{% trans %}``)."""
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    # Reference data defined in code and stored as written (purpose names, default sales stages, job
    # names: marked N_ where defined) is shown in the reader's language; any other value as it is.
    templates.env.finalize = formats.reference_text
    templates.env.add_extension("jinja2.ext.i18n")
    templates.env.install_gettext_callables(i18n.translate, i18n.translate_plural, newstyle=True)
    formats.install(templates.env)
    return templates


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _field_error(status: int, message: str, field: str | None) -> JSONResponse:
    loc = ["body", field] if field else ["body"]
    return JSONResponse(status_code=status, content={"detail": [{"loc": loc, "msg": message, "type": "value_error"}]})


def _install_error_handlers(app: FastAPI) -> None:
    def page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
        # ``render`` keeps the caller's navigation and logout form on error pages too.
        # The language switch of an error page leads home: the path asked for is not repeated back.
        return render(request, "error.html", status_code=status, title=title, message=message, language_next="/")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound):
        if _wants_html(request):
            return page(request, 404, i18n.gettext("Not found"),
                        i18n.gettext("There is nothing here, or it is not yours to see."))
        return JSONResponse(status_code=404, content={"detail": i18n.gettext("Not found")})

    @app.exception_handler(Invalid)
    async def invalid(request: Request, error: Invalid):
        return _field_error(422, error.message, error.field)

    @app.exception_handler(Conflict)
    async def conflict(request: Request, error: Conflict):
        return _field_error(409, error.message, error.field)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden):
        return JSONResponse(status_code=403, content={"detail": str(error)})

    @app.exception_handler(TooManyAttempts)
    async def too_many(request: Request, error: TooManyAttempts):
        return JSONResponse(status_code=429, content={"detail": str(error)},
                            headers={"Retry-After": str(error.retry_after)})

    def overloaded(request: Request, why: str):
        # Only true overload gets here: the write turn did not come within the bounded wait, or a
        # writer found the database locked all the same. Rolled back whole, logged, counted.
        request.app.state.write_stats.add("refused_busy")
        log.warning("refused %s %s with 503: the database is overloaded (%s)", request.method, request.url.path, why)
        message = _("The service is very busy at this moment and nothing was changed. Please try again in a "
                    "few seconds.")
        if _wants_html(request):
            response = page(request, 503, _("Please try again"), message)
        else:
            response = JSONResponse(status_code=503, content={"detail": message})
        response.headers["Retry-After"] = str(writes.RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(WriteBusy)
    async def write_busy(request: Request, error: WriteBusy):
        return overloaded(request, str(error))

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, error: OperationalError):
        # SQLite lets one writer at a time. A read that wrote after all, and found another writer
        # first, is run again from the start as a writer (``web.writes``), unseen by the person.
        # Anything but a lock is a real fault.
        if "database is locked" not in str(error.orig):
            raise error
        if request.method in ("GET", "HEAD") and not request.scope.get(writes.WRITER):
            return Response(status_code=503, headers={writes.RETRY_MARK.decode(): "1"})
        return overloaded(request, str(error.orig))

    @app.exception_handler(DataError)
    async def unstorable(request: Request, error: DataError):
        # What validation cannot see and the database refuses (PostgreSQL stores no NUL character in
        # text) is the input's fault: the request was rolled back whole and the caller is told so.
        message = i18n.gettext("Part of what was sent cannot be stored (a NUL character, or a value out of "
                               "range). Nothing was changed.")
        if _wants_html(request):
            return page(request, 422, i18n.gettext("That input cannot be stored"), message)
        return _field_error(422, message, None)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, error: RequestValidationError):
        if _wants_html(request):
            fields = ", ".join(str(e["loc"][-1]) for e in error.errors())
            return page(request, 422, i18n.gettext("That address is not quite right"),
                        i18n.gettext("Please check: %(fields)s. Go back and try again.", fields=fields))
        details = [{"loc": list(e["loc"]), "msg": e["msg"].removeprefix("Value error, "), "type": e["type"]}
                   for e in error.errors()]
        return JSONResponse(status_code=422, content={"detail": details})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        # Starlette's own details ("Not Found", "Forbidden": the status's English phrase) are replaced by
        # words in the reader's language; a detail our code wrote was translated where it was written.
        try:
            phrase = HTTPStatus(error.status_code).phrase
        except ValueError:
            phrase = None
        default = str(error.detail) in ("Not found", phrase)
        if _wants_html(request) and error.status_code in (403, 404):
            detail = str(error.detail)
            if default:
                detail = (i18n.gettext("There is nothing here, or it is not yours to see.") if error.status_code == 404
                          else i18n.gettext("You may not open this page."))
            return page(request, error.status_code,
                        i18n.gettext("Not found") if error.status_code == 404 else i18n.gettext("Not allowed"),
                        detail)
        detail = error.detail
        if default and error.status_code == 404:
            detail = i18n.gettext("Not found")
        elif default and error.status_code == 403:
            detail = i18n.gettext("Not allowed")
        return JSONResponse(status_code=error.status_code, content={"detail": detail},
                            headers=getattr(error, "headers", None))


def tile_origin(template: str) -> str:
    """The origin of a tile URL template, for the Content-Security-Policy ("https://*.tile.example.org"
    for "https://{s}.tile.example.org/{z}/{x}/{y}.png"); empty for tiles served by this site."""
    parts = urlsplit(template)
    if not parts.scheme or not parts.netloc:
        return ""
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    host = re.sub(r"[^.:]*\*[^.:]*", "*", host)  # a label "a{s}" is no valid source; "*" is
    return f"{parts.scheme}://{host}"


def _security_headers(tiles: str, card_payments: bool) -> list[tuple[bytes, bytes]]:
    """With card payments the browser talks to the card provider itself (its script, its card fields in a
    frame), so card numbers never pass through Forecourt; nothing else is allowed in. Map tiles come from
    the configured tile server (``FORECOURT_MAP_TILE_URL``)."""
    images = " ".join(filter(None, ["'self' data:", tiles, "https://*.stripe.com" if card_payments else ""]))
    if card_payments:
        policy = (f"default-src 'self'; img-src {images}; style-src 'self' 'unsafe-inline'; "
                  "script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; "
                  "connect-src 'self' https://api.stripe.com; frame-ancestors 'none'")
    else:
        policy = (f"default-src 'self'; img-src {images}; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                  "frame-ancestors 'none'")
    return [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"), (b"content-security-policy", policy.encode())]


_HSTS = b"max-age=31536000; includeSubDomains"  # a year, as OWASP's HTTP headers cheat sheet suggests


class SecurityHeaders:
    """Plain ASGI rather than ``@app.middleware("http")``: the same headers without wrapping every
    response body in a second stream (about a millisecond per request on this hardware)."""

    def __init__(self, app, card_payments: bool = False, tiles: str = "https://*.tile.openstreetmap.org"):
        self.app = app
        self.headers = _security_headers(tiles, card_payments)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        is_api = scope["path"].startswith("/api/")
        # Behind a proxy in FORECOURT_FORWARDED_ALLOW_IPS, uvicorn sets the scheme from X-Forwarded-Proto.
        is_https = scope.get("scheme") == "https"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                if is_api and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                if is_https:  # only an HTTPS answer can tell a browser to use nothing else from now on
                    extra.append((b"strict-transport-security", _HSTS))
                message = message | {"headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _install_security_headers(app: FastAPI, *, card_payments: bool = False, tiles: str = "") -> None:
    app.add_middleware(SecurityHeaders, card_payments=card_payments, tiles=tiles)

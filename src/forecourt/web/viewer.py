"""Where the reader is: the language they read, the clock they see times on and the market they are served in.

The language: a customer's saved language, else the visitor's choice on the language switch (a
cookie), else the browser's ``Accept-Language``, else the market's; staff read in their own setting
when they made one, else as a visitor would. A language we do not speak, in a cookie, a header or a
stored setting, falls back along that line; a visitor who asked for it is told so once, on the page.

A driver sees times in their own zone (their market's when they chose none) and prices in their
market's currency; staff see their organization's zone and market; a visitor the platform's
(``FORECOURT_TIME_ZONE``, else the zone of ``FORECOURT_MARKET``). ``ViewerMiddleware`` sets the
visitor's place before any route runs; ``web.deps`` refines it once it knows who is asking. The
zone lives in ``core.zones`` (a context variable), so the date filters of the templates and the
services read it without being handed it.
"""

from __future__ import annotations

import logging
from datetime import tzinfo

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.requests import cookie_parser

from forecourt.core import i18n, zones
from forecourt.core.config import Settings
from forecourt.customers import service as customers_service
from forecourt.parties import markets

log = logging.getLogger("forecourt.web.viewer")

LANGUAGE_COOKIE = "fc_lang"


def visitor_market(settings: Settings) -> str:
    code = (settings.market or markets.DEFAULT_MARKET).upper()
    if code not in {m["code"] for m in markets.MARKETS}:
        log.warning("FORECOURT_MARKET=%r is not a market of this network (%s); serving visitors as %s.",
                    settings.market, ", ".join(m["code"] for m in markets.MARKETS), markets.DEFAULT_MARKET)
        return markets.DEFAULT_MARKET
    return code


def visitor_zone(settings: Settings) -> tzinfo:
    """``FORECOURT_TIME_ZONE``, else the visitors' market's zone; a name not known here falls back, logged."""
    market_zone = markets.zone_of_market(visitor_market(settings))
    return zones.zone_or(settings.time_zone, market_zone, whose="FORECOURT_TIME_ZONE:") if settings.time_zone \
        else market_zone


def visitor_language(headers: dict[str, str], market: str) -> tuple[str, str | None]:
    """The language to serve a visitor in, and the code they asked for that we do not speak (or None)."""
    chosen = cookie_parser(headers.get("cookie", "")).get(LANGUAGE_COOKIE)
    if chosen:
        if i18n.supported(chosen):
            return i18n.supported(chosen), None  # type: ignore[return-value]
        log.info("Language cookie %r is not a language we speak; falling back.", chosen[:35])
    asked = headers.get("accept-language")
    browser = i18n.from_accept_language(asked)
    # A browser always names its languages; a client that names none (a car, a phone app, a script)
    # gets the platform's language, so nothing it causes is stored in a market's language by chance.
    market_language = i18n.supported(markets.reference(market)["language"]) if asked else None
    fallback = browser or market_language or i18n.DEFAULT_LOCALE
    return fallback, (chosen[:35] if chosen and not i18n.supported(chosen) else None)


class ViewerMiddleware:
    """Plain ASGI: the visitor's language, zone and market for every request, before routes and error pages run."""

    def __init__(self, app, *, settings: Settings):
        self.app = app
        self.zone = visitor_zone(settings)
        self.market = visitor_market(settings)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
                   if k in (b"cookie", b"accept-language")}
        language, unknown = visitor_language(headers, self.market)
        state = scope.setdefault("state", {})
        state["market"] = self.market
        state["unknown_language"] = unknown
        with zones.use_zone(self.zone), i18n.use_locale(language):
            await self.app(scope, receive, send)


def place(request: Request, session: Session, user) -> None:
    """Once the caller is known: a customer's own zone and market, a staff member's organization's."""
    if user.customer_id is not None:
        customer = customers_service.get_or_none(session=session, customer_id=user.customer_id)
        if customer is None:
            return
        _speak(customer.language, whose=f"Customer {customer.id}'s")
        zone, market = customers_service.zone_of(customer), customer.market or customer.country
    elif user.organization is not None:
        _speak(user.language, whose=f"User {user.id}'s")
        zone, market = markets.zone_of(user.organization), user.organization.market
    else:
        _speak(user.language, whose=f"User {user.id}'s")
        return
    zones.set_zone(zone)
    request.state.market = (market or markets.DEFAULT_MARKET).upper()


def _speak(language: str | None, *, whose: str) -> None:
    """A stored setting wins over the browser; one we do not speak is logged and the browser's kept."""
    if not language:
        return
    if i18n.supported(language):
        i18n.set_locale(i18n.supported(language))  # type: ignore[arg-type]
    else:
        log.warning("%s language %r is not one we speak (%s); serving the browser's.", whose, language,
                    ", ".join(i18n.LANGUAGES))


def market_of(request: Request | None) -> str:
    """The reader's market code, for prices and for reading phone numbers in the right country."""
    if request is None:
        return markets.DEFAULT_MARKET
    return getattr(request.state, "market", None) or request.scope.get("state", {}).get("market") \
        or markets.DEFAULT_MARKET

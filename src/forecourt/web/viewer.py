"""Where the reader is: the clock they see times on and the market they are served in.

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

from forecourt.core import zones
from forecourt.core.config import Settings
from forecourt.customers import service as customers_service
from forecourt.parties import markets

log = logging.getLogger("forecourt.web.viewer")


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


class ViewerMiddleware:
    """Plain ASGI: the visitor's zone and market for every request, before routes and error pages run."""

    def __init__(self, app, *, settings: Settings):
        self.app = app
        self.zone = visitor_zone(settings)
        self.market = visitor_market(settings)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})["market"] = self.market
        with zones.use_zone(self.zone):
            await self.app(scope, receive, send)


def place(request: Request, session: Session, user) -> None:
    """Once the caller is known: a customer's own zone and market, a staff member's organization's."""
    if user.customer_id is not None:
        customer = customers_service.get_or_none(session=session, customer_id=user.customer_id)
        if customer is None:
            return
        zone, market = customers_service.zone_of(customer), customer.market or customer.country
    elif user.organization is not None:
        zone, market = markets.zone_of(user.organization), user.organization.market
    else:
        return
    zones.set_zone(zone)
    request.state.market = (market or markets.DEFAULT_MARKET).upper()


def market_of(request: Request | None) -> str:
    """The reader's market code, for prices and for reading phone numbers in the right country."""
    if request is None:
        return markets.DEFAULT_MARKET
    return getattr(request.state, "market", None) or request.scope.get("state", {}).get("market") \
        or markets.DEFAULT_MARKET

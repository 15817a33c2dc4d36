"""The carmaker's fleet health: how many connected cars are in each health status, and the cars that
need attention. Cars, never the people who own them.

The page is pushed, not polled: ``/admin/fleet/stream`` (server-sent events, ``web.fleet_stream``)
sends the counts and the list again when what the page shows changed, at most once every two
seconds however busy the fleet; ``static/js/fleet-live.js`` updates the chart and the table in
place. The page and the stream are the carmaker admins' alone: anyone else finds neither (404).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from forecourt.core import dates, i18n, zones
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.core.i18n import _
from forecourt.telematics import health
from forecourt.web import car_stream, fleet_stream, live
from forecourt.web.deps import AdminPage, DbSession
from forecourt.web.formats import reference_text
from forecourt.web.views.render import render
from forecourt.web.views.vehicles import STATUS_LABELS

router = APIRouter(tags=["pages"])

FLEET_STATUSES = ("ok", "info", "service_soon", "stop_safely", "unknown")
STREAM_DOC = {200: {"description": "Server-sent events: the fleet's health counts and the cars needing attention, "
                                   "when they change",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


def shown(fleet: health.FleetHealth, at: datetime) -> dict:
    """What the page shows of the fleet, in the reader's language and on their clock, as sent ``at``:
    the page is rendered from it and the stream sends it, so both say the same."""
    counts = [(status, str(STATUS_LABELS[status]), fleet.counts.get(status, 0)) for status in FLEET_STATUSES]
    largest = max([count for *_, count in counts] + [1])
    bars = [dict(status=status, label=label, count=count, count_text=dates.format_number(count),
                 width=round(count / largest * 100, 1)) for status, label, count in counts]
    described = "; ".join(f"{bar['label']}: {bar['count_text']}" for bar in bars)
    cars = [dict(vin=car.vin, title=reference_text(car.title), status=car.status,
                 label=str(STATUS_LABELS[car.status]), summary=reference_text(car.summary),
                 checked_at=car.checked_at.isoformat(), checked=dates.format_datetime(car.checked_at))
            for car in fleet.needing_attention]
    time = dates.format_time(at, "Hms")
    return dict(bars=bars, cars=cars,
                total=_("(%(total)s reporting)", total=dates.format_number(sum(c for *_, c in counts))),
                updated=_("Updated at %(time)s", time=time),
                announcement=_("Fleet health updated at %(time)s: %(counts)s.", time=time, counts=described))


@router.get("/admin/fleet")
def fleet_page(request: Request, admin: AdminPage, session: DbSession):
    board = shown(health.fleet_health(session=session), now())
    return render(request, "admin/fleet.html", board=board, stream_url="/admin/fleet/stream")


@router.get("/admin/fleet/stream", response_class=StreamingResponse, responses=STREAM_DOC)
def fleet_page_stream(request: Request, admin: AdminPage, seconds: float = car_stream.LIFETIME):
    """The page's counts and list again whenever a car's health changed what they show."""
    sessions, locale, zone = request.app.state.sessionmaker, i18n.current_locale(), zones.current_zone()

    def read() -> health.FleetHealth:
        with transaction(sessions) as fresh:
            return health.fleet_health(session=fresh)

    def say(fleet: health.FleetHealth) -> dict:
        with i18n.use_locale(locale), zones.use_zone(zone):
            return shown(fleet, now())

    board = fleet_stream.board_of(request.app, live.case_watch(request.app).cars, read)
    return car_stream.response(fleet_stream.fleet_events(
        board, render=say, last_seen=request.headers.get("last-event-id"), lifetime=seconds,
        disconnected=request.is_disconnected, gate=request.app.state.connection_gate))

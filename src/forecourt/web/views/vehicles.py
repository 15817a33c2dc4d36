"""One car, as its owner sees it and as staff see it behind the consent door.

The owner sees only what their car reported while it was theirs: trips are bounded by their
ownership, and the live twin, health and score (which describe the car now) only while they still
own it. The live map and signals (not the trips, health or score) also need the car's On Call
subscription to be current. Staff open the page for a purpose on the car's current owner; each
section appears only if the purpose covers its data category (the subscription plays no part), and
the live refresh goes through the same door (and the same access log) as the page. The carmaker's
fleet health page is ``web.views.fleet``.

Maps need JavaScript (Leaflet); the CSP forbids inline scripts, so the page hands the route and the
stream address to ``static/js/vehicle-live.js`` in data attributes. The page is pushed, not polled:
``…/stream`` (server-sent events, ``web.car_stream``) sends the live part again only when the car
reported, read through the same door as ``…/live`` (which stays, for browsers without EventSource).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from forecourt.assist import subscriptions
from forecourt.consent import service as consent_service
from forecourt.consent.catalogue import DRIVING_BEHAVIOUR, LOCATION, VEHICLE_HEALTH
from forecourt.core import i18n
from forecourt.core.clock import now, today
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.core.i18n import _, lazy_gettext
from forecourt.core.schemas import Id
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.sales import transfers
from forecourt.telematics import dtc, health, score
from forecourt.telematics import service as telematics_service
from forecourt.vehicles import recalls
from forecourt.vehicles import service as vehicles_service
from forecourt.web import car_stream
from forecourt.web.deps import AppSettings, DbSession, MePage, StaffPage, stated_purpose
from forecourt.web.views import remote_lock
from forecourt.web.views.render import render
from forecourt.workshop import recall_work

router = APIRouter(tags=["pages"])

REFRESH_SECONDS = 10
# A car that reported within this long is "live"; one that has been quiet longer is parked or out of
# reach, and the page says when it last reported instead of showing the live dot.
LIVE_WINDOW = timedelta(minutes=5)
RECENT_TRIPS = 10
STATUS_LABELS = {"ok": lazy_gettext("All good"), "info": lazy_gettext("Note"),
                 "service_soon": lazy_gettext("Service soon"), "stop_safely": lazy_gettext("Stop safely"),
                 "unknown": lazy_gettext("Not judged yet")}

# Twin signals shown live, in VSS paths (VSS units: km/h, m, V, percent, kPa).
SPEED, ODOMETER = "Vehicle.Speed", "Vehicle.TraveledDistance"
VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"
FUEL = "Vehicle.Powertrain.FuelSystem.RelativeLevel"
CHARGE = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed"
CHARGE_RAW = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
LATITUDE, LONGITUDE = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
TYRES = (("1", "Left"), ("1", "Right"), ("2", "Left"), ("2", "Right"))  # VSS path parts, not words

def _labels() -> dict:
    """Signal labels in the reader's language (the request's, which for a driver is their own)."""
    return dict(speed=_("Speed"), odometer=_("Odometer"), battery=_("12 V battery"), fuel=_("Fuel level"),
                charge=_("Charge level"), tyres=_("Tyre pressures"), reported=_("Last report"),
                tyre_names=(_("front left"), _("front right"), _("rear left"), _("rear right")))


# --- what the twin says, in the reader's words and units -------------------------------------------

def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _signals(twin: dict[str, tuple[object, datetime]], language: str, *, movement: bool, state: bool) -> list[dict]:
    """Label, value and measuring time of each live signal the car reports; units for people.

    ``movement`` (speed) goes with location data, ``state`` (odometer, battery, energy, tyres) with
    vehicle health, so a reader sees only the signals their purpose covers."""
    words = _labels()
    values = {path: value for path, (value, _) in twin.items()}
    rows: list[dict] = []

    def add(key: str, label: str, text: str | None, path: str | None = None) -> None:
        if text is not None:
            rows.append(dict(key=key, label=label, value=text,
                             at=twin[path][1].isoformat() if path in twin else None))

    if movement and (speed := _number(values.get(SPEED))) is not None:
        add("speed", words["speed"], f"{speed:.0f} km/h", SPEED)
    if not state:
        return rows
    if (metres := _number(values.get(ODOMETER))) is not None:
        add("odometer", words["odometer"], f"{metres / 1000:,.0f} km".replace(",", "\u202f"), ODOMETER)
    if (volts := _number(values.get(VOLTAGE))) is not None:
        add("battery", words["battery"], f"{volts:.1f} V", VOLTAGE)
    if (fuel := _number(values.get(FUEL))) is not None:
        add("fuel", words["fuel"], f"{fuel:.0f} %", FUEL)
    charge_path = CHARGE if CHARGE in values else CHARGE_RAW
    if (charge := _number(values.get(charge_path))) is not None:
        add("charge", words["charge"], f"{charge:.0f} %", charge_path)
    tyres = []
    for (row, side), name in zip(TYRES, words["tyre_names"], strict=True):
        kpa = _number(values.get(f"Vehicle.Chassis.Axle.Row{row}.Wheel.{side}.Tire.Pressure"))
        if kpa is not None:
            tyres.append(f"{name} {kpa / 100:.1f} bar")
    if tyres:
        add("tyres", words["tyres"], " · ".join(tyres))
    return rows


def _reported_at(twin) -> datetime | None:
    return max((at for _, at in twin.values()), default=None)


def _reporting(reported_at: datetime | None) -> bool:
    return reported_at is not None and now() - reported_at <= LIVE_WINDOW


def _trip_json(trip) -> dict | None:
    if trip is None:
        return None
    route = [list(point) for point in (trip.route or [])]
    start = [trip.start_latitude, trip.start_longitude] if trip.start_latitude is not None else (
        route[0] if route else None)
    end = [trip.end_latitude, trip.end_longitude] if trip.end_latitude is not None else (
        route[-1] if route else None)
    return dict(id=trip.id, started_at=trip.started_at.isoformat(), ended_at=trip.ended_at.isoformat(),
                is_open=trip.is_open, distance_km=round(trip.distance_km or 0.0, 1), route=route, start=start,
                end=end)


# --- one car, assembled for whoever may see which part --------------------------------------------

def _vehicle_view(session, vehicle, *, since: datetime, until: datetime | None, language: str,
                  categories: set[str], current: bool, live: bool = True, whole: bool = True,
                  open_recalls: list | None = None) -> dict:
    """The sections of the page this reader may see. ``current``: the car is theirs (or their
    customer's) now, so the live twin, health and score, which describe the car now, are theirs too.
    ``live``: the twin's signals and position may be shown (off when the owner's On Call lapsed).
    ``whole``: the page; otherwise only what its live refresh sends (``_live``: no scores, the latest
    trip alone), which every push of the car's stream reads again. ``open_recalls``: the car's open
    campaigns, when the caller has read them already (health counts them)."""
    show_location = LOCATION in categories
    show_health = VEHICLE_HEALTH in categories and current
    show_score = DRIVING_BEHAVIOUR in categories
    live = live and current
    twin = telematics_service.twin_of(session=session, vehicle_id=vehicle.id) if live else {}
    trips = telematics_service.trips_within(session=session, vehicle_id=vehicle.id, since=since, until=until,
                                            limit=RECENT_TRIPS if whole else 1) if (show_location or show_score) else []
    scored = show_score and whole
    trip_rows = []
    for trip in trips:
        trip_score = score.score_trip(session=session, trip_id=trip.id) if scored else None
        trip_rows.append(dict(trip=trip, score=trip_score))
    view = dict(
        vehicle=vehicle, current=current, refresh_seconds=REFRESH_SECONDS,
        show_location=show_location, show_health=show_health, show_score=show_score,
        show_signals=live and (show_health or show_location),
        signals=_signals(twin, language, movement=show_location, state=show_health) if live else [],
        reported_at=_reported_at(twin), reported_label=_labels()["reported"],
        reporting=_reporting(_reported_at(twin)),
        trips=trip_rows, latest=_trip_json(trips[0]) if (show_location and trips) else None,
        position=None, health=None, dtc_advice={}, score=None,
    )
    if show_location and live and LATITUDE in twin and LONGITUDE in twin:
        lat, lon = _number(twin[LATITUDE][0]), _number(twin[LONGITUDE][0])
        if lat is not None and lon is not None:
            view["position"] = [lat, lon]
    if show_health:
        view["health"] = health.health_of(session=session, vehicle_id=vehicle.id, open_recalls=open_recalls)
        view["dtc_advice"] = {c.code: dtc.advice(c) for c in view["health"].dtcs}
    if scored and current:
        view["score"] = score.rolling_score(session=session, vehicle_id=vehicle.id)
    return view


def _live(view: dict) -> dict:
    """What the page refreshes without a reload: the signals, the current position, the latest trip."""
    return dict(reported_at=view["reported_at"].isoformat() if view["reported_at"] else None,
                reporting=view["reporting"],
                signals=view["signals"] if view["show_signals"] else [],
                position=view["position"], trip=view["latest"],
                health=dict(status=view["health"].status, label=STATUS_LABELS[view["health"].status],
                            summary=view["health"].summary) if view["health"] else None)


def _location_allowed(session, customer_id: Id) -> bool:
    """Positions are stored only while the owner allows the carmaker location services."""
    try:
        carmaker = parties_service.carmaker(session=session)
    except NotFound:
        return False
    return consent_service.active_grant(session=session, customer_id=customer_id, organization_id=carmaker.id,
                                        purpose_code="location_services") is not None


OWNER_CATEGORIES = {LOCATION, VEHICLE_HEALTH, DRIVING_BEHAVIOUR}


def _owner_car(session, me, vin: str) -> tuple:
    """The owner's car, their ownership, and why its live features are off (``None``: they are on)."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    ownership = vehicles_service.owned_by(session=session, customer_id=me.customer_id, vehicle=vehicle)
    refusal = (subscriptions.convenience_refusal(session=session, vehicle_id=vehicle.id, today=today())
               if ownership.ended_at is None else None)
    return vehicle, ownership, refusal


def _owner_view(session, me, vehicle, ownership, refusal: str | None, *, whole: bool = True) -> dict:
    """``whole``: the page; otherwise what its live refresh sends (see ``_vehicle_view``)."""
    customer = customers_service.get(session=session, customer_id=me.customer_id)
    current = ownership.ended_at is None
    # a recall is the current owner's to act on; a former owner's new-owner car is not their worry
    open_recalls = recalls.open_recalls_for(session=session, vehicle_id=vehicle.id) if current else []
    view = _vehicle_view(session, vehicle, since=ownership.started_at, until=ownership.ended_at,
                         language=customer.language or "en", categories=OWNER_CATEGORIES,
                         current=current, live=refusal is None, whole=whole, open_recalls=open_recalls)
    if not whole:
        return view
    view["ownership"] = ownership
    view["on_call_refusal"] = refusal
    view["location_allowed"] = _location_allowed(session, me.customer_id)
    view["live_url"] = f"/me/vehicles/{vehicle.vin}/live" if view["current"] and refusal is None else None
    view["stream_url"] = f"/me/vehicles/{vehicle.vin}/stream" if view["live_url"] else None
    view["open_recalls"] = open_recalls
    waiting = transfers.pending_of(session=session, customer_id=me.customer_id,
                                   vehicle_id=vehicle.id) if view["current"] else []
    view["pending_sale"] = waiting[0] if waiting else None
    return view


def _recall_offers(session, me, vehicle, view: dict) -> None:
    """The page (not its live refresh) offers each open recall's fix in one click; a critical recall
    leads the page, and no advice below it may say the car is safe to drive."""
    view["recall_offers"] = {offer["campaign"].code: offer for offer in recall_work.offers_for_owner(
        session=session, customer_id=me.customer_id, vehicle=vehicle, open_recalls=view["open_recalls"])
    } if view["open_recalls"] else {}
    view["critical_recall"] = next((offer for offer in view["recall_offers"].values() if offer["critical"]), None)
    if view["critical_recall"] and view["dtc_advice"]:
        view["dtc_advice"] = {code: text if dtc.describe(code).severity is dtc.Severity.STOP_SAFELY
                              else _("The workshop checks this as well when it fixes the recall.")
                              for code, text in view["dtc_advice"].items()}


@router.get("/me/vehicles/{vin}")
def my_vehicle(request: Request, vin: str, me: MePage, session: DbSession, settings: AppSettings,
               command: Id | None = None):
    vehicle, ownership, refusal = _owner_car(session, me, vin)
    view = _owner_view(session, me, vehicle, ownership, refusal)
    _recall_offers(session, me, vehicle, view)
    view["remote"] = (remote_lock.panel(session=session, vehicle=vehicle, ownership=ownership, command_id=command,
                                        deadline_seconds=settings.command_deadline_seconds)
                      if view["current"] else None)
    return render(request, "vehicles/mine.html", view=view, status_labels=STATUS_LABELS)


@router.get("/me/vehicles/{vin}/live")
def my_vehicle_live(vin: str, me: MePage, session: DbSession):
    vehicle, ownership, refusal = _owner_car(session, me, vin)
    if refusal is not None:  # the car is the owner's: say why, rather than pretend it is not there
        return JSONResponse({"detail": refusal}, status_code=403, headers={"Cache-Control": "no-store"})
    return JSONResponse(_live(_owner_view(session, me, vehicle, ownership, refusal, whole=False)),
                        headers={"Cache-Control": "no-store"})


@router.get("/me/vehicles/{vin}/stream", response_class=StreamingResponse, responses=car_stream.STREAM_DOC)
def my_vehicle_stream(request: Request, vin: str, me: MePage, session: DbSession,
                      seconds: float = car_stream.LIFETIME):
    vehicle, _, refusal = _owner_car(session, me, vin)
    if refusal is not None:
        return JSONResponse({"detail": refusal}, status_code=403, headers={"Cache-Control": "no-store"})
    sessions, locale = request.app.state.sessionmaker, i18n.current_locale()

    def read(_changed: set[int]) -> dict:
        with i18n.use_locale(locale), transaction(sessions) as fresh:
            try:
                found, ownership, lapsed = _owner_car(fresh, me, vin)
            except NotFound:
                raise car_stream.Gone from None
            if lapsed is not None:
                raise car_stream.Gone
            return _live(_owner_view(fresh, me, found, ownership, lapsed, whole=False))

    return _stream(request, vehicle.id, read, seconds)


def _stream(request: Request, vehicle_id: int, read, seconds: float) -> StreamingResponse:
    return car_stream.for_request(request, cars=frozenset({vehicle_id}), read=read, event="car", seconds=seconds)


# --- staff, behind the consent door ----------------------------------------------------------------

def _staff_view(session, principal, vin: str, purpose: str | None, *, whole: bool = True) -> dict:
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    owner_id = vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id)
    if owner_id is None:
        raise NotFound("Vehicle not found")  # an unsold car is stock, not a customer's car
    chosen = stated_purpose(session, principal, purpose)
    try:
        customer, categories = customers_service.open_for(session=session, principal=principal,
                                                          customer_id=owner_id, purpose=chosen,
                                                          what="vehicle page")
    except NotFound:
        raise NotFound("Vehicle not found") from None
    ownership = vehicles_service.current_ownership(session=session, vehicle_id=vehicle.id)
    view = _vehicle_view(session, vehicle, since=ownership.started_at, until=None, language="en",
                         categories=set(categories), current=True, whole=whole)
    view |= dict(customer=customer, categories=categories, purpose=chosen,
                 organization=parties_service.get_organization(session=session,
                                                               organization_id=principal.organization_id))
    live = view["show_location"] or view["show_health"]
    view["live_url"] = f"/workspace/vehicles/{vehicle.vin}/live?purpose={chosen}" if live else None
    view["stream_url"] = f"/workspace/vehicles/{vehicle.vin}/stream?purpose={chosen}" if live else None
    return view


@router.get("/workspace/vehicles/{vin}")
def staff_vehicle(request: Request, vin: str, principal: StaffPage, session: DbSession,
                  purpose: str | None = None):
    view = _staff_view(session, principal, vin, purpose)
    purposes = {p.code: p for p in consent_service.list_purposes(session=session)}
    return render(request, "vehicles/workspace.html", view=view, stated=purposes.get(view["purpose"]),
                  status_labels=STATUS_LABELS)


@router.get("/workspace/vehicles/{vin}/live")
def staff_vehicle_live(vin: str, principal: StaffPage, session: DbSession, purpose: str | None = None):
    return JSONResponse(_live(_staff_view(session, principal, vin, purpose, whole=False)),
                        headers={"Cache-Control": "no-store"})


@router.get("/workspace/vehicles/{vin}/stream", response_class=StreamingResponse, responses=car_stream.STREAM_DOC)
def staff_vehicle_stream(request: Request, vin: str, principal: StaffPage, session: DbSession,
                         purpose: str | None = None, seconds: float = car_stream.LIFETIME):
    """Every push goes through the consent door again (and into the customer's access log), as the
    polled refresh did: a withdrawn consent or a sold car ends the stream."""
    view = _staff_view(session, principal, vin, purpose, whole=False)  # no consent for the purpose: not found
    sessions, locale, chosen = request.app.state.sessionmaker, i18n.current_locale(), view["purpose"]

    def read(_changed: set[int]) -> dict:
        with i18n.use_locale(locale), transaction(sessions) as fresh:
            try:
                return _live(_staff_view(fresh, principal, vin, chosen, whole=False))
            except NotFound:
                raise car_stream.Gone from None

    return _stream(request, view["vehicle"].id, read, seconds)


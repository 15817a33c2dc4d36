"""Alerts in: every SOS, crash or breakdown alert becomes a case, or joins the open case of its car.

The rule that shapes this module is the fail-safe: an alert with a recognisable vehicle must reach a
person. A broken timestamp, a missing heading or an unreadable passenger count is written onto the
case as a problem, never a reason to drop the alert. Only an alert that names no vehicle is refused,
because nobody could be sent anywhere for it (and it is logged, so it is not lost silently).
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.assist.models import PRIORITY, Case, CaseEvent
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.telematics import device_time
from forecourt.telematics import service as telematics_service
from forecourt.vehicles import service as vehicles_service

log = logging.getLogger(__name__)

KINDS = tuple(PRIORITY)  # crash, sos, breakdown
JOIN_WINDOW = timedelta(minutes=30)  # alerts of one car this close together are one incident
TRACK_WINDOW = timedelta(minutes=10)
MAX_GIVEN_TRACK = 10  # positions an alert may bring along (an eCall brings two)
OPEN_STATUSES = ("open", "acknowledged", "dispatched")
# Crockford's base 32 without I, L, O, U: read out on the phone without "was that a one or an L?"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_number(session: Session) -> str:
    """A short case number ("OC-7K3M9") that is not taken yet."""
    while True:
        number = "OC-" + "".join(secrets.choice(CROCKFORD) for _ in range(5))
        if session.scalar(select(Case.id).where(Case.number == number)) is None:
            return number


def shown(value, limit: int = 40) -> str:
    """A value as a problem may quote it: scalars clipped, containers named, never recursed into
    (a thousand nested lists would exhaust ``repr``, and an alert must still become a case)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "a number too large"
    text = repr(value) if not isinstance(value, str) else value
    text = "".join(char if char.isprintable() else "?" for char in text)
    return repr(text[:limit])


def _coordinate(value, limit: float, name: str, problems: list[str]) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        problems.append(f"{name} unreadable ({shown(value)})")
        return None
    if isinstance(value, bool) or not math.isfinite(number) or abs(number) > limit:
        problems.append(f"{name} out of range ({shown(value)})")
        return None
    return number


def _moment(at, problems: list[str]) -> datetime:
    """The alert's time if it can be believed (the device time rule), else the time received."""
    received = now()
    if isinstance(at, datetime):
        moment = at if at.tzinfo else at.replace(tzinfo=UTC)
        problem = device_time.problem(moment, received_at=received)
        if problem is None:
            return moment.astimezone(UTC)
        problems.append(f"{problem}: used the time received")
    elif at is not None:
        problems.append("timestamp unreadable: used the time received")
    else:
        problems.append("no timestamp: used the time received")
    return received


def _optional_number(value, name: str, problems: list[str], *, kind=float, low=None, high=None):
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        number = kind(float(value)) if kind is int and isinstance(value, float) else kind(value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError
        if kind is float and not math.isfinite(number):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        problems.append(f"{name} unreadable ({shown(value)}): left empty")
        return None
    return number


def last_known_position(*, session: Session, vehicle_id: int) -> tuple[float, float, datetime] | None:
    """Where the car was last seen: a stored position, else the twin's location signals."""
    # The current owner's positions only: where the car was under its previous owner is not theirs.
    recent = telematics_service.positions_of(session=session, vehicle_id=vehicle_id, limit=1,
                                             since=telematics_service.owned_since(session=session,
                                                                                  vehicle_id=vehicle_id))
    if recent:
        return recent[-1].latitude, recent[-1].longitude, as_utc(recent[-1].measured_at)
    twin = telematics_service.twin_of(session=session, vehicle_id=vehicle_id)
    lat, lon = twin.get("Vehicle.CurrentLocation.Latitude"), twin.get("Vehicle.CurrentLocation.Longitude")
    if lat and lon and lat[0] is not None and lon[0] is not None:
        try:
            return float(lat[0]), float(lon[0]), as_utc(lat[1])
        except (TypeError, ValueError):
            return None
    return None


def _recent_track(session: Session, vehicle_id: int, at: datetime, given: Iterable) -> list[dict]:
    """The car's last ten minutes, newest first: stored positions plus any the alert itself carried."""
    track = [{"at": as_utc(p.measured_at).isoformat(), "lat": p.latitude, "lon": p.longitude}
             for p in telematics_service.positions_of(session=session, vehicle_id=vehicle_id,
                                                      since=at - TRACK_WINDOW, until=at + timedelta(minutes=1))]
    track.reverse()
    extra = []
    for point in list(given or ())[:MAX_GIVEN_TRACK]:
        if not isinstance(point, dict):
            continue
        lat, lon = _coordinate(point.get("lat"), 90, "lat", []), _coordinate(point.get("lon"), 180, "lon", [])
        if lat is not None and lon is not None:
            at = point.get("at")
            extra.append({"at": at if isinstance(at, str) and len(at) <= 40 else None, "lat": lat, "lon": lon})
    return extra + track if extra else track


def open_case_of(*, session: Session, vehicle_id: int, at: datetime) -> Case | None:
    """The car's open case whose last alert came within the join window before ``at``."""
    return session.scalars(select(Case).where(Case.vehicle_id == vehicle_id, Case.status.in_(OPEN_STATUSES),
                                              Case.last_alert_at >= at - JOIN_WINDOW)
                           .order_by(Case.last_alert_at.desc())).first()


def raise_alert(*, session: Session, vehicle_id: int | None, kind: str, source: str, at=None, latitude=None,
                longitude=None, heading=None, passengers=None, activation: str | None = None,
                test_call: bool = False, position_trusted: bool | None = None, track: Iterable = (),
                problems: Iterable[str] = (), vehicle_data: dict | None = None) -> Case:
    """Open a case for the alert, or join the car's open case (a crash joining an SOS case raises it).

    ``vehicle_data``: what the car said about itself beyond the alert (an eCall's minimum set of
    data: VIN, vehicle type, propulsion, additional data, the bytes as received), kept on the case.
    Never commits. Raises ``Invalid`` only when no vehicle can be recognised.
    """
    problems = list(problems)
    vehicle = None
    if vehicle_id is not None:
        try:
            vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
        except NotFound:
            vehicle = None
    if vehicle is None:
        log.warning("alert refused: no recognisable vehicle (vehicle id %s, kind %s, source %s)",
                    shown(vehicle_id), shown(kind), shown(source))
        raise Invalid(_("The alert names no vehicle we know, so no case can be opened; nobody could be sent."),
                      field="vehicle")
    if not isinstance(kind, str) or kind not in PRIORITY:
        problems.append(f"kind {shown(kind, 20)} unknown: treated as an SOS")
        kind = "sos"
    moment = _moment(at, problems)
    lat = _coordinate(latitude, 90, "latitude", problems)
    lon = _coordinate(longitude, 180, "longitude", problems)
    if lat is None or lon is None:
        known = last_known_position(session=session, vehicle_id=vehicle.id)
        if known is not None:
            lat, lon = known[0], known[1]
            problems.append(f"no usable position in the alert: used the last known position ({known[2]:%H:%M} UTC)")
            position_trusted = False
        else:
            lat = lon = None
            problems.append("no position in the alert and none known: ask the driver where they are")
    heading = _optional_number(heading, "direction", problems, low=0, high=360)
    passengers = _optional_number(passengers, "number of passengers", problems, kind=int, low=0, high=99)
    points = _recent_track(session, vehicle.id, moment, track)

    case = open_case_of(session=session, vehicle_id=vehicle.id, at=moment)
    details = {"kind": kind, "source": source, "at": moment.isoformat(), "latitude": lat, "longitude": lon,
               "activation": activation, "test_call": bool(test_call), "problems": problems}
    if vehicle_data is not None:
        details["msd"] = vehicle_data
    if case is None:
        case = Case(number=new_number(session), vehicle_id=vehicle.id,
                    customer_id=vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id),
                    kind=kind, priority=PRIORITY[kind], status="open", source=source, activation=activation,
                    test_call=bool(test_call), latitude=lat, longitude=lon, position_trusted=position_trusted,
                    heading=heading, passengers=passengers, track=points, problems=problems,
                    vehicle_data=vehicle_data, opened_at=now(), last_alert_at=moment)
        session.add(case)
        session.flush()
        text = f"{kind.upper()} alert from {source}: case opened"
    else:
        text = f"{kind.upper()} alert from {source} joined the case"
        if PRIORITY[kind] < case.priority:
            text += f" (priority raised from {case.kind} to {kind})"
            case.kind, case.priority = kind, PRIORITY[kind]
        if lat is not None and lon is not None:
            case.latitude, case.longitude = lat, lon
            case.position_trusted = position_trusted
        case.heading = heading if heading is not None else case.heading
        case.passengers = passengers if passengers is not None else case.passengers
        case.activation = activation or case.activation
        case.test_call = bool(case.test_call and test_call)  # one real alert makes the incident real
        if points:
            case.track = points
        if vehicle_data is not None:
            case.vehicle_data = vehicle_data
        case.problems = [*case.problems, *problems]
        case.last_alert_at = max(as_utc(case.last_alert_at), moment)
    session.add(CaseEvent(case_id=case.id, kind="alert", at=now(), text=text, details=details))
    session.flush()
    return case

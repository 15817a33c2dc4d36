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
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.assist.models import PRIORITY, Case, CaseEvent
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Invalid, NotFound
from forecourt.telematics import service as telematics_service
from forecourt.vehicles import service as vehicles_service

log = logging.getLogger(__name__)

KINDS = tuple(PRIORITY)  # crash, sos, breakdown
JOIN_WINDOW = timedelta(minutes=30)  # alerts of one car this close together are one incident
TRACK_WINDOW = timedelta(minutes=10)
OPEN_STATUSES = ("open", "acknowledged", "dispatched")
# Crockford's base 32 without I, L, O, U: read out on the phone without "was that a one or an L?"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_number(session: Session) -> str:
    """A short case number ("OC-7K3M9") that is not taken yet."""
    while True:
        number = "OC-" + "".join(secrets.choice(CROCKFORD) for _ in range(5))
        if session.scalar(select(Case.id).where(Case.number == number)) is None:
            return number


def _coordinate(value, limit: float, name: str, problems: list[str]) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{name} unreadable ({str(value)[:40]!r})")
        return None
    if not math.isfinite(number) or abs(number) > limit:
        problems.append(f"{name} out of range ({str(value)[:40]})")
        return None
    return number


def _moment(at, problems: list[str]) -> datetime:
    received = now()
    if isinstance(at, datetime):
        return as_utc(at)
    if at is not None:
        problems.append("timestamp unreadable: used the time received")
    else:
        problems.append("no timestamp: used the time received")
    return received


def _optional_number(value, name: str, problems: list[str], *, kind=float, low=None, high=None):
    if value is None:
        return None
    try:
        number = kind(value)
        if isinstance(value, bool) or (low is not None and number < low) or (high is not None and number > high):
            raise ValueError
        if kind is float and not math.isfinite(number):
            raise ValueError
    except (TypeError, ValueError):
        problems.append(f"{name} unreadable ({str(value)[:40]!r}): left empty")
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
    for point in given or ():
        if isinstance(point, dict) and point.get("lat") is not None and point.get("lon") is not None:
            extra.append({"at": point.get("at"), "lat": point["lat"], "lon": point["lon"]})
    return extra + track if extra else track


def open_case_of(*, session: Session, vehicle_id: int, at: datetime) -> Case | None:
    """The car's open case whose last alert came within the join window before ``at``."""
    return session.scalars(select(Case).where(Case.vehicle_id == vehicle_id, Case.status.in_(OPEN_STATUSES),
                                              Case.last_alert_at >= at - JOIN_WINDOW)
                           .order_by(Case.last_alert_at.desc())).first()


def raise_alert(*, session: Session, vehicle_id: int | None, kind: str, source: str, at=None, latitude=None,
                longitude=None, heading=None, passengers=None, activation: str | None = None,
                test_call: bool = False, position_trusted: bool | None = None, track: Iterable = (),
                problems: Iterable[str] = ()) -> Case:
    """Open a case for the alert, or join the car's open case (a crash joining an SOS case raises it).

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
        log.warning("alert refused: no recognisable vehicle (vehicle id %r, kind %r, source %r)",
                    vehicle_id, kind, source)
        raise Invalid("The alert names no vehicle we know, so no case can be opened; nobody could be sent.",
                      field="vehicle")
    if kind not in PRIORITY:
        problems.append(f"kind {str(kind)[:20]!r} unknown: treated as an SOS")
        kind = "sos"
    moment = _moment(at, problems)
    if moment > now() + timedelta(minutes=5):
        problems.append("timestamp in the future: used the time received")
        moment = now()
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
    if case is None:
        case = Case(number=new_number(session), vehicle_id=vehicle.id,
                    customer_id=vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id),
                    kind=kind, priority=PRIORITY[kind], status="open", source=source, activation=activation,
                    test_call=bool(test_call), latitude=lat, longitude=lon, position_trusted=position_trusted,
                    heading=heading, passengers=passengers, track=points, problems=problems,
                    opened_at=now(), last_alert_at=moment)
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
        case.problems = [*case.problems, *problems]
        case.last_alert_at = max(as_utc(case.last_alert_at), moment)
    session.add(CaseEvent(case_id=case.id, kind="alert", at=now(), text=text, details=details))
    session.flush()
    return case


# --- eCall: the EN 15722 minimum set of data, read field by field --------------------------------

def _flag(message: dict, name: str, problems: list[str]) -> bool | None:
    value = message.get(name)
    if value is None or isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false", "yes", "no"):
        return value in (1, "1", "true", "yes")
    problems.append(f"{name} unreadable ({str(value)[:20]!r})")
    return None


def _msd_moment(value, problems: list[str]):
    """EN 15722 sends seconds since 1970 (UTC); an ISO 8601 string is read too."""
    from datetime import UTC

    if value is None:
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return "unreadable"


def _point(value) -> tuple | None:
    if isinstance(value, dict):
        return value.get("latitude"), value.get("longitude")
    return None


def ecall_alert(*, session: Session, vehicle_id: int, vin: str, message: object) -> Case:
    """A crash notification carrying the eCall minimum set of data: every field that can be read is
    used, every one that cannot becomes a problem on the case. Raises ``Invalid`` only when there is
    nothing to read at all (the body is not a JSON object)."""
    if not isinstance(message, dict):
        raise Invalid("The eCall message must be a JSON object with the minimum set of data "
                      "(at least a position); nothing could be read.", field="body")
    problems: list[str] = []
    automatic = _flag(message, "automatic_activation", problems)
    manual = _flag(message, "manual_activation", problems)
    if automatic is None and manual is None:
        problems.append("activation unknown: treated as an automatic crash alert")
        automatic = True
    activation = "automatic" if automatic else "manual"
    test_call = bool(_flag(message, "test_call", problems))
    trusted = _flag(message, "position_can_be_trusted", problems)
    named = message.get("vin")
    if named is not None and str(named).strip().upper() != vin.strip().upper():
        problems.append(f"the message names VIN {str(named)[:20]!r}, not {vin}: the sending car's VIN was used")
    position = _point(message.get("position"))
    if position is None:
        if message.get("position") is not None:
            problems.append("position unreadable")
        position = (None, None)
    moment = _msd_moment(message.get("timestamp"), problems)
    track = []
    recent = message.get("recent_positions")
    if recent is not None and not isinstance(recent, list):
        problems.append("recent_positions unreadable: not a list")
        recent = []
    for index, item in enumerate(recent or []):
        point = _point(item)
        track_problems: list[str] = []
        lat = _coordinate(point[0], 90, "lat", track_problems) if point else None
        lon = _coordinate(point[1], 180, "lon", track_problems) if point else None
        if lat is None or lon is None:
            problems.append(f"recent position {index + 1} unreadable: skipped")
            continue
        track.append({"at": None, "lat": lat, "lon": lon})
    details = {key: message.get(key) for key in ("vehicle_type", "propulsion") if message.get(key) is not None}
    case = raise_alert(session=session, vehicle_id=vehicle_id, kind="crash" if automatic else "sos",
                       source="ecall", at=moment if moment != "unreadable" else "unreadable",
                       latitude=position[0], longitude=position[1], heading=message.get("direction"),
                       passengers=message.get("number_of_passengers"), activation=activation, test_call=test_call,
                       position_trusted=trusted, track=track, problems=problems)
    if details:
        latest = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                 .order_by(CaseEvent.id.desc())).first()
        latest.details = {**latest.details, "msd": details}
    return case


ECALL_TOPIC = "vehicles/+/ecall"


def ecall_from_mqtt(*, session: Session, topic: str, payload: bytes) -> Case:
    """The same minimum set of data on ``vehicles/{VIN}/ecall``: the broker vouches for the car, as for
    its telemetry, and the VIN must belong to a registered embedded unit."""
    import json

    from forecourt.telematics import devices
    from forecourt.telematics.readings import Source

    parts = topic.split("/")
    vin = parts[1].strip().upper() if len(parts) == 3 else ""
    device = devices.by_identity(session=session, kind=Source.EMBEDDED, identifiers={vin}).get(vin)
    if device is None:
        log.warning("eCall on %s refused: no embedded unit registered for that VIN", topic)
        raise Invalid(f"No embedded unit is registered for VIN '{vin[:20]}'.", field="vin")
    try:
        message = json.loads(payload) if payload.strip() else None
    except (ValueError, UnicodeDecodeError):
        message = None
    return ecall_alert(session=session, vehicle_id=device.vehicle_id, vin=vin, message=message)

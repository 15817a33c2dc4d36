"""The pre-arrival brief: what a service advisor should know before the car rolls in.

What the brief shows rests on what the owner allowed this dealer, section by section:

* **Always** (the owner booked this dealer's bay, so the booking is the dealer's own record): the car
  (model, trim, propulsion, colour, VIN), the booked job and its reason, the time and bay. Never the
  person's name or how to reach them.
* **Open recalls** on the car, always: an affected car at any workshop must be flagged (legal
  obligation). Like ``recalls.check_in_flags`` these are facts about the car, not its owner.
* **Warranty status**, always: what the car's warranty covers is a fact about the car (repairs under
  it are part of the owner's contract). Kilometres left come from the car's odometer when the owner
  shares vehicle health, otherwise from the highest odometer reading in the service book.
* **Service reminders** granted: the owner's name and contact, the last three services, preferences.
* **Vehicle health sharing** granted: fault codes (DTCs) with plain-language descriptions and the
  car's health now.
* **What the driver noticed** (symptoms picked and described when booking): their words, so only
  when service reminders or vehicle health is shared (a section already opened and logged).
  What the advisor found is the dealer's own record and always shown.
* **Location services** granted to this dealer: the estimated time of arrival from the car's last
  position; otherwise "Position not shared".

A section the owner did not share says so ("Not shared by the owner") rather than disappearing, so an
advisor knows to ask at the desk. Every opened section goes through ``consent.require`` (one access-log
row each). Workshop cannot import customers, so the caller (the web layer) fetches the contact card
and preferences, and only if ``sharing`` says service reminders are granted; ``brief`` uses them only
after its own consent check passes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc
from forecourt.core.errors import NotFound
from forecourt.core.geo import distance_km
from forecourt.core import dates
from forecourt.core.i18n import _, ngettext
from forecourt.parties import service as parties_service
from forecourt.telematics import dtc, health
from forecourt.telematics import service as telematics_service
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import recalls, warranty
from forecourt.workshop import calendar, symptoms
from forecourt.workshop.models import Appointment

SERVICE, HEALTH, LOCATION = "service_reminders", "vehicle_health_sharing", "location_services"
SHARED_PURPOSES = (SERVICE, HEALTH, LOCATION)
NOT_SHARED = "Not shared by the owner"
LAST_SERVICES = 3
# Roads are not straight and town traffic is slow: the usual rough-and-ready estimate.
ROAD_FACTOR, URBAN_KMH = 1.3, 40.0
AT_THE_DOOR_KM = 0.3
STALE_MINUTES = 30
LATITUDE, LONGITUDE = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
ODOMETER = "Vehicle.TraveledDistance"  # metres


def sharing(*, session: Session, principal: Principal, appointment_id: int) -> set[str]:
    """Which of the brief's consent purposes the owner grants the caller's dealer and the caller's role
    reads for (nothing logged).

    The web layer asks this before fetching the owner's contact card and preferences."""
    appointment = calendar.get_for_dealer(session=session, principal=principal, appointment_id=appointment_id)
    return _granted(session, principal, appointment)


def _granted(session: Session, principal: Principal, appointment: Appointment) -> set[str]:
    """The brief's purposes the owner grants this dealer and the caller's role reads for."""
    if appointment.customer_id is None:
        return set()
    return {purpose for purpose in SHARED_PURPOSES
            if consent_service.holds(session=session, principal=principal, customer_id=appointment.customer_id,
                                     purpose=purpose)}


def _open(session: Session, principal: Principal, appointment: Appointment, purpose: str, what: str,
          reference: str | None = None) -> bool:
    """The consent door for one section: True (and logged) when open."""
    if appointment.customer_id is None:
        return False
    try:
        consent_service.require(session=session, principal=principal, customer_id=appointment.customer_id,
                                purpose=purpose, what=what, reference=reference)
    except NotFound:
        return False
    return True


def _minutes(minutes: float) -> str:
    minutes = max(1, round(minutes))
    if minutes < 60:
        return _("%(minutes)s min", minutes=minutes)
    hours, rest = divmod(minutes, 60)
    return _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest) if rest else _("%(hours)s h", hours=hours)


def _age(minutes: float) -> str:
    """How old the car's position is, as the words after "position" ("3 min old", "2 days old")."""
    if minutes < 1:
        return _("just now")
    if minutes < 60 * 24:
        return _("%(duration)s old", duration=_minutes(minutes))
    days = int(minutes // (60 * 24))
    return ngettext("%(num)s day old", "%(num)s days old", days)


def eta(*, dealer, latitude: float, longitude: float, measured_at: datetime, now: datetime) -> dict:
    """Road-ish distance (haversine × 1.3) at 40 km/h town speed, said in words."""
    km = distance_km(latitude, longitude, dealer.latitude, dealer.longitude) * ROAD_FACTOR
    minutes = km / URBAN_KMH * 60
    age_minutes = max(0.0, (as_utc(now) - as_utc(measured_at)).total_seconds() / 60)
    age = _age(age_minutes)
    if km < AT_THE_DOOR_KM:
        text = _("At the workshop (position %(age)s)", age=age)
    else:
        text = _("about %(duration)s away (%(km)s km), position %(age)s", duration=_minutes(minutes),
                 km=dates.format_number(km, 0), age=age)
    return dict(km=round(km, 1), minutes=round(minutes), age_minutes=round(age_minutes), text=text,
                stale=age_minutes > STALE_MINUTES, latitude=latitude, longitude=longitude,
                measured_at=as_utc(measured_at))


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _car(vehicle) -> dict:
    return dict(vin=vehicle.vin, model=vehicle.model_name, trim=vehicle.trim_name, propulsion=vehicle.propulsion,
                colour=vehicle.colour, model_year=vehicle.model_year, registration=vehicle.registration,
                title=vehicle.title)


def _dtc_rows(booked: list[str], active: tuple) -> list[dict]:
    rows: dict[str, dict] = {}
    for code in active:
        rows[code.code] = dict(code=code.code, description=code.description, severity=code.severity.value,
                               advice=dtc.advice(code), active=True, booked=code.code in booked)
    for raw in booked:
        code = dtc.describe(raw)
        rows.setdefault(code.code, dict(code=code.code, description=code.description, severity=code.severity.value,
                                        advice=dtc.advice(code), active=False, booked=True))
    return sorted(rows.values(), key=lambda row: (-dtc.Severity(row["severity"]).rank, row["code"]))


def _warranty(session: Session, vehicle, odometer_km: int | None, source: str | None, today) -> dict:
    return warranty.coverage(session=session, vehicle=vehicle, odometer_km=odometer_km, today=today,
                             odometer_source=source)


def recall_flags(*, session: Session, appointment: Appointment) -> list[dict]:
    """The car's open recalls, most severe first: facts about the car, never about its owner."""
    return [dict(code=c.code, title=c.title, severity=c.severity, remedy=c.remedy, campaign_id=c.id,
                 labour_minutes=c.labour_minutes)
            for c in recalls.open_recalls_for(session=session, vehicle_id=appointment.vehicle_id)]


def brief(*, session: Session, principal: Principal, appointment_id: int, preferences: dict | None,
          now: datetime, customer: dict | None = None) -> dict:
    """Everything the advisor may know before the car arrives; see the module docstring for who sees what.

    ``customer`` ({"name", "email", "phone", "preferred_contact"}) and ``preferences`` come from the
    caller and are shown only when service reminders are granted."""
    appointment = calendar.get_for_dealer(session=session, principal=principal, appointment_id=appointment_id)
    dealer = parties_service.get_organization(session=session, organization_id=appointment.dealer_id)
    vehicle = vehicles_service.get(session=session, vehicle_id=appointment.vehicle_id)
    granted = _granted(session, principal, appointment)
    ref = f"appointment {appointment.id}"
    view: dict = dict(
        appointment=appointment, id=appointment.id, dealer=dealer, car=_car(vehicle), bay=appointment.bay,
        starts_local=calendar.local(appointment.starts_at), ends_local=calendar.local(appointment.ends_at),
        job=calendar.job_label(appointment.job), reason=appointment.reason, source=appointment.source,
        status=appointment.status, status_label=calendar.STATUS_LABELS.get(appointment.status, appointment.status),
        has_owner=appointment.customer_id is not None, not_shared=NOT_SHARED,
        shared=dict(service=False, health=False, location=False),
        customer=None, preferences=None, services=None, dtcs=None, health=None, eta=None, eta_text=None,
        symptoms=None,
    )
    twin: dict = {}
    if HEALTH in granted and _open(session, principal, appointment, HEALTH, f"fault codes and health, {ref}"):
        view["shared"]["health"] = True
        twin = telematics_service.twin_of(session=session, vehicle_id=vehicle.id)
        judged = health.health_of(session=session, vehicle_id=vehicle.id)
        view["dtcs"] = _dtc_rows(list(appointment.dtc_codes or []), judged.dtcs)
        view["health"] = dict(status=judged.status, summary=judged.summary, service=judged.service.text,
                              battery=judged.battery.text, tyres=judged.tyres.text)
    if SERVICE in granted and _open(session, principal, appointment, SERVICE, f"pre-arrival brief, {ref}"):
        view["shared"]["service"] = True
        view["customer"] = customer
        view["preferences"] = preferences
        view["services"] = [dict(performed_on=r.performed_on, kind=r.kind, summary=r.summary,
                                 odometer_km=r.odometer_km, operations=list(r.operations or []),
                                 dealer_id=r.dealer_id, odometer_flag=r.odometer_flag)
                            for r in vehicles_service.service_history(session=session,
                                                                      vehicle_id=vehicle.id)[:LAST_SERVICES]]
    if LOCATION in granted and _open(session, principal, appointment, LOCATION, f"car position for the ETA, {ref}"):
        view["shared"]["location"] = True
        position = twin or telematics_service.twin_of(session=session, vehicle_id=vehicle.id)
        lat, lon = (_number(position.get(LATITUDE, (None,))[0]), _number(position.get(LONGITUDE, (None,))[0]))
        if lat is not None and lon is not None and dealer.latitude is not None and dealer.longitude is not None:
            view["eta"] = eta(dealer=dealer, latitude=lat, longitude=lon, measured_at=position[LATITUDE][1], now=now)
            view["eta_text"] = view["eta"]["text"]
        else:
            view["eta_text"] = _("The car has not reported a position yet")
    else:
        view["eta_text"] = _("Position not shared")
    # What the driver noticed is their data: shown only beside a section the owner shares (and was logged).
    if view["shared"]["health"] or view["shared"]["service"]:
        view["symptoms"] = symptoms.describe(appointment.symptoms) | dict(notes=appointment.symptom_notes or "")
    view["findings"] = appointment.findings or ""
    view["findings_at"] = calendar.local(appointment.findings_at) if appointment.findings_at else None
    view["recalls"] = recall_flags(session=session, appointment=appointment)
    odometer_km, odometer_source = None, None
    if view["shared"]["health"] and (metres := _number(twin.get(ODOMETER, (None,))[0])) is not None:
        odometer_km, odometer_source = int(metres // 1000), _("the car's odometer")
    else:
        history = vehicles_service.service_history(session=session, vehicle_id=vehicle.id)
        counted = [r.odometer_km for r in history if r.counts_for_mileage]
        if counted:
            odometer_km, odometer_source = max(counted), _("the last service")
    view["warranty"] = _warranty(session, vehicle, odometer_km, odometer_source, as_utc(now).date())
    view["odometer_km"], view["odometer_source"] = odometer_km, odometer_source
    return view

"""Sending help to a case: who is nearest, how soon they can be there, and who was sent.

Distances are great-circle distances stretched by ``ROAD_FACTOR``: roads are rarely straight, and an
ETA from the straight line would promise help sooner than it can come. Each kind of provider sets off
and drives at its own pace (``PACE``). Only providers available now are offered: open by their own
hours (partners without hours work around the clock) and under their capacity (``availability``);
the nearer ones that are not come back beside them with the reason, so the agent knows why they were
skipped. Dealers need service bays too. A tow goes to a dealer whether open or not (it arrives
later), preferably the owner's own service dealer when that one is close enough. Every dispatch is a row, a timeline event and an e-mail to the
provider (and to the receiving dealer) written in the same transaction, so help sent is never lost.

The receiving dealer sees the car coming (``incoming_for``); the owner's name and phone only when the
owner allowed that dealer service reminders — otherwise the car alone.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.assist import availability as availability_service
from forecourt.assist import notices
from forecourt.assist.models import Case, CaseEvent, Dispatch
from forecourt.assist.notices import LABEL, in_words
from forecourt.consent import service as consent_service
from forecourt.core import i18n, outbox, places
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc
from forecourt.core.clock import now as clock_now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.geo import distance_km
from forecourt.core.i18n import N_, Labels, _
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service

if TYPE_CHECKING:
    from forecourt.parties.models import Organization

ROAD_FACTOR = 1.3  # road distance ≈ straight line × 1.3
# kind -> (minutes to set off, average km/h)
PACE = {"tow": (10, 60), "emergency": (2, 80), "dealer": (15, 50)}
KINDS = tuple(PACE)
LOADING_MINUTES = 20  # a tow truck loading the car before it drives to the dealer
OWN_DEALER_RADIUS_KM = 30  # road km: the owner's service dealer is preferred for a tow within this
WEEKDAYS = availability_service.WEEKDAYS
LISTS = (("dealers", "dealer"), ("towing", "tow"), ("emergency", "emergency"))
FINISHED = ("resolved", "closed")


# --- arithmetic ------------------------------------------------------------------------------------

# How a towed car's arrival reads at the workshop that expects it.
ARRIVAL_STATES = Labels({"on_the_way": N_("on the way"), "arrived": N_("arrived")})

def road_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return distance_km(lat1, lon1, lat2, lon2) * ROAD_FACTOR


def eta_minutes(kind: str, km: float) -> int:
    """Minutes until a provider of this kind is there: setting off, then driving at its average speed."""
    set_off, speed = PACE[kind]
    return math.ceil(set_off + km / speed * 60)


def is_open(organization: Organization, moment: datetime) -> bool:
    """Open at ``moment`` by its opening hours ({"mon": [["08:00", "18:00"]]}) on its own clock; a partner
    without hours works around the clock."""
    return availability_service.is_open(organization, moment)


# --- who can help ----------------------------------------------------------------------------------

def get_case(*, session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found")
    return case


def case_by_number(*, session: Session, number: str) -> Case:
    case = session.scalars(select(Case).where(Case.number == number.strip().upper())).first()
    if case is None:
        raise NotFound("Case not found")
    return case


def _position(case: Case) -> tuple[float, float]:
    if case.latitude is None or case.longitude is None:
        raise Invalid(_("Case %(number)s has no position yet: ask the caller where they are, then look for help nearby.", number=case.number), field="position")
    return case.latitude, case.longitude


def _candidates(session: Session, kind: str) -> list[Organization]:
    if kind == "dealer":
        return parties_service.located_organizations(session=session, kind="dealer", with_service_bays=True)
    return parties_service.located_organizations(session=session, kind="partner",
                                                 partner_kind="roadside" if kind == "tow" else "emergency")


def _offer(organization: Organization, kind: str, km: float) -> dict:
    minutes = eta_minutes(kind, km)
    return {"provider_id": organization.id, "kind": kind, "name": organization.name, "city": organization.city,
            "phone": organization.phone, "latitude": organization.latitude, "longitude": organization.longitude,
            "distance_km": round(km, 1), "eta_minutes": minutes, "eta": in_words(minutes)}


def _ranked(session: Session, kind: str, lat: float, lon: float) -> list[tuple[Organization, float]]:
    found = [(o, road_km(lat, lon, o.latitude, o.longitude)) for o in _candidates(session, kind)]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))


def providers_for(*, session: Session, case_id: int, now: datetime, limit: int = 5) -> dict:
    """The nearest help of each kind, nearest first, with road distance and ETA in words.

    Keys: ``dealers`` (open now, with service bays), ``towing`` (roadside partners), ``emergency``, each
    of those available now; ``unavailable`` has the same three keys, for the nearer providers skipped
    (each offer's ``availability`` says why: closed until when, or at capacity); ``problem`` says why
    the lists are empty when the case has no position yet (nothing is "nearest" without one). ``flat``
    gives the three lists of those available as one, for a map.
    """
    case = get_case(session=session, case_id=case_id)
    try:
        lat, lon = _position(case)
    except Invalid as missing:
        return {"case": case.number, "latitude": None, "longitude": None, "problem": missing.message,
                "dealers": [], "towing": [], "emergency": [],
                "unavailable": {"dealers": [], "towing": [], "emergency": []}}
    found = {"case": case.number, "latitude": lat, "longitude": lon, "problem": None,
             "unavailable": {}}
    for key, kind in LISTS:
        ranked = _ranked(session, kind, lat, lon)
        busy = availability_service.busy_counts(session=session, provider_ids=[o.id for o, _ in ranked])
        offered, skipped = [], []
        for organization, km in ranked:
            offer = _offer(organization, kind, km) | {"availability": availability_service.availability(
                organization, now, busy.get(organization.id, 0))}
            if offer["availability"]["state"] == "open":
                offered.append(offer)
                if len(offered) == limit:
                    break
            elif len(skipped) < limit:
                skipped.append(offer)  # nearer than the last one offered: the agent sees why it was not
        found[key], found["unavailable"][key] = offered, skipped
    return found


def flat(providers: dict) -> list[dict]:
    """Every offer of ``providers_for`` in one list (dealers, towing, emergency)."""
    return [*providers["dealers"], *providers["towing"], *providers["emergency"]]


def tow_destination(*, session: Session, case: Case) -> tuple[Organization, float] | None:
    """Where a tow takes the car: the owner's service dealer within ``OWN_DEALER_RADIUS_KM``, else the
    nearest dealer with service bays. Opening hours do not matter: the car arrives later."""
    lat, lon = _position(case)
    ranked = _ranked(session, "dealer", lat, lon)
    vehicle = vehicles_service.vehicle_or_none(session=session, vehicle_id=case.vehicle_id)
    own = vehicle.service_dealer_id if vehicle is not None else None
    for organization, km in ranked:
        if organization.id == own and km <= OWN_DEALER_RADIUS_KM:
            return organization, km
    return ranked[0] if ranked else None


# --- sending help ----------------------------------------------------------------------------------

def _fits(organization: Organization, kind: str) -> bool:
    if kind == "dealer":
        return organization.kind == "dealer" and organization.service_bays > 0
    wanted = "roadside" if kind == "tow" else "emergency"
    return organization.kind == "partner" and organization.partner_kind == wanted


def _check_available(session: Session, provider: Organization, kind: str, moment: datetime) -> None:
    busy = availability_service.busy_counts(session=session, provider_ids=[provider.id]).get(provider.id, 0)
    found = availability_service.availability(provider, moment, busy)
    if found["state"] == "closed":
        if kind == "dealer":
            raise Invalid(_("%(name)s is closed now; send a tow truck or another dealer.", name=provider.name),
                          field="provider_id")
        raise Invalid(_("%(name)s is closed now; send another provider from the list.", name=provider.name),
                      field="provider_id")
    if found["state"] == "at_capacity":
        raise Invalid(_("%(name)s is at capacity (%(busy)s of %(capacity)s cases); send another provider from the list.",
                        name=provider.name, busy=found["busy"], capacity=found["capacity"]), field="provider_id")


def dispatch(*, session: Session, principal: Principal, case_id: int, provider_id: int, kind: str,
             now: datetime | None = None, portal_url: str = "") -> Dispatch:
    """Sends one provider: the row, a "dispatched" event on the timeline, the notices; the case is dispatched.

    ``portal_url`` makes the answer link in the notice absolute (the provider calls it from outside)."""
    moment = now or clock_now()
    case = get_case(session=session, case_id=case_id)
    if case.status in FINISHED:
        raise Conflict(_("Case %(number)s is %(status)s: no help can be sent to it any more.", number=case.number, status=case.status))
    if kind not in KINDS:
        raise Invalid(_("Send a tow, a dealer or an emergency service, not '%(kind)s'.", kind=kind), field="kind")
    lat, lon = _position(case)
    provider = parties_service.organization_or_none(session=session, organization_id=provider_id)
    if provider is None or not provider.is_active or provider.position is None:
        raise NotFound("Provider not found")
    if not _fits(provider, kind):
        raise Invalid(_("%(name)s is not a %(kind)s; choose one from the %(kind)s list.", name=provider.name,
                        kind=str(LABEL[kind])),
                      field="provider_id")
    _check_available(session, provider, kind, moment)
    km = road_km(lat, lon, provider.latitude, provider.longitude)
    destination = tow_destination(session=session, case=case) if kind == "tow" else None
    if kind == "tow" and destination is None:
        raise Invalid(_("No dealer with service bays can take the car; arrange the tow by phone."), field="kind")
    row = Dispatch(case_id=case.id, provider_id=provider.id, kind=kind, distance_km=round(km, 1),
                   eta_minutes=eta_minutes(kind, km), dispatched_at=moment, dispatched_by=principal.user_id,
                   destination_dealer_id=destination[0].id if destination else None, status="on_the_way")
    session.add(row)
    session.flush()
    text = _("Sent %(kind)s %(provider)s: %(km)s km away, there in %(eta)s.", kind=str(LABEL[kind]),
             provider=provider.name, km=f"{row.distance_km:g}", eta=in_words(row.eta_minutes))
    if destination:
        text += f" The car goes to {destination[0].name}."
    session.add(CaseEvent(case_id=case.id, kind="dispatched", at=moment, user_id=principal.user_id, text=text,
                          details={"dispatch_id": row.id, "provider_id": provider.id, "kind": kind,
                                   "distance_km": row.distance_km, "eta_minutes": row.eta_minutes,
                                   "destination_dealer_id": row.destination_dealer_id}))
    if case.status in ("open", "acknowledged"):
        case.status = "dispatched"
    if case.dispatched_at is None:
        case.dispatched_at = moment
    _notify(session, case, row, provider, destination[0] if destination else None, portal_url)
    session.flush()
    return row


def _notify(session: Session, case: Case, row: Dispatch, provider: Organization, destination: Organization | None,
            portal_url: str) -> None:
    """The provider hears at once (a signed webhook, or an e-mail); the receiving dealer by e-mail.
    Both rest on vital interest: help is on its way."""
    with outbox.written_for(session, organization_id=provider.id):  # in the provider's market's language
        notices.write(session=session, case=case, row=row, provider=provider, label=str(LABEL[row.kind]),
                      eta=in_words(row.eta_minutes), destination=destination, portal_url=portal_url)
    if destination is None:
        return
    with outbox.written_for(session, organization_id=destination.id):  # in the receiving dealer's language
        arrives = in_words(arrival_minutes(row, destination_km(session, row, case)))
        outbox.enqueue(session=session, customer_id=None, organization_id=destination.id, channel="email",
                       topic="incoming_car",
                       subject=_("On Call %(number)s: a car is being towed to you", number=case.number),
                       body=_("%(provider)s is towing a car to you after an On Call %(kind)s case.",
                              provider=provider.name, kind=case.kind) + "\n\n"
                       + _("Car: %(car)s", car=notices.car_text(vehicles_service.vehicle_or_none(session=session, vehicle_id=case.vehicle_id))) + "\n"
                       + _("Expected %(arrives)s from now.", arrives=arrives),
                       link="/workspace/incoming", basis=notices.BASIS,
                       dedupe_key=f"dispatch:{row.id}:destination")


# --- the receiving dealer ------------------------------------------------------------------------

def destination_km(session: Session, row: Dispatch, case: Case) -> float:
    dealer = (parties_service.organization_or_none(session=session, organization_id=row.destination_dealer_id)
              if row.destination_dealer_id else None)
    if dealer is None or case.latitude is None or dealer.position is None:
        return 0.0
    return road_km(case.latitude, case.longitude, dealer.latitude, dealer.longitude)


def arrival_minutes(row: Dispatch, km_to_dealer: float, now: datetime | None = None) -> int:
    """Minutes until the towed car reaches the dealer: the truck's ETA at the car, loading, the drive."""
    _, speed = PACE["tow"]
    total = row.eta_minutes + LOADING_MINUTES + math.ceil(km_to_dealer / speed * 60)
    if now is None:
        return total
    arrives = as_utc(row.dispatched_at) + timedelta(minutes=total)
    return max(0, math.ceil((arrives - as_utc(now)).total_seconds() / 60))


def _near(lat: float, lon: float) -> str:
    """A place the dealer recognises: the nearest town, in the reader's language."""
    return places.nearest_town(lat, lon).in_words(i18n.current_locale())


def _dealer_of(principal: Principal) -> int:
    if principal.organization_id is None:
        raise NotFound("Not found")
    return principal.organization_id


def incoming_for(*, session: Session, principal: Principal, now: datetime) -> list[dict]:
    """Cars on their way to the principal's dealer, soonest first.

    ``customer_id`` is set only when the owner allowed this dealer service reminders; the read then
    passes the consent door and is in the owner's access log. Otherwise the dealer sees the car only.
    """
    dealer_id = _dealer_of(principal)
    rows = session.execute(select(Dispatch, Case).join(Case, Case.id == Dispatch.case_id)
                           .where(Dispatch.destination_dealer_id == dealer_id, Dispatch.status == "on_the_way",
                                  Case.vehicle_id.is_not(None))
                           .order_by(Dispatch.dispatched_at, Dispatch.id)).all()
    cars = vehicles_service.get_many(session=session, vehicle_ids=[case.vehicle_id for _row, case in rows])
    found = []
    for row, case in rows:
        vehicle = cars.get(case.vehicle_id)
        if vehicle is None:
            continue
        km = destination_km(session, row, case)
        minutes = arrival_minutes(row, km, now)
        provider = parties_service.organization_or_none(session=session, organization_id=row.provider_id)
        customer_id = None
        if case.customer_id is not None and consent_service.holds(
                session=session, principal=principal, customer_id=case.customer_id, purpose="service_reminders"):
            consent_service.require(session=session, principal=principal, customer_id=case.customer_id,
                                    purpose="service_reminders", what="incoming towed car")
            customer_id = case.customer_id
        place = _near(case.latitude, case.longitude) if case.latitude is not None else ""
        found.append({"dispatch_id": row.id, "case": case.number, "case_kind": case.kind, "vin": vehicle.vin,
                      "model": f"{vehicle.model_year} {vehicle.trim.model.name} {vehicle.trim.name}",
                      "colour": vehicle.colour, "propulsion": vehicle.trim.propulsion,
                      "towed_by": provider.name if provider else None, "dispatched_at": row.dispatched_at,
                      "eta_minutes": minutes, "eta": in_words(minutes),
                      "from": ", ".join(part for part in (place, _("%(km)s km away", km=f"{km:.0f}")) if part),
                      "customer_id": customer_id})
    return sorted(found, key=lambda item: (item["eta_minutes"], item["dispatch_id"]))


def sent_for(*, session: Session, case_id: int) -> list[dict]:
    """Who was sent to a case, in the order they were sent, with the dealer a tow takes the car to."""
    rows = list(session.scalars(select(Dispatch).where(Dispatch.case_id == case_id).order_by(Dispatch.id)))
    names = parties_service.names_of(session=session, organization_ids={d.provider_id for d in rows}
                                     | {d.destination_dealer_id for d in rows})
    return [dict(kind=d.kind, provider=names[d.provider_id], distance_km=d.distance_km, eta_minutes=d.eta_minutes,
                 destination=names.get(d.destination_dealer_id), status=d.status, dispatched_at=d.dispatched_at,
                 answer=d.answer, answer_note=d.answer_note)
            for d in rows if d.provider_id in names]


def incoming_with_owners(*, session: Session, principal: Principal, now: datetime) -> list[dict]:
    """``incoming_for`` with the owner's name and contact on the cars whose owner allowed it."""
    shown = []
    for item in incoming_for(session=session, principal=principal, now=now):
        customer = None
        if item["customer_id"] is not None:
            found = customers_service.get(session=session, customer_id=item["customer_id"])
            customer = {"name": f"{found.first_name or ''} {found.last_name or ''}".strip(), "phone": found.phone,
                        "email": found.email}
        shown.append(item | {"customer": customer})
    return shown


def mark_arrived(*, session: Session, principal: Principal, dispatch_id: int, now: datetime) -> Dispatch:
    """The receiving dealer confirms the car is on its yard; the case timeline says so."""
    dealer_id = _dealer_of(principal)
    row = session.get(Dispatch, dispatch_id)
    if row is None or row.destination_dealer_id != dealer_id:
        raise NotFound("Incoming car not found")
    if row.status != "on_the_way":
        raise Conflict(_("This car is already marked “%(status)s”.", status=ARRIVAL_STATES.get(row.status, row.status)))
    row.status, row.arrived_at = "arrived", now
    dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
    session.add(CaseEvent(case_id=row.case_id, kind="arrived", at=now, user_id=principal.user_id,
                          text=_("The towed car arrived at %(dealer)s.", dealer=dealer.name),
                          details={"dispatch_id": row.id, "dealer_id": dealer_id}))
    session.flush()
    return row

"""Demo data: each dealer's courtesy fleet, and loaners already lent for some upcoming appointments.

Three unsold cars of the current range per workshop (an electric one, a combustion or hybrid one, and
one more), registered to the dealer's stock. Upcoming appointments get a loaner now and then, chosen
as an advisor would without sales contact (same propulsion, then any free car), with the preset made
from the owner's preferences when they allow the dealer service reminders. Bulk inserts: a few
hundred rows, well under a second. Call after ``demo.workshop`` has written the appointments.
"""

from __future__ import annotations

from datetime import datetime
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent.models import Grant
from forecourt.customers.models import Preferences
from forecourt.demo import bulk, fleet, korea_people
from forecourt.parties.models import Organization
from forecourt.vehicles.models import Trim, Vehicle
from forecourt.workshop import loaners
from forecourt.workshop.models import Appointment, Loaner, LoanerBooking

PER_DEALER = 3
LENT_SHARE = 0.35
_TABLES = [Vehicle.__table__, Loaner.__table__, LoanerBooking.__table__]


def _current_trims(session: Session, year: int) -> list[tuple[fleet.TrimRef, str]]:
    specs = {}
    for code, _name, body, letter, _from, _to, trims in fleet.MODELS:
        for position, (trim_code, _trim_name, propulsion, t_from, t_to, _price) in enumerate(trims, start=1):
            specs[trim_code] = (code, letter, body, propulsion, t_from, t_to, position)
    found = []
    for trim_id, trim_code in session.execute(select(Trim.id, Trim.code)):
        spec = specs.get(trim_code)
        if spec and spec[4] <= year and (spec[5] is None or spec[5] >= year):
            code, letter, body, propulsion, t_from, t_to, position = spec
            found.append((fleet.TrimRef(id=trim_id, model_code=code, vin_letter=letter, body=body,
                                        propulsion=propulsion, year_from=t_from, year_to=t_to, position=position),
                          code))
    return found


def _pick(trims, rng: Random) -> list:
    electric = [t for t in trims if t[0].propulsion == "electric"]
    burning = [t for t in trims if t[0].propulsion != "electric"]
    chosen = [rng.choice(electric)] if electric else []
    if burning:
        chosen.append(rng.choice([t for t in burning if not chosen or t[1] != chosen[0][1]] or burning))
    while len(chosen) < PER_DEALER and trims:
        chosen.append(rng.choice(trims))
    return chosen[:PER_DEALER]


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    dealers = list(session.scalars(select(Organization).where(Organization.kind == "dealer",
                                                              Organization.service_bays > 0).order_by(Organization.id)))
    trims = _current_trims(session, now.year)
    if not dealers or not trims:
        return {"workshop_loaners": 0, "workshop_loaner_bookings": 0}
    ids, rows = bulk.Ids(session, _TABLES), bulk.Rows(_TABLES)
    taken: set[str] = set()
    seoul = korea_people.towns()[0]
    fleet_of: dict[int, list[dict]] = {}
    for dealer in dealers:
        for trim, _model in _pick(trims, rng):
            vehicle_id = ids.take(Vehicle.__table__)
            rows.add(Vehicle.__table__, dict(
                id=vehicle_id, vin=fleet.vin(trim, now.year, vehicle_id), trim_id=trim.id, model_year=now.year,
                colour=rng.choices(fleet.COLOURS, fleet.COLOUR_WEIGHTS)[0], production_date=None,
                registration=(seoul.registration(rng, taken) if dealer.market == "KR"  # Korean plates in Korea
                              else fleet.plate("FC", rng, taken, electric=trim.propulsion == "electric")),
                selling_dealer_id=dealer.id, service_dealer_id=dealer.id, created_at=now))
            loaner_id = ids.take(Loaner.__table__)
            rows.add(Loaner.__table__, dict(id=loaner_id, dealer_id=dealer.id, vehicle_id=vehicle_id, is_active=True))
            fleet_of.setdefault(dealer.id, []).append(dict(id=loaner_id, propulsion=trim.propulsion, busy=[]))
    lent = _lend(session, rng, now, ids, rows, fleet_of)
    rows.flush(session)
    bulk.realign_sequences(session, _TABLES)
    return {"workshop_loaners": sum(len(cars) for cars in fleet_of.values()), "workshop_loaner_bookings": lent}


def _lend(session: Session, rng: Random, now: datetime, ids, rows, fleet_of: dict) -> int:
    upcoming = list(session.scalars(select(Appointment).where(
        Appointment.status == "confirmed", Appointment.starts_at > now).order_by(Appointment.starts_at)))
    if not upcoming:
        return 0
    propulsion = dict(session.execute(select(Vehicle.id, Trim.propulsion).join(Trim, Trim.id == Vehicle.trim_id)
                                      .where(Vehicle.id.in_({a.vehicle_id for a in upcoming}))).all())
    sharing = set(session.execute(select(Grant.customer_id, Grant.organization_id).where(
        Grant.purpose_code == "service_reminders", Grant.withdrawn_at.is_(None))).all())
    preferences = {p.customer_id: p for p in session.scalars(select(Preferences).where(
        Preferences.customer_id.in_({a.customer_id for a in upcoming if a.customer_id})))}
    lent = 0
    for appointment in upcoming:
        cars = fleet_of.get(appointment.dealer_id)
        if not cars or rng.random() > LENT_SHARE:
            continue
        free = [c for c in cars if all(not (start < appointment.ends_at and end > appointment.starts_at)
                                       for start, end in c["busy"])]
        chosen = loaners.choose(candidates=[dict(c, model_id=None) for c in free], interest={},
                                propulsion=propulsion.get(appointment.vehicle_id))
        if chosen is None:
            continue
        car, _tier, reason = chosen
        next(c for c in cars if c["id"] == car["id"])["busy"].append((appointment.starts_at, appointment.ends_at))
        saved = preferences.get(appointment.customer_id)
        shared = saved is not None and (appointment.customer_id, appointment.dealer_id) in sharing
        preset = loaners.preset_from(dict(radio_presets=saved.radio_presets, seat_position=saved.seat_position,
                                          navigation_favourites=saved.navigation_favourites) if shared else None)
        rows.add(LoanerBooking.__table__, dict(
            id=ids.take(LoanerBooking.__table__), loaner_id=car["id"], appointment_id=appointment.id,
            customer_id=appointment.customer_id, starts_at=appointment.starts_at, ends_at=appointment.ends_at,
            preset=preset, reason=reason, created_at=now))
        lent += 1
    return lent

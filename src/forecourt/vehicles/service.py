"""Catalogue, vehicles, ownership and service history.

Ownership decides what a customer sees of a car: an owner sees the car's records up to the day
they sold it; the new owner sees the car from the day they bought it, plus its service book,
which travels with the car (without the previous owner's name).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from vininfo import Vin

from forecourt.core.clock import now
from forecourt.core.db import bulk_rows, one_of
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.money import Money, minor_digits
from forecourt.vehicles.models import (Ownership, ServiceRecord, Trim, TrimPrice, Vehicle, VehicleModel,
                                       WarrantyContract, WarrantyOffer)

if TYPE_CHECKING:  # annotations only: the objects come from the other domain's service
    from forecourt.parties.models import Market

_VIN_ALPHABET = set("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")


def normalise_vin(vin: str) -> str:
    """ISO 3779: 17 characters, no I, O or Q, and a valid check digit (position 9)."""
    candidate = (vin or "").strip().upper()
    if len(candidate) != 17:
        raise Invalid(_("A VIN has 17 characters; '%(candidate)s' has %(len)s.", candidate=candidate, len=len(candidate)), field="vin")
    wrong = sorted(set(candidate) - _VIN_ALPHABET)
    if wrong:
        raise Invalid(_("A VIN cannot contain %(values)s (I, O and Q are never used).", values=', '.join(wrong)), field="vin")
    if candidate[9] in "UZ0":  # the checksum below refuses these too, but would blame the check digit
        raise Invalid(_("The VIN's 10th character (model year) cannot be %(value)s; U, Z and 0 are never used there.", value=candidate[9]), field="vin")
    if not Vin(candidate).verify_checksum():
        raise Invalid(_("The VIN's check digit (9th character) does not match; please check for a typo."),
                      field="vin")
    return candidate


# --- catalogue -----------------------------------------------------------------------------------

def list_models(*, session: Session) -> list[VehicleModel]:
    return list(session.scalars(select(VehicleModel).order_by(VehicleModel.name)).unique())


def model_exists(*, session: Session, model_id: int) -> bool:
    return session.get(VehicleModel, model_id) is not None


def create_model(*, session: Session, code: str, name: str, body: str, year_from: int,
                 year_to: int | None = None) -> VehicleModel:
    model = VehicleModel(code=code, name=name, body=body, year_from=year_from, year_to=year_to)
    session.add(model)
    session.flush()
    return model


def create_trim(*, session: Session, model_id: int, code: str, name: str, propulsion: str,
                year_from: int, base_price: float, year_to: int | None = None) -> Trim:
    trim = Trim(model_id=model_id, code=code, name=name, propulsion=propulsion, year_from=year_from,
                year_to=year_to, base_price=base_price)
    session.add(trim)
    session.flush()
    return trim


def set_trim_price(*, session: Session, trim_id: int, market: Market, amount) -> TrimPrice:
    """The trim's list price in ``market``, in that market's currency (a won price has no cents)."""
    price = Money.of(amount, market.currency)
    if price.amount < 0 or price != price.rounded():
        raise Invalid(_("A price in %(currency)s is a positive amount with at most %(digits)s decimals.",
                        currency=market.currency, digits=minor_digits(market.currency)), field="amount")
    row = session.get(TrimPrice, (trim_id, market.code)) or TrimPrice(trim_id=trim_id, market=market.code)
    row.amount, row.currency = price.amount, price.currency
    session.add(row)
    session.flush()
    return row


def trim_price(*, session: Session, trim: Trim, market: Market) -> Money | None:
    """What the trim costs in ``market``: its price row there, else its home price when the market pays in
    the trim's own currency; ``None``: not sold in that market (never a price in another currency)."""
    row = session.get(TrimPrice, (trim.id, market.code))
    if row is not None:
        return Money.of(row.amount, row.currency)
    if (trim.currency or "EUR") == market.currency:
        return Money.of(trim.base_price, market.currency)
    return None


def get_trim(*, session: Session, trim_id: int) -> Trim:
    trim = session.get(Trim, trim_id)
    if trim is None:
        raise Invalid(_("There is no trim %(trim_id)s in the catalogue.", trim_id=trim_id), field="trim_id")
    return trim


# --- vehicles ------------------------------------------------------------------------------------

def get_by_vin(*, session: Session, vin: str) -> Vehicle:
    vehicle = session.scalars(select(Vehicle).where(Vehicle.vin == (vin or "").strip().upper())).first()
    if vehicle is None:
        raise NotFound("Vehicle not found")
    return vehicle


def register(*, session: Session, vin: str, trim_id: int, model_year: int, colour: str | None = None,
             production_date: date | None = None, registration: str | None = None,
             selling_dealer_id: int | None = None, service_dealer_id: int | None = None) -> Vehicle:
    vin = normalise_vin(vin)
    trim = get_trim(session=session, trim_id=trim_id)
    if not (trim.year_from <= model_year <= (trim.year_to or 9999)):
        raise Invalid(_("The %(name)s %(name2)s was built for model years %(year_from)s–%(value)s, not %(model_year)s.", name=trim.model.name, name2=trim.name, year_from=trim.year_from, value=trim.year_to or 'today', model_year=model_year), field="model_year")
    if session.scalars(select(Vehicle.id).where(Vehicle.vin == vin)).first():
        raise Conflict(_("Vehicle %(vin)s is already registered.", vin=vin), field="vin")
    vehicle = Vehicle(vin=vin, trim_id=trim.id, model_year=model_year, colour=colour,
                      production_date=production_date, registration=registration,
                      selling_dealer_id=selling_dealer_id, service_dealer_id=service_dealer_id)
    session.add(vehicle)
    session.flush()
    return vehicle


def current_ownership(*, session: Session, vehicle_id: int) -> Ownership | None:
    return session.scalars(select(Ownership).where(Ownership.vehicle_id == vehicle_id,
                                                   Ownership.ended_at.is_(None))).first()


def current_owner_id(*, session: Session, vehicle_id: int) -> int | None:
    ownership = current_ownership(session=session, vehicle_id=vehicle_id)
    return ownership.customer_id if ownership else None


ACQUISITIONS = ("dealer_sale", "private_sale", "correction")


def check_change_moment(*, session: Session, vehicle: Vehicle, at: datetime) -> datetime:
    """When a car may change hands: not in the future, and not before anything already recorded about
    it (the current owner's purchase, its last service, the day it was built), so nobody moves a car
    back in time to take its past from the owner who lived it."""
    if at.tzinfo is None:
        raise Invalid(_("Give the time of the change with its time zone."), field="at")
    if at > now():
        raise Invalid(_("A change of owner cannot be dated in the future."), field="at")
    previous = current_ownership(session=session, vehicle_id=vehicle.id)
    if previous is not None and at <= previous.started_at:
        raise Invalid(_("A change of owner cannot predate the current owner's purchase (%(day)s).",
                        day=previous.started_at.date().isoformat()), field="at")
    last_ended = session.scalars(select(Ownership.ended_at).where(Ownership.vehicle_id == vehicle.id,
                                                                  Ownership.ended_at.is_not(None))
                                 .order_by(Ownership.ended_at.desc()).limit(1)).first()
    if last_ended is not None and at < last_ended:
        raise Invalid(_("The car last changed hands on %(day)s; a change of owner cannot be dated before that.",
                        day=last_ended.date().isoformat()), field="at")
    last_service = session.scalars(select(ServiceRecord.performed_on).where(
        ServiceRecord.vehicle_id == vehicle.id, ServiceRecord.counts_for_mileage.is_(True))
                                   .order_by(ServiceRecord.performed_on.desc()).limit(1)).first()
    if last_service is not None and at.date() < last_service:
        raise Invalid(_("The car was serviced on %(day)s; a change of owner cannot be dated before that.",
                        day=last_service.isoformat()), field="at")
    if vehicle.production_date is not None and at.date() < vehicle.production_date:
        raise Invalid(_("The car was built on %(day)s; a change of owner cannot be dated before that.",
                        day=vehicle.production_date.isoformat()), field="at")
    return at


def transfer(*, session: Session, vehicle_id: int, customer_id: int, at: datetime | None = None,
             dealer_id: int | None = None, acquisition: str | None = None) -> Ownership:
    """The previous owner's period ends as the new owner's begins.

    The primitive under the flows that may change owners (``sales.transfers``: a dealer's hand-over of
    its stock, a sale the owner confirmed, the carmaker's correction) and under data imports; routes
    never call it directly. The moment is now unless a caller brings one inside the car's history."""
    vehicle = get(session=session, vehicle_id=vehicle_id)
    at = check_change_moment(session=session, vehicle=vehicle, at=at or now())
    if acquisition is not None and acquisition not in ACQUISITIONS:
        raise Invalid(_("Unknown way of acquiring a car: %(how)s.", how=acquisition), field="acquisition")
    previous = current_ownership(session=session, vehicle_id=vehicle_id)
    if previous is not None:
        if previous.customer_id == customer_id:
            raise Conflict(_("This customer already owns the vehicle."), field="customer_id")
        previous.ended_at = at
    ownership = Ownership(vehicle_id=vehicle_id, customer_id=customer_id, started_at=at,
                          sold_by_dealer_id=dealer_id, acquisition=acquisition)
    session.add(ownership)
    if dealer_id is not None:
        vehicle.selling_dealer_id = dealer_id
        vehicle.service_dealer_id = vehicle.service_dealer_id or dealer_id
    session.flush()
    return ownership


def end_ownership(*, session: Session, vehicle_id: int, at: datetime | None = None,
                  stock_dealer_id: int | None = None) -> Ownership:
    """The owner's period ends and nobody follows: a trade-in (the car joins that dealer's stock) or a
    correction that takes a car back from someone it was wrongly registered to."""
    vehicle = get(session=session, vehicle_id=vehicle_id)
    previous = current_ownership(session=session, vehicle_id=vehicle_id)
    if previous is None:
        raise Conflict(_("This car has no owner."), field="vin")
    previous.ended_at = check_change_moment(session=session, vehicle=vehicle, at=at or now())
    vehicle.selling_dealer_id = stock_dealer_id
    session.flush()
    return previous


def current_car_of(*, session: Session, customer_id: int, vin: str) -> Vehicle:
    """The customer's current car by VIN; anybody else's car, or one they sold, does not exist for them."""
    vehicle = get_by_vin(session=session, vin=vin)
    if owned_by(session=session, customer_id=customer_id, vehicle=vehicle).ended_at is not None:
        raise NotFound("Vehicle not found")
    return vehicle


def in_stock_of(*, session: Session, vehicle: Vehicle, dealer_id: int) -> bool:
    """Whether the car is this dealer's to sell: nobody owns it, and this dealer took it into stock."""
    return (vehicle.selling_dealer_id == dealer_id
            and current_ownership(session=session, vehicle_id=vehicle.id) is None)


def ownerships_of(*, session: Session, customer_id: int, current_only: bool = False) -> list[Ownership]:
    query = select(Ownership).where(Ownership.customer_id == customer_id)
    if current_only:
        query = query.where(Ownership.ended_at.is_(None))
    return list(session.scalars(query.order_by(Ownership.started_at.desc())))


def vehicles_of(*, session: Session, customer_id: int, current_only: bool = True) -> list[tuple[Vehicle, Ownership]]:
    rows = session.execute(select(Vehicle, Ownership).join(Ownership, Ownership.vehicle_id == Vehicle.id)
                           .where(Ownership.customer_id == customer_id,
                                  *( [Ownership.ended_at.is_(None)] if current_only else []))
                           .order_by(Ownership.started_at.desc()))
    return [(v, o) for v, o in rows.unique()]


def current_cars_of(*, session: Session, customer_ids: list[int]) -> dict[int, list[Vehicle]]:
    """Cars each listed customer owns now, in one query, so a list page does not read per row."""
    cars: dict[int, list[Vehicle]] = {customer_id: [] for customer_id in customer_ids}
    if not customer_ids:
        return cars
    rows = session.execute(select(Ownership.customer_id, Vehicle).join(Vehicle, Ownership.vehicle_id == Vehicle.id)
                           .where(Ownership.customer_id.in_(customer_ids), Ownership.ended_at.is_(None))
                           .order_by(Ownership.started_at.desc(), Vehicle.id))
    for customer_id, vehicle in rows:
        cars[customer_id].append(vehicle)
    return cars


def unsold_stock(*, session: Session, dealer_id: int, trim_id: int | None = None, excluding=None,
                 limit: int = 200, oldest_first: bool = False) -> list[Vehicle]:
    """The dealer's cars nobody owns yet, newest model year first (``oldest_first``: in the order they
    were registered); ``excluding`` (ids or a select of ids) leaves out cars the caller has already
    promised, such as those assigned to an open order or lent as courtesy cars."""
    owned = select(Ownership.vehicle_id).where(Ownership.ended_at.is_(None))
    query = select(Vehicle).where(Vehicle.selling_dealer_id == dealer_id, Vehicle.id.not_in(owned))
    if trim_id is not None:
        query = query.where(Vehicle.trim_id == trim_id)
    if excluding is not None:
        query = query.where(Vehicle.id.not_in(excluding))
    order = (Vehicle.id,) if oldest_first else (Vehicle.model_year.desc(), Vehicle.vin)
    return list(session.scalars(query.order_by(*order).limit(limit)))


def ownership_history(*, session: Session, vehicle_id: int) -> list[Ownership]:
    return list(session.scalars(select(Ownership).where(Ownership.vehicle_id == vehicle_id)
                                .order_by(Ownership.started_at)))


def owned_by(*, session: Session, customer_id: int, vehicle: Vehicle) -> Ownership:
    """The customer's most recent ownership of this car, or NotFound: they never owned it."""
    ownership = session.scalars(select(Ownership).where(Ownership.vehicle_id == vehicle.id,
                                                        Ownership.customer_id == customer_id)
                                .order_by(Ownership.started_at.desc())).first()
    if ownership is None:
        raise NotFound("Vehicle not found")
    return ownership


def erase_owner(*, session: Session, customer_id: int) -> dict:
    """Unlink an erased person from cars and their records; the records themselves stay with the car."""
    ownerships = list(session.scalars(select(Ownership).where(Ownership.customer_id == customer_id)))
    records = list(session.scalars(select(ServiceRecord).where(ServiceRecord.customer_id == customer_id)))
    contracts = warranty_contracts_of(session=session, customer_id=customer_id)
    for row in (*ownerships, *records, *contracts):
        row.customer_id = None
    # Offers describe only the person's dealings; an accepted one lives on as its contract.
    offers = session.execute(delete(WarrantyOffer).where(WarrantyOffer.customer_id == customer_id)).rowcount
    session.flush()
    return {"ownerships": len(ownerships), "service_records": len(records), "warranty_contracts": len(contracts),
            "warranty_offers": offers}


def warranty_offers_of(*, session: Session, customer_id: int) -> list[WarrantyOffer]:
    """Extended warranties dealers offered this person, whatever became of them."""
    return list(session.scalars(select(WarrantyOffer).where(WarrantyOffer.customer_id == customer_id)
                                .order_by(WarrantyOffer.id)))


def warranty_contracts_of(*, session: Session, customer_id: int) -> list[WarrantyContract]:
    """Extended warranties this person bought (the contract stays with the car)."""
    return list(session.scalars(select(WarrantyContract).where(WarrantyContract.customer_id == customer_id)
                                .order_by(WarrantyContract.id)))


# --- service history -----------------------------------------------------------------------------

def add_service_record(*, session: Session, vehicle_id: int, dealer_id: int | None, performed_on: date,
                       odometer_km: int, kind: str, summary: str, operations: list | None = None,
                       total_cost: float = 0) -> ServiceRecord:
    if odometer_km < 0 or odometer_km > 2_000_000:
        raise Invalid(_("The odometer reading must be between 0 and 2,000,000 km."), field="odometer_km")
    owner = session.scalars(select(Ownership.customer_id).where(
        Ownership.vehicle_id == vehicle_id,
        Ownership.started_at <= datetime.combine(performed_on, time.max, tzinfo=UTC),
    ).order_by(Ownership.started_at.desc())).first()
    record = ServiceRecord(vehicle_id=vehicle_id, dealer_id=dealer_id, customer_id=owner,
                           performed_on=performed_on, odometer_km=odometer_km, kind=kind, summary=summary,
                           operations=operations or [], total_cost=total_cost)
    session.add(record)
    session.flush()
    return record


def service_history(*, session: Session, vehicle_id: int, until: datetime | None = None) -> list[ServiceRecord]:
    query = select(ServiceRecord).where(ServiceRecord.vehicle_id == vehicle_id)
    if until is not None:
        query = query.where(ServiceRecord.performed_on <= until.date())
    return list(session.scalars(query.order_by(ServiceRecord.performed_on.desc(), ServiceRecord.id.desc())))


def service_histories(*, session: Session, vehicle_ids: list[int]) -> dict[int, list[ServiceRecord]]:
    """``service_history`` for several cars in one query (a customer 360 shows all their cars)."""
    histories: dict[int, list[ServiceRecord]] = {vehicle_id: [] for vehicle_id in vehicle_ids}
    if vehicle_ids:
        for record in session.scalars(select(ServiceRecord).where(ServiceRecord.vehicle_id.in_(vehicle_ids))
                                      .order_by(ServiceRecord.performed_on.desc(), ServiceRecord.id.desc())):
            histories[record.vehicle_id].append(record)
    return histories


def last_services(*, session: Session, vehicle_ids: list[int]) -> dict[int, object]:
    """Each car's newest service (``performed_on``, ``odometer_km``) that counts for its mileage (a work
    order without a booked appointment does not), for judging many cars' health: plain rows, because loading every record of a fleet's books as objects was a quarter of it."""
    last: dict[int, object] = {}
    for row in bulk_rows(session, select(ServiceRecord.vehicle_id, ServiceRecord.performed_on, ServiceRecord.odometer_km)
                         .where(one_of(session, ServiceRecord.vehicle_id, vehicle_ids),
                                ServiceRecord.counts_for_mileage.is_(True))
                         .order_by(ServiceRecord.performed_on.desc(), ServiceRecord.id.desc())):
        last.setdefault(row.vehicle_id, row)
    return last


def service_facts(*, session: Session, vehicle_ids: list[int]) -> dict[int, object]:
    """Each car's ``id``, ``propulsion``, ``production_date`` and ``created_at``, for judging many
    cars' service due: plain rows, because loading the cars with their trims and models as objects
    was a tenth of a health refresh."""
    return {row.id: row for row in bulk_rows(session, select(
        Vehicle.id, Trim.propulsion, Vehicle.production_date, Vehicle.created_at)
        .join(Trim, Trim.id == Vehicle.trim_id).where(one_of(session, Vehicle.id, vehicle_ids)))}


def first_owned(*, session: Session, vehicle_ids: list[int]) -> dict[int, datetime]:
    """When each car was first owned (``ownership_history(...)[0].started_at``), for many cars at once."""
    first: dict[int, datetime] = {}
    for vehicle_id, started_at in bulk_rows(session, select(Ownership.vehicle_id, Ownership.started_at).where(
            one_of(session, Ownership.vehicle_id, vehicle_ids))):
        if vehicle_id not in first or started_at < first[vehicle_id]:
            first[vehicle_id] = started_at
    return first


KM_PER_DAY = 36.0  # about 13,000 km a year, what a car in Germany is driven on average


def likely_odometers_km(*, session: Session, vehicle_ids: list[int], today: date) -> dict[int, float]:
    """What each car's odometer plausibly reads today, for a simulated or demo car that reports one: its
    last service's reading plus an average day's driving since, else an average day's driving since it
    was first owned (or built). A made-up reading must agree with the service book, or the car's health
    says a two-year-old car is tens of thousands of kilometres overdue."""
    last = last_services(session=session, vehicle_ids=vehicle_ids)
    first = first_owned(session=session, vehicle_ids=vehicle_ids)
    facts = service_facts(session=session, vehicle_ids=vehicle_ids)
    readings: dict[int, float] = {}
    for vehicle_id in vehicle_ids:
        if (row := last.get(vehicle_id)) is not None:
            since, base = row.performed_on, float(row.odometer_km or 0)
        else:
            fact = facts.get(vehicle_id)
            started = first.get(vehicle_id)
            since = (started.date() if started is not None else fact.production_date if fact is not None
                     and fact.production_date is not None else fact.created_at.date() if fact is not None else today)
            base = 0.0
        readings[vehicle_id] = base + KM_PER_DAY * max(0, (today - since).days)
    return readings


def service_history_for_owner(*, session: Session, customer_id: int, vehicle: Vehicle) -> list[ServiceRecord]:
    """A former owner sees the car's book only up to the day they sold it."""
    ownership = owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
    return service_history(session=session, vehicle_id=vehicle.id, until=ownership.ended_at)


def service_records_of(*, session: Session, customer_id: int) -> list[ServiceRecord]:
    return list(session.scalars(select(ServiceRecord).where(ServiceRecord.customer_id == customer_id)
                                .order_by(ServiceRecord.performed_on.desc())))


def get(*, session: Session, vehicle_id: int) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise NotFound("Vehicle not found")
    return vehicle


def vehicle_or_none(*, session: Session, vehicle_id: int | None) -> Vehicle | None:
    """For callers whose record may name no car (an On Call case opened by a phone)."""
    return session.get(Vehicle, vehicle_id) if vehicle_id is not None else None


def get_many(*, session: Session, vehicle_ids) -> dict[int, Vehicle]:
    """Cars by id in one query (their trim and model come joined): lists that describe many cars."""
    ids = {i for i in vehicle_ids if i is not None}
    if not ids:
        return {}
    return {vehicle.id: vehicle for vehicle in session.scalars(select(Vehicle).where(Vehicle.id.in_(ids)))}


_TRANSLITERATION = {**{str(d): d for d in range(10)},
                    **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9,
                    **dict(zip("STUVWXYZ", range(2, 10)))}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def with_check_digit(vin: str) -> str:
    """Fill in position 9 of a 17-character VIN (for new cars leaving the factory and for demo data)."""
    vin = vin.upper()
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS))
    digit = "X" if total % 11 == 10 else str(total % 11)
    return vin[:8] + digit + vin[9:]


def choose_service_dealer(*, session: Session, customer_id: int, vehicle: Vehicle, dealer_id: int) -> Vehicle:
    """The current owner picks the workshop they prefer; a former owner no longer can."""
    ownership = owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
    if ownership.ended_at is not None:
        raise NotFound("Vehicle not found")
    vehicle.service_dealer_id = dealer_id
    session.flush()
    return vehicle


def current_owners(*, session: Session, vehicle_ids) -> dict[int, int]:
    """Current owner per car for a whole batch of cars, in as few queries as the batch allows."""
    rows = bulk_rows(session, select(Ownership.vehicle_id, Ownership.customer_id).where(
        one_of(session, Ownership.vehicle_id, sorted(set(vehicle_ids))), Ownership.ended_at.is_(None)))
    return {vehicle_id: customer_id for vehicle_id, customer_id in rows if customer_id is not None}


def owned_now(vehicle_id_column):
    """A clause, true for a car somebody owns now (as ``current_owners`` counts owners), for a
    statement of another domain built once and run many times."""
    return (select(Ownership.id).where(Ownership.vehicle_id == vehicle_id_column, Ownership.ended_at.is_(None),
                                       Ownership.customer_id.is_not(None)).exists())


def all_vehicle_ids(*, session: Session) -> list[int]:
    return list(session.scalars(select(Vehicle.id).order_by(Vehicle.id)))

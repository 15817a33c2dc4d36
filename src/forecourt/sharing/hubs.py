"""Hubs at dealers, their shared cars and tariffs, and the map search of cars free at a time.

The search is one query: hubs inside a bounding box (an index on position), their cars in service,
and for each car a NOT EXISTS on its held slots in the window, which the slot table's primary key
(car, start) answers by an index range. ``bench/sharing.py`` measures it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import and_, bindparam, exists, func, select, type_coerce
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import NullType

from forecourt.core.clock import as_utc, now
from forecourt.core.db import bulk_rows
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.geo import distance_km
from forecourt.core.i18n import _
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.sharing import geofence
from forecourt.sharing.models import SLOT_MINUTES, CarSlot, Hub, SharedCar, Tariff
from forecourt.telematics import service as telematics_service
from forecourt.vehicles import service as vehicles_service

KINDS = ("minute", "test_drive")
# a shared car's fuel or charge, as the twin names them (telematics.trips)
FUEL = "Vehicle.Powertrain.FuelSystem.RelativeLevel"
CHARGE = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
POLICIES = ("refuse", "fee")
# A new hub's minute tariff per currency (the hub changes it); a test drive is free unless set otherwise.
DEFAULT_MINUTE = {
    "EUR": dict(unlock_fee="1.00", per_minute_driving="0.29", per_minute_parked="0.09", included_km=100,
                per_km_over="0.25", daily_cap="79.00", late_return_fee="15.00", low_energy_fee="10.00",
                outside_return_fee="25.00", deposit="100.00"),
    "KRW": dict(unlock_fee="1000", per_minute_driving="390", per_minute_parked="120", included_km=100,
                per_km_over="300", daily_cap="99000", late_return_fee="20000", low_energy_fee="12000",
                outside_return_fee="30000", deposit="100000"),
}
TARIFF_FIELDS = ("unlock_fee", "per_minute_driving", "per_minute_parked", "included_km", "per_km_over",
                 "daily_cap", "late_return_fee", "low_energy_fee", "outside_return_fee", "deposit")


def currency_of_dealer(session: Session, dealer_id: int) -> str:
    dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
    return markets.market_or_default(session=session, code=dealer.market).currency


def create_hub(*, session: Session, dealer_id: int, name: str | None = None, geofence_points: list | None = None,
               hold_minutes: int = 15, low_energy_percent: int = 25, outside_return: str = "refuse") -> Hub:
    """A hub at a dealer, with a return area around its door unless one is drawn, and its two tariffs."""
    dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
    if dealer.kind != "dealer" or dealer.latitude is None:
        raise Invalid(_("Choose a dealer from the list."), field="dealer_id")
    if outside_return not in POLICIES:
        raise Invalid(_("Choose whether a return outside the area is refused or charged."), field="outside_return")
    if not 1 <= hold_minutes <= 120:
        raise Invalid(_("A free hold lasts between 1 and 120 minutes."), field="hold_minutes")
    points = geofence_points or geofence.square_around(dealer.latitude, dealer.longitude)
    if len(points) < 3:
        raise Invalid(_("A return area needs at least three corners."), field="geofence")
    hub = Hub(dealer_id=dealer.id, name=name or dealer.name, latitude=dealer.latitude, longitude=dealer.longitude,
              geofence=[[float(a), float(b)] for a, b in points], hold_minutes=hold_minutes,
              low_energy_percent=low_energy_percent, outside_return=outside_return)
    session.add(hub)
    session.flush()
    currency = currency_of_dealer(session, dealer.id)
    defaults = DEFAULT_MINUTE.get(currency, DEFAULT_MINUTE["EUR"])
    session.add(Tariff(hub_id=hub.id, kind="minute", currency=currency, **_amounts(defaults)))
    session.add(Tariff(hub_id=hub.id, kind="test_drive", currency=currency, included_km=400))
    session.flush()
    return hub


def _amounts(values: dict) -> dict:
    return {k: (int(v) if k == "included_km" else (Decimal(str(v)) if v is not None else None))
            for k, v in values.items()}


def get_hub(*, session: Session, hub_id: int) -> Hub:
    hub = session.get(Hub, hub_id)
    if hub is None or not hub.is_active:
        raise NotFound(_("Hub not found"))
    return hub


def hubs_of_dealer(*, session: Session, dealer_id: int) -> list[Hub]:
    return list(session.scalars(select(Hub).where(Hub.dealer_id == dealer_id).order_by(Hub.id)))


def all_hubs(*, session: Session) -> list[Hub]:
    return list(session.scalars(select(Hub).where(Hub.is_active.is_(True)).order_by(Hub.id)))


def tariff_of(*, session: Session, hub_id: int, kind: str) -> Tariff:
    tariff = session.scalars(select(Tariff).where(Tariff.hub_id == hub_id, Tariff.kind == kind)).first()
    if tariff is None:
        raise NotFound(_("Tariff not found"))
    return tariff


def set_tariff(*, session: Session, hub_id: int, kind: str, values: dict) -> Tariff:
    tariff = tariff_of(session=session, hub_id=hub_id, kind=kind)
    unknown = set(values) - set(TARIFF_FIELDS)
    if unknown:
        raise Invalid(_("Unknown tariff item."), field=sorted(unknown)[0])
    for name, value in _amounts(values).items():
        if value is not None and value < 0:
            raise Invalid(_("A price cannot be negative."), field=name)
        setattr(tariff, name, value)
    session.flush()
    return tariff


def tariff_terms(tariff: Tariff) -> dict:
    """The tariff as a plain document: copied onto a reservation, so later changes do not touch it."""
    terms = {name: (str(getattr(tariff, name)) if name != "included_km" and getattr(tariff, name) is not None
                    else getattr(tariff, name)) for name in TARIFF_FIELDS}
    return terms | {"kind": tariff.kind, "currency": tariff.currency}


def add_car(*, session: Session, hub_id: int, vehicle_id: int) -> SharedCar:
    """A car of the hub's dealer joins the shared fleet (never one somebody owns)."""
    hub = get_hub(session=session, hub_id=hub_id)
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    if vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) is not None:
        raise Invalid(_("A car somebody owns cannot join the shared fleet."), field="vin")
    if session.scalars(select(SharedCar.id).where(SharedCar.vehicle_id == vehicle.id)).first() is not None:
        raise Conflict(_("This car is already in a shared fleet."), field="vin")
    car = SharedCar(hub_id=hub.id, vehicle_id=vehicle.id, model_id=vehicle.trim.model_id,
                    propulsion=vehicle.trim.propulsion, model_name=vehicle.trim.model.name,
                    trim_name=vehicle.trim.name, title=vehicle.title, registration=vehicle.registration)
    session.add(car)
    session.flush()
    return car


def get_car(*, session: Session, car_id: int) -> SharedCar:
    car = session.get(SharedCar, car_id)
    if car is None:
        raise NotFound(_("Car not found"))
    return car


def cars_of_hub(*, session: Session, hub_id: int) -> list[SharedCar]:
    return list(session.scalars(select(SharedCar).where(SharedCar.hub_id == hub_id).order_by(SharedCar.id)))


def set_out_of_service(*, session: Session, car_id: int, out: bool, note: str = "") -> SharedCar:
    car = get_car(session=session, car_id=car_id)
    car.out_of_service, car.service_note = out, (note or "").strip()[:500]
    session.flush()
    return car


def shared_vehicle_ids(*, session: Session):
    """Every car of a shared fleet (a select): never sold from stock nor lent as a courtesy car."""
    return select(SharedCar.vehicle_id)


def is_shared(*, session: Session, vehicle_id: int) -> bool:
    return session.scalars(select(SharedCar.id).where(SharedCar.vehicle_id == vehicle_id)).first() is not None


def busy_vehicle_ids(*, session: Session, start: datetime, end: datetime):
    """Cars held by a reservation at any moment of [start, end) (a select of vehicle ids)."""
    return (select(SharedCar.vehicle_id).join(CarSlot, CarSlot.car_id == SharedCar.id)
            .where(CarSlot.starts_at >= floor_slot(start) , CarSlot.starts_at < end))


def floor_slot(moment: datetime) -> datetime:
    moment = as_utc(moment).replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % SLOT_MINUTES)


@dataclass(frozen=True)
class Found:
    hub_id: int
    name: str
    latitude: float
    longitude: float
    distance_km: float
    car_ids: list[int]
    # each free car: (car id, vehicle id, model id, propulsion, model name, trim name, title, plate)
    cars: list[tuple]
    # the hub's minute and test-drive prices (``Prices``), with ``with_tariffs``
    tariffs: dict = field(default_factory=dict)
    # each free car's latest charge and fuel level by vehicle id (nobody owns a shared car), with ``with_tariffs``
    levels: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Prices:
    """What a map answer shows of a hub's tariff (the tariff itself is ``tariff_of``)."""

    currency: str
    unlock_fee: Decimal
    per_minute_driving: Decimal = Decimal(0)
    per_minute_parked: Decimal = Decimal(0)
    daily_cap: Decimal | None = None
    deposit: Decimal = Decimal(0)


def search(*, session: Session, latitude: float, longitude: float, radius_km: float = 10.0,
           starts_at: datetime | None = None, hours: float = 1.0, model_id: int | None = None,
           limit: int = 50, with_tariffs: bool = False) -> list[Found]:
    """Hubs within ``radius_km`` with the cars free for the whole window, nearest first; with
    ``with_tariffs`` also each hub's prices and each car's charge or fuel, in the same query."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise Invalid(_("That is not a place on Earth."), field="lat")
    radius_km = max(0.5, min(float(radius_km), 100.0))
    start = floor_slot(starts_at or now())
    end = start + timedelta(hours=max(0.25, min(hours, 72)))
    dlat = radius_km / 111.32
    dlon = radius_km / (111.32 * max(math.cos(math.radians(latitude)), 0.01))
    bounds = dict(south=latitude - dlat, north=latitude + dlat, west=longitude - dlon, east=longitude + dlon,
                  start=start, end=end)
    if model_id is not None:
        bounds["model_id"] = model_id
    found: dict[int, Found] = {}
    money = _money(session.get_bind().dialect) if with_tariffs else None
    for row in bulk_rows(session, _search_statement(model_id is not None, with_tariffs), bounds):
        hub_id = row[0]
        hub = found.get(hub_id)
        if hub is None:
            hub = found[hub_id] = Found(hub_id, row[1], row[2], row[3],
                                        distance_km(latitude, longitude, row[2], row[3]), [], [])
            if with_tariffs:
                hub.tariffs["minute"] = Prices(row[14], *map(money, row[15:18]), None, money(row[18]))
                hub.tariffs["test_drive"] = Prices(row[19], money(row[20]), daily_cap=money(row[21]),
                                                   deposit=money(row[22]))
        hub.car_ids.append(row[4])
        hub.cars.append(tuple(row[4:12]))
        if with_tariffs:
            hub.levels[row[5]] = {path: value for path, value in ((CHARGE, row[12]), (FUEL, row[13]))
                                  if value is not None}
    return sorted((f for f in found.values() if f.distance_km <= radius_km), key=lambda f: f.distance_km)[:limit]


@lru_cache(maxsize=4)
def _money(dialect):
    """A tariff amount as the ORM reads it, applied once per hub rather than to every car's row."""
    process = Tariff.__table__.c.unlock_fee.type.result_processor(dialect, None)
    return (lambda raw: raw if raw is None else process(raw)) if process else (lambda raw: raw)


@lru_cache(maxsize=4)
def _search_statement(for_model: bool, with_tariffs: bool):
    """The search, built once and bound per call: building a statement of this size costs more than
    SQLite takes to answer it, and one statement is one round trip to PostgreSQL. The bounding box on
    the hubs' indexed position comes first; the exact distance is measured for the few hubs inside it."""
    held = exists().where(CarSlot.car_id == SharedCar.id, CarSlot.starts_at >= bindparam("start"),
                          CarSlot.starts_at < bindparam("end"))
    columns = [Hub.id, Hub.name, Hub.latitude, Hub.longitude, SharedCar.id, SharedCar.vehicle_id,
               SharedCar.model_id, SharedCar.propulsion, SharedCar.model_name, SharedCar.trim_name,
               SharedCar.title, SharedCar.registration]
    minute, trial = aliased(Tariff), aliased(Tariff)
    if with_tariffs:
        columns += [telematics_service.latest_value(SharedCar.vehicle_id, CHARGE),
                    telematics_service.latest_value(SharedCar.vehicle_id, FUEL),
                    minute.currency, *(type_coerce(column, NullType()) for column in (
                        minute.unlock_fee, minute.per_minute_driving, minute.per_minute_parked, minute.deposit)),
                    trial.currency, *(type_coerce(column, NullType()) for column in (
                        trial.unlock_fee, trial.daily_cap, trial.deposit))]
    query = (select(*columns)
             .join(SharedCar, and_(SharedCar.hub_id == Hub.id, SharedCar.out_of_service.is_(False)))
             .where(Hub.is_active.is_(True), Hub.latitude.between(bindparam("south"), bindparam("north")),
                    Hub.longitude.between(bindparam("west"), bindparam("east")), ~held))
    if with_tariffs:
        query = (query.join(minute, and_(minute.hub_id == Hub.id, minute.kind == "minute"))
                 .join(trial, and_(trial.hub_id == Hub.id, trial.kind == "test_drive")))
    return query.where(SharedCar.model_id == bindparam("model_id")) if for_model else query


def count_cars(*, session: Session) -> int:
    return session.scalar(select(func.count(SharedCar.id))) or 0

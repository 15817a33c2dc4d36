"""What a driver sees of the shared fleet: hubs near a point with the cars free for a window — model,
propulsion, fuel or charge, range, and the price — and one reservation as its owner sees it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from forecourt.core.clock import as_utc, now
from forecourt.core.money import Money
from forecourt.sharing import access, billing, hubs, profiles, reservations, trips
from forecourt.sharing.models import Reservation
from forecourt.vehicles import service as vehicles_service

# A full tank or battery takes a car this far (km), for a range estimate when the car reports none.
FULL_RANGE_KM = {"electric": 420, "plug_in_hybrid": 650, "hybrid": 800, "petrol": 700, "diesel": 900}
MAX_HUBS_SHOWN = 20


CHARGE, FUEL = hubs.CHARGE, hubs.FUEL


def _car_rows(cars: list[tuple], levels: dict, minute, trial) -> list[dict]:
    prices = {  # one hub, one tariff: the same prices for every car
        "per_minute": Money(minute.per_minute_driving, minute.currency),
        "per_minute_parked": Money(minute.per_minute_parked, minute.currency),
        "unlock_fee": Money(minute.unlock_fee, minute.currency),
        "deposit": Money(minute.deposit, minute.currency),
        # a day at the test-drive tariff costs at most its unlock fee and one daily cap (free by default)
        "test_drive_price": Money(trial.unlock_fee + (trial.daily_cap or 0), trial.currency),
        "test_drive_deposit": Money(trial.deposit, trial.currency)}
    rows = []
    full_range = FULL_RANGE_KM
    for car_id, vehicle_id, model_id, propulsion, model_name, trim_name, title, plate in sorted(cars):
        seen = levels.get(vehicle_id)
        raw = (seen.get(CHARGE, seen.get(FUEL))) if seen else None
        energy = round(float(raw)) if isinstance(raw, (int, float)) else None
        reach = round(full_range.get(propulsion, 600) * energy / 100) if energy is not None else None
        row = {"car_id": car_id, "model_id": model_id, "model": model_name, "trim": trim_name, "title": title,
               "propulsion": propulsion, "energy_percent": energy, "range_km": reach, "registration": plate}
        row.update(prices)
        rows.append(row)
    return rows


def nearby(*, session: Session, latitude: float, longitude: float, radius_km: float = 25.0,
           starts_at: datetime | None = None, hours: float = 1.0, model_id: int | None = None) -> list[dict]:
    """One query whatever the number of hubs and cars: the search, with the hubs' prices and the cars'
    charge or fuel."""
    found = hubs.search(session=session, latitude=latitude, longitude=longitude, radius_km=radius_km,
                        starts_at=starts_at, hours=hours, model_id=model_id, limit=MAX_HUBS_SHOWN, with_tariffs=True)
    return [{"hub_id": hub.hub_id, "name": hub.name, "latitude": hub.latitude, "longitude": hub.longitude,
             "distance_km": round(hub.distance_km, 1),
             "cars": _car_rows(hub.cars, hub.levels, hub.tariffs["minute"], hub.tariffs["test_drive"])}
            for hub in found]


def models_offered(*, session: Session) -> list[tuple[int, str]]:
    shared = {car.model_id for hub in hubs.all_hubs(session=session) for car in hubs.cars_of_hub(session=session,
                                                                                              hub_id=hub.id)}
    return sorted(((m.id, m.name) for m in vehicles_service.list_models(session=session) if m.id in shared),
                  key=lambda pair: pair[1])


def driver_view(*, session: Session, customer_id: int) -> dict:
    profile = profiles.profile_of(session=session, customer_id=customer_id)
    mine = reservations.reservations_of(session=session, customer_id=customer_id)
    return {"profile": profile, "missing": profiles.missing_steps(profile, on=now().date()),
            "reservations": [summary(session=session, reservation=r) for r in mine]}


def summary(*, session: Session, reservation: Reservation) -> dict:
    car = hubs.get_car(session=session, car_id=reservation.car_id)
    hub = hubs.get_hub(session=session, hub_id=reservation.hub_id)
    vehicle = vehicles_service.get(session=session, vehicle_id=car.vehicle_id)
    return {"number": reservation.number, "kind": reservation.kind, "status": reservation.status,
            "starts_at": as_utc(reservation.starts_at), "ends_at": as_utc(reservation.ends_at),
            "hold_until": as_utc(reservation.hold_until), "hub": hub.name, "hub_id": hub.id,
            "car": vehicle.title, "vin": vehicle.vin, "registration": vehicle.registration,
            "car_unlocked": reservation.car_unlocked, "currency": reservation.tariff.get("currency"),
            "deposit": Decimal(reservation.tariff.get("deposit") or 0)}


def reservation_view(*, session: Session, reservation: Reservation) -> dict:
    view = summary(session=session, reservation=reservation)
    found = billing.bill_of(session=session, reservation_id=reservation.id)
    view["bill"] = found
    view["damage"] = [d.description for d in trips.open_damage(session=session, car_id=reservation.car_id)]
    view["problems"] = [p.detail for p in access.command_problems(session=session, reservation_ids=[reservation.id])]
    view["next_booking_at"] = reservations.next_booking_start(session=session, car_id=reservation.car_id,
                                                              after=as_utc(reservation.ends_at))
    view["tariff"] = reservation.tariff
    return view

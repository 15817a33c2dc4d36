"""Pick-up, the trip, and the return of a shared car.

Readings (odometer, fuel or charge, position, motion) come from the car's own telemetry through
``telematics.service``; the driver declares damage and adds photos. Motion switches the trip between
driving and parked (``follow``), and the bill is computed from these recorded events alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.core import events
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _
from forecourt.sharing import geofence, hubs, photos
from forecourt.sharing.events import ModelTrialReturned, SharedCarReturned
from forecourt.sharing.models import CarSlot, DamageReport, Inspection, Reservation, TripEvent
from forecourt.telematics import service as telematics_service

ODOMETER = "Vehicle.TraveledDistance"
FUEL = "Vehicle.Powertrain.FuelSystem.RelativeLevel"
CHARGE = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
LATITUDE, LONGITUDE = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
MOVING, SPEED = "Vehicle.IsMoving", "Vehicle.Speed"


@dataclass(frozen=True)
class Readings:
    odometer_km: float | None
    energy_percent: float | None
    latitude: float | None
    longitude: float | None
    moving: bool


def readings(*, session: Session, vehicle_id: int) -> Readings:
    twin = telematics_service.twin_of(session=session, vehicle_id=vehicle_id)

    def value(path):
        found = twin.get(path)
        try:
            return float(found[0]) if found is not None and found[0] is not None else None
        except (TypeError, ValueError):
            return None

    energy = value(CHARGE) if value(CHARGE) is not None else value(FUEL)
    moving_value = twin.get(MOVING)
    moving = bool(moving_value[0]) if moving_value is not None else (value(SPEED) or 0) > 3
    return Readings(value(ODOMETER), energy, value(LATITUDE), value(LONGITUDE), moving)


def positions(*, session: Session, vehicle_ids: list[int]) -> dict[int, tuple[float, float]]:
    """Where each of many shared cars last said it was, in one query (the fleet map and its pushes
    read every car of a hub at once); a car with no usable position is left out."""
    found = {}
    for vehicle_id, values in telematics_service.latest_of(session=session, vehicle_ids=vehicle_ids,
                                                           paths=(LATITUDE, LONGITUDE)).items():
        try:
            latitude, longitude = float(values[LATITUDE]), float(values[LONGITUDE])
        except (KeyError, TypeError, ValueError):
            continue
        found[vehicle_id] = (latitude, longitude)
    return found


def _keep_photos(session: Session, store: photos.PhotoStore | None, reservation: Reservation, pictures,
                inspection: Inspection, damage: DamageReport | None) -> None:
    if pictures:
        if store is None:
            raise Invalid(_("Photos cannot be kept here."), field="photos")
        photos.attach(session=session, store=store, reservation=reservation, pictures=pictures,
                      inspection=inspection, damage=damage)


def open_damage(*, session: Session, car_id: int) -> list[DamageReport]:
    return list(session.scalars(select(DamageReport).where(DamageReport.car_id == car_id,
                                                           DamageReport.status != "fixed")
                                .order_by(DamageReport.reported_at)))


def check_out(*, session: Session, reservation: Reservation, damage: str = "", photos_taken=(),
              store: photos.PhotoStore | None = None) -> Inspection:
    """The driver is at the unlocked car: what they saw (words and photos), and what the car reads,
    start the trip. Photos are checked before anything is kept."""
    pictures = photos.check_all(photos_taken)
    if reservation.status != "booked":
        raise Conflict(_("This booking cannot be picked up (it is not booked, or the trip has begun)."),
                       field="status")
    if not reservation.car_unlocked:
        raise Conflict(_("Open the car with your code before the check-out."), field="status")
    car = hubs.get_car(session=session, car_id=reservation.car_id)
    seen = readings(session=session, vehicle_id=car.vehicle_id)
    moment = now()
    inspection = Inspection(reservation_id=reservation.id, kind="check_out", at=moment,
                            damage_declared=(damage or "").strip()[:2000], odometer_km=seen.odometer_km,
                            energy_percent=seen.energy_percent, latitude=seen.latitude, longitude=seen.longitude)
    session.add(inspection)
    session.flush()
    report = None
    if inspection.damage_declared:
        report = DamageReport(car_id=car.id, reservation_id=reservation.id, description=inspection.damage_declared)
        session.add(report)
        session.flush()
    _keep_photos(session, store, reservation, pictures, inspection, report)
    session.add(TripEvent(reservation_id=reservation.id, kind="check_out", at=moment, odometer_km=seen.odometer_km,
                          energy_percent=seen.energy_percent))
    reservation.status, reservation.checked_out_at = "active", moment
    session.flush()
    return inspection


def _last_state(session: Session, reservation: Reservation) -> str:
    kinds = session.scalars(select(TripEvent.kind).where(TripEvent.reservation_id == reservation.id,
                                                         TripEvent.kind.in_(("check_out", "driving", "parked")))
                            .order_by(TripEvent.at.desc(), TripEvent.id.desc()).limit(1)).first()
    return "driving" if kinds == "driving" else "parked"


def record_motion(*, session: Session, reservation: Reservation, moving: bool, at: datetime | None = None,
                  odometer_km: float | None = None) -> bool:
    """Switches the trip between driving and parked; True when the state changed."""
    if reservation.status != "active":
        return False
    state = "driving" if moving else "parked"
    if _last_state(session, reservation) == state:
        return False
    session.add(TripEvent(reservation_id=reservation.id, kind=state, at=at or now(), odometer_km=odometer_km))
    session.flush()
    return True


def follow(*, session: Session, limit: int = 500) -> int:
    """Every active trip follows its car's telemetry (the worker runs this every minute)."""
    changed = 0
    for reservation in session.scalars(select(Reservation).where(Reservation.status == "active").limit(limit)):
        car = hubs.get_car(session=session, car_id=reservation.car_id)
        seen = readings(session=session, vehicle_id=car.vehicle_id)
        changed += record_motion(session=session, reservation=reservation, moving=seen.moving,
                                 odometer_km=seen.odometer_km)
    return changed


def return_car(*, session: Session, reservation: Reservation, damage: str = "", photos_taken=(),
               store: photos.PhotoStore | None = None) -> Inspection:
    """The car is back: inside the hub's area (or outside for a fee, where the hub allows it), its
    readings, the driver's declaration and photos recorded. The bill follows (``billing.close``)."""
    pictures = photos.check_all(photos_taken)
    if reservation.status in ("booked", "held"):
        raise Conflict(_("This car was never checked out, so it cannot be returned."), field="status")
    if reservation.status != "active":
        raise Conflict(_("This trip is already over."), field="status")
    car = hubs.get_car(session=session, car_id=reservation.car_id)
    hub = hubs.get_hub(session=session, hub_id=car.hub_id)
    seen = readings(session=session, vehicle_id=car.vehicle_id)
    if seen.latitude is None or seen.longitude is None:
        raise Conflict(_("The car has not reported where it is; wait a moment and try again."), field="position")
    outside = geofence.outside_by_m(hub.geofence, seen.latitude, seen.longitude)
    if outside and hub.outside_return != "fee":
        raise Conflict(_("The car is %(metres)s m outside the return area of %(hub)s; park it inside the area "
                         "to return it.", metres=outside, hub=hub.name), field="position")
    moment = now()
    inspection = Inspection(reservation_id=reservation.id, kind="return", at=moment,
                            damage_declared=(damage or "").strip()[:2000], odometer_km=seen.odometer_km,
                            energy_percent=seen.energy_percent, latitude=seen.latitude, longitude=seen.longitude,
                            outside_by_m=outside or None)
    session.add(inspection)
    session.flush()
    report = None
    if inspection.damage_declared:
        report = DamageReport(car_id=car.id, reservation_id=reservation.id, description=inspection.damage_declared)
        session.add(report)
        session.flush()
    _keep_photos(session, store, reservation, pictures, inspection, report)
    session.add(TripEvent(reservation_id=reservation.id, kind="return", at=moment, odometer_km=seen.odometer_km,
                          energy_percent=seen.energy_percent, detail={"outside_by_m": outside}))
    reservation.status, reservation.returned_at = "returned", moment
    # back early: the rest of the booking is free for the next driver once the car is ready
    session.execute(delete(CarSlot).where(CarSlot.reservation_id == reservation.id,
                                          CarSlot.starts_at > hubs.floor_slot(moment)))
    if seen.energy_percent is not None and seen.energy_percent < hub.low_energy_percent:
        car.needs = "charge" if car.propulsion == "electric" else "refuel"
    elif not car.needs:
        car.needs = "clean"
    session.flush()
    if reservation.customer_id is not None:
        events.publish(session, SharedCarReturned(reservation_id=reservation.id, customer_id=reservation.customer_id,
                                                  dealer_id=hub.dealer_id, vehicle_id=car.vehicle_id,
                                                  kind=reservation.kind))
    if reservation.kind == "test_drive" and reservation.customer_id is not None:
        summary = trip_summary(session=session, reservation=reservation) if reservation.share_summary else {}
        events.publish(session, ModelTrialReturned(
            reservation_id=reservation.id, customer_id=reservation.customer_id, dealer_id=hub.dealer_id,
            model_id=car.model_id, days=summary.get("days"), km=summary.get("km")))
    return inspection


def events_of(*, session: Session, reservation_id: int) -> list[TripEvent]:
    return list(session.scalars(select(TripEvent).where(TripEvent.reservation_id == reservation_id)
                                .order_by(TripEvent.at, TripEvent.id)))


def inspection_of(*, session: Session, reservation_id: int, kind: str) -> Inspection | None:
    return session.scalars(select(Inspection).where(Inspection.reservation_id == reservation_id,
                                                    Inspection.kind == kind)).first()


def trip_summary(*, session: Session, reservation: Reservation) -> dict:
    out = inspection_of(session=session, reservation_id=reservation.id, kind="check_out")
    back = inspection_of(session=session, reservation_id=reservation.id, kind="return")
    if out is None or back is None:
        return {}
    km = (back.odometer_km - out.odometer_km) if None not in (back.odometer_km, out.odometer_km) else None
    days = round((as_utc(back.at) - as_utc(out.at)).total_seconds() / 86400, 2)
    return {"days": days, "km": round(km, 1) if km is not None else None}

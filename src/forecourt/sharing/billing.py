"""The itemised bill of a trip, computed from the trip's recorded events and the tariff agreed at
booking — the same events always give the same bill (``compute`` is pure) — and the deposit captured
or released through the payments interface when the hub closes the trip.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core import references
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc
from forecourt.core.errors import Conflict, NotFound
from forecourt.core.i18n import _
from forecourt.core.money import minor_digits
from forecourt.payments import service as payments_service
from forecourt.payments.providers import Gateway
from forecourt.sharing import hubs, reservations, trips
from forecourt.sharing.models import Bill, CarSlot, Reservation

LINE_CODES = ("unlock_fee", "driving", "parked", "daily_cap", "km_over", "late_return", "low_energy",
              "outside_return")


def _amount(value, currency: str) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_HALF_UP)


def compute(*, tariff: dict, events: list[dict], ends_at: datetime, next_booking_at: datetime | None,
            low_energy_percent: int, outside_fee_applies: bool) -> dict:
    """The bill's lines from the events (each ``{"kind", "at", "odometer_km", "energy_percent"}``)."""
    currency = tariff["currency"]
    price = {k: Decimal(str(tariff.get(k) or 0)) for k in ("unlock_fee", "per_minute_driving", "per_minute_parked",
                                                            "per_km_over", "late_return_fee", "low_energy_fee",
                                                            "outside_return_fee")}
    minutes = {"driving": 0.0, "parked": 0.0}
    state, since, start, start_km, end, end_km, end_energy = None, None, None, None, None, None, None
    for event in events:
        at = as_utc(event["at"])
        if event["kind"] == "check_out":
            state, since, start, start_km = "parked", at, at, event.get("odometer_km")
        elif event["kind"] in ("driving", "parked") and state is not None:
            minutes[state] += (at - since).total_seconds() / 60
            state, since = event["kind"], at
        elif event["kind"] == "return" and state is not None:
            minutes[state] += (at - since).total_seconds() / 60
            end, end_km, end_energy = at, event.get("odometer_km"), event.get("energy_percent")
    if start is None or end is None:
        raise Conflict(_("A trip without a check-out and a return has no bill."), field="status")
    lines = []

    def line(code: str, quantity, unit: Decimal, amount: Decimal) -> None:
        lines.append({"code": code, "quantity": str(quantity), "unit": str(unit),
                      "amount": str(_amount(amount, currency))})

    if price["unlock_fee"]:
        line("unlock_fee", 1, price["unlock_fee"], price["unlock_fee"])
    driving, parked = math.ceil(minutes["driving"] - 1e-9), math.ceil(minutes["parked"] - 1e-9)
    time_total = Decimal(driving) * price["per_minute_driving"] + Decimal(parked) * price["per_minute_parked"]
    if price["per_minute_driving"]:
        line("driving", driving, price["per_minute_driving"], Decimal(driving) * price["per_minute_driving"])
    if price["per_minute_parked"]:
        line("parked", parked, price["per_minute_parked"], Decimal(parked) * price["per_minute_parked"])
    if tariff.get("daily_cap") is not None:
        days = max(1, math.ceil((end - start).total_seconds() / 86400 - 1e-9))
        cap = Decimal(str(tariff["daily_cap"])) * days
        if time_total > cap:
            line("daily_cap", days, Decimal(str(tariff["daily_cap"])), cap - time_total)
    if start_km is not None and end_km is not None:
        over = max(0, math.ceil(end_km - start_km - int(tariff.get("included_km") or 0) - 1e-9))
        if over and price["per_km_over"]:
            line("km_over", over, price["per_km_over"], over * price["per_km_over"])
    if end > as_utc(ends_at) and next_booking_at is not None and as_utc(next_booking_at) < end and \
            price["late_return_fee"]:
        line("late_return", 1, price["late_return_fee"], price["late_return_fee"])
    if end_energy is not None and end_energy < low_energy_percent and price["low_energy_fee"]:
        line("low_energy", 1, price["low_energy_fee"], price["low_energy_fee"])
    if outside_fee_applies and price["outside_return_fee"]:
        line("outside_return", 1, price["outside_return_fee"], price["outside_return_fee"])
    total = sum((Decimal(x["amount"]) for x in lines), Decimal(0))
    return {"currency": currency, "lines": lines, "total": str(_amount(total, currency)),
            "minutes": {"driving": driving, "parked": parked},
            "km": round(end_km - start_km, 1) if None not in (start_km, end_km) else None}


def _inputs(session: Session, reservation: Reservation) -> dict:
    hub = hubs.get_hub(session=session, hub_id=reservation.hub_id)
    events = [{"kind": e.kind, "at": e.at, "odometer_km": e.odometer_km, "energy_percent": e.energy_percent}
              for e in trips.events_of(session=session, reservation_id=reservation.id)]
    back = trips.inspection_of(session=session, reservation_id=reservation.id, kind="return")
    next_at = session.scalar(select(CarSlot.starts_at).where(
        CarSlot.car_id == reservation.car_id, CarSlot.reservation_id != reservation.id,
        CarSlot.starts_at >= as_utc(reservation.ends_at)).order_by(CarSlot.starts_at).limit(1))
    return dict(tariff=reservation.tariff, events=events, ends_at=reservation.ends_at, next_booking_at=next_at,
                low_energy_percent=hub.low_energy_percent,
                outside_fee_applies=bool(back is not None and back.outside_by_m))


def recompute(*, session: Session, reservation: Reservation) -> dict:
    """The bill again from the recorded events (an audit: it must equal the stored one)."""
    return compute(**_inputs(session, reservation))


def bill(*, session: Session, reservation: Reservation) -> Bill:
    """The trip's bill, written once at the return; later calls give the same bill."""
    existing = session.scalars(select(Bill).where(Bill.reservation_id == reservation.id)).first()
    if existing is not None:
        return existing
    if reservation.status not in ("returned", "closed"):
        raise Conflict(_("The bill is made when the car is returned."), field="status")
    computed = recompute(session=session, reservation=reservation)
    found = Bill(reservation_id=reservation.id, number=references.fresh(session, Bill.number, "SB", (4, 4)),
                 hub_id=reservation.hub_id, customer_id=reservation.customer_id, currency=computed["currency"],
                 lines=computed["lines"], total=Decimal(computed["total"]))
    session.add(found)
    session.flush()
    return found


def bill_of(*, session: Session, reservation_id: int) -> Bill | None:
    return session.scalars(select(Bill).where(Bill.reservation_id == reservation_id)).first()


def close(*, session: Session, gateway: Gateway, principal: Principal, reservation: Reservation) -> Bill:
    """The hub settles the deposit: the bill's total is captured from it (the rest released), or it is
    released whole; a deposit never authorised is cancelled."""
    if reservation.status != "returned":
        raise Conflict(_("Only a returned car's trip can be closed."), field="status")
    found = bill(session=session, reservation=reservation)
    if reservation.deposit_payment_id is not None:
        try:
            payment = payments_service.get(session=session, payment_id=reservation.deposit_payment_id)
        except NotFound:
            payment = None
        if payment is not None and payment.status == "authorised":
            if found.total > 0:
                payments_service.capture(session=session, gateway=gateway, principal=principal, payment_id=payment.id,
                                         amount=min(found.total, payment.amount), key=f"{found.number}:capture")
            else:
                payments_service.release(session=session, gateway=gateway, principal=principal,
                                         payment_id=payment.id, key=f"{found.number}:release")
        else:
            payments_service.cancel_open(session=session, subject_kind=reservations.SUBJECT,
                                         subject_id=reservation.id)
    reservation.status = "closed"
    session.flush()
    return found

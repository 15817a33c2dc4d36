"""Reserving a shared car: a free hold, then booked; cancelled, extended, expired.

A reservation claims one ``CarSlot`` per 15-minute step of its car from its start to its end (the
last step rounded up). Two drivers racing for overlapping times both insert some same (car, start)
key and the database lets exactly one through, on SQLite and PostgreSQL alike; the claim runs in a
SAVEPOINT so the loser's transaction stays usable. Extending claims the steps after the end the
same way, so an extension can never run into the next driver's booking.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.core import events, references
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.payments import service as payments_service
from forecourt.payments.providers import Gateway
from forecourt.sharing import hubs, positions, profiles
from forecourt.sharing.events import ModelTrialBooked
from forecourt.sharing.models import SLOT_MINUTES, CarSlot, Reservation, SharedCar

STEP = timedelta(minutes=SLOT_MINUTES)
TEST_DRIVE = timedelta(hours=24)
LONGEST = timedelta(hours=72)
OPEN = ("held", "booked", "active")
SUBJECT = "sharing_booking"


def _steps(start: datetime, end: datetime) -> list[datetime]:
    first, moments = hubs.floor_slot(start), []
    while first < end:
        moments.append(first)
        first += STEP
    return moments


def _claim(session: Session, reservation: Reservation, start: datetime, end: datetime) -> None:
    session.add_all(CarSlot(car_id=reservation.car_id, starts_at=moment, reservation_id=reservation.id)
                    for moment in _steps(start, end))
    session.flush()


def _free(session: Session, reservation: Reservation) -> None:
    session.execute(delete(CarSlot).where(CarSlot.reservation_id == reservation.id))


def get(*, session: Session, reservation_id: int) -> Reservation:
    found = session.get(Reservation, reservation_id)
    if found is None:
        raise NotFound(_("Reservation not found"))
    return found


def get_own(*, session: Session, customer_id: int, number: str) -> Reservation:
    """The driver's own reservation by its number; anybody else's does not exist for them."""
    found = session.scalars(select(Reservation).where(Reservation.number == (number or "").strip().upper())).first()
    if found is None or found.customer_id != customer_id:
        raise NotFound(_("Reservation not found"))
    return found


def reservations_of(*, session: Session, customer_id: int) -> list[Reservation]:
    return list(session.scalars(select(Reservation).where(Reservation.customer_id == customer_id)
                                .order_by(Reservation.starts_at.desc())))


def next_booking_start(*, session: Session, car_id: int, after: datetime) -> datetime | None:
    return session.scalar(select(CarSlot.starts_at).where(CarSlot.car_id == car_id, CarSlot.starts_at >= after)
                          .order_by(CarSlot.starts_at).limit(1))


def reserve(*, session: Session, gateway: Gateway, customer_id: int, car_id: int, starts_at: datetime | None,
            hours: float | None = None, kind: str = "minute", share_summary: bool = False,
            quoted_deposit: Decimal | str | None = None) -> Reservation:
    """Holds the car for [start, start + hours) free for the hub's hold window, or raises ``Conflict``.

    A test drive is 24 hours at the test-drive tariff. ``quoted_deposit`` is what the driver was shown:
    a different figure (a tampered form) is refused and nothing is booked."""
    moment = now()
    if kind not in hubs.KINDS:
        raise Invalid(_("Choose a minute booking or a test drive."), field="kind")
    profiles.require_ready(session=session, customer_id=customer_id, on=moment.date())
    car = hubs.get_car(session=session, car_id=car_id)
    hub = hubs.get_hub(session=session, hub_id=car.hub_id)
    if car.out_of_service:
        raise Conflict(_("This car is out of service just now; choose another."), field="car_id")
    start = as_utc(starts_at) if starts_at is not None else moment
    if start.tzinfo is None:
        raise Invalid(_("Give the time with its time zone."), field="starts_at")
    if start < moment - timedelta(minutes=1):
        raise Invalid(_("That time has already passed; choose a time in the future."), field="starts_at")
    if start > moment + timedelta(days=30):
        raise Invalid(_("Cars can be reserved up to 30 days ahead."), field="starts_at")
    length = TEST_DRIVE if kind == "test_drive" else timedelta(hours=hours if hours is not None else 1)
    if not STEP <= length <= LONGEST:
        raise Invalid(_("A booking lasts between 15 minutes and 3 days."), field="hours")
    tariff = hubs.tariff_of(session=session, hub_id=hub.id, kind=kind)
    if quoted_deposit is not None and Decimal(str(quoted_deposit)) != Decimal(tariff.deposit):
        raise Conflict(_("The price has changed or was altered; look at the current price and book again."),
                       field="price")
    start = start.replace(second=0, microsecond=0)
    reservation = Reservation(
        number=references.fresh(session, Reservation.number, "SH", (4, 4)), customer_id=customer_id, car_id=car.id,
        hub_id=hub.id, kind=kind, status="held", starts_at=start, ends_at=start + length,
        hold_until=moment + timedelta(minutes=hub.hold_minutes), tariff=hubs.tariff_terms(tariff),
        share_summary=bool(share_summary) and kind == "test_drive", created_at=moment)
    try:
        with session.begin_nested():
            session.add(reservation)
            session.flush()
            _claim(session, reservation, reservation.starts_at, reservation.ends_at)
    except IntegrityError:
        raise Conflict(_("This car was just booked by someone else for that time; choose another car or time."),
                       field="car_id") from None
    if Decimal(tariff.deposit) > 0:
        payment = payments_service.request(
            session=session, gateway=gateway, purpose="sharing_deposit", subject_kind=SUBJECT,
            subject_id=reservation.id, customer_id=customer_id, payee_id=hub.dealer_id, amount=tariff.deposit,
            capture="manual", currency=tariff.currency)
        reservation.deposit_payment_id = payment.id
    if kind == "test_drive":
        events.publish(session, ModelTrialBooked(reservation_id=reservation.id, customer_id=customer_id,
                                                 dealer_id=hub.dealer_id, model_id=car.model_id,
                                                 allow_contact=reservation.share_summary))
    session.flush()
    return reservation


def confirm(*, session: Session, reservation: Reservation) -> Reservation:
    """The hold becomes a booking (the driver agreed to pay); a lapsed hold must be reserved again."""
    if reservation.status == "booked":
        return reservation
    if reservation.status == "expired":
        raise Conflict(_("The free hold has run out and the car was released; reserve it again."), field="status")
    if reservation.status != "held":
        raise Conflict(_("Only a held car can be booked."), field="status")
    if reservation.hold_until is not None and as_utc(reservation.hold_until) < now():
        expire(session=session, reservation=reservation)
        raise Conflict(_("The free hold has run out and the car was released; reserve it again."), field="status")
    reservation.status, reservation.hold_until = "booked", None
    session.flush()
    positions.on_booked(session=session, reservation=reservation)
    return reservation


def cancel(*, session: Session, reservation: Reservation) -> Reservation:
    if reservation.status not in ("held", "booked"):
        raise Conflict(_("A trip already under way or over cannot be cancelled."), field="status")
    reservation.status, reservation.cancelled_at = "cancelled", now()
    _free(session, reservation)
    payments_service.cancel_open(session=session, subject_kind=SUBJECT, subject_id=reservation.id)
    session.flush()
    return reservation


def extend(*, session: Session, reservation: Reservation, minutes: int) -> Reservation:
    """Later end, if nobody has the car next; otherwise ``Conflict`` naming when the next booking starts."""
    if reservation.status not in OPEN:
        raise Conflict(_("Only a current booking can be extended."), field="status")
    if minutes < SLOT_MINUTES or minutes % SLOT_MINUTES:
        raise Invalid(_("Extend by steps of 15 minutes."), field="minutes")
    old_end = as_utc(reservation.ends_at)
    new_end = old_end + timedelta(minutes=minutes)
    if new_end - as_utc(reservation.starts_at) > LONGEST + (TEST_DRIVE if reservation.kind == "test_drive" else STEP * 0):
        raise Invalid(_("A booking lasts between 15 minutes and 3 days."), field="minutes")
    already = {as_utc(m) for m in session.scalars(select(CarSlot.starts_at).where(
        CarSlot.reservation_id == reservation.id))}
    wanted = [m for m in _steps(old_end, new_end) if m not in already]
    try:
        with session.begin_nested():
            session.add_all(CarSlot(car_id=reservation.car_id, starts_at=m, reservation_id=reservation.id)
                            for m in wanted)
            session.flush()
    except IntegrityError:
        taken = next_booking_start(session=session, car_id=reservation.car_id, after=old_end)
        raise Conflict(_("Someone else has this car from %(time)s; the booking cannot run past that.",
                         time=f"{as_utc(taken):%Y-%m-%d %H:%M} UTC" if taken else "?"), field="minutes") from None
    reservation.ends_at = new_end
    session.flush()
    return reservation


def expire(*, session: Session, reservation: Reservation) -> None:
    reservation.status = "expired"
    _free(session, reservation)
    payments_service.cancel_open(session=session, subject_kind=SUBJECT, subject_id=reservation.id)
    session.flush()


def expire_holds(*, session: Session, limit: int = 500) -> int:
    """Holds nobody confirmed in time free their cars (the worker runs this every minute)."""
    due = list(session.scalars(select(Reservation).where(Reservation.status == "held",
                                                         Reservation.hold_until < now()).limit(limit)))
    for reservation in due:
        expire(session=session, reservation=reservation)
    return len(due)


def overlapping(*, session: Session, car_id: int | None = None) -> list[tuple[int, int]]:
    """Pairs of live reservations of one car whose times overlap: always empty (a check for tests)."""
    query = select(Reservation).where(Reservation.status.in_(OPEN))
    if car_id is not None:
        query = query.where(Reservation.car_id == car_id)
    rows = list(session.scalars(query.order_by(Reservation.car_id, Reservation.starts_at)))
    pairs = []
    for a, b in zip(rows, rows[1:]):
        if a.car_id == b.car_id and as_utc(b.starts_at) < as_utc(a.ends_at):
            pairs.append((a.id, b.id))
    return pairs


def car_of(*, session: Session, reservation: Reservation) -> SharedCar:
    return hubs.get_car(session=session, car_id=reservation.car_id)

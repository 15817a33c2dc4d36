"""Booking a car into a bay: claim one ``BaySlot`` per 30-minute step, or be told it was just taken.

The primary key of ``workshop_bay_slots`` (dealer, bay, start) is what makes double-booking
impossible: two requests racing for the same bay both try to insert the same key and the database
lets exactly one through, on SQLite and PostgreSQL alike. The claim runs inside a SAVEPOINT so a
lost race leaves the caller's transaction usable, to offer the next free times instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core import dates
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service
from forecourt.vehicles import recalls
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import symptoms
from forecourt.workshop.jobs import CATALOGUE, Job, get_job
from forecourt.workshop.models import SLOT_MINUTES, Appointment, BaySlot
from forecourt.parties.markets import zone_of
from forecourt.workshop.slots import STEP, Slot, free_slots, hours_text, opening_intervals

if TYPE_CHECKING:
    from forecourt.parties.models import Organization

SOURCES = ("proactive", "owner", "advisor")


class SlotTaken(Conflict):
    """The time was just taken by someone else; ``alternatives`` are the next free ones."""

    def __init__(self, message: str, alternatives: list[Slot]):
        super().__init__(message, field="starts_at")
        self.alternatives = alternatives


def _as_job(job: Job | str) -> Job:
    return job if isinstance(job, Job) else get_job(job)


def bookable_dealer(*, session: Session, dealer_id: int) -> Organization:
    """An active dealer, or ``Invalid`` (a form's dealer list is the only way to name one)."""
    try:
        dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
    except NotFound:
        raise Invalid(_("Choose a dealer from the list."), field="dealer_id") from None
    if dealer.kind != "dealer" or not dealer.is_active:
        raise Invalid(_("Choose a dealer from the list."), field="dealer_id")
    return dealer


def check_time(*, dealer: Organization, job: Job, bay: int, starts_at: datetime) -> datetime:
    """Refuses, in words, a start in the past, off the grid, on a closed day, outside hours or in no bay."""
    if starts_at.tzinfo is None:
        raise Invalid(_("Give the time with its time zone (e.g. 2025-06-02T09:00:00+02:00)."), field="starts_at")
    starts_at = starts_at.astimezone(UTC)
    if not dealer.service_bays:
        raise Invalid(_("%(name)s has no workshop bays to book.", name=dealer.name), field="dealer_id")
    if bay < 1 or bay > dealer.service_bays:
        raise Invalid(_("%(name)s has bays 1 to %(service_bays)s; there is no bay %(bay)s.", name=dealer.name, service_bays=dealer.service_bays, bay=bay), field="bay")
    if starts_at <= now():
        raise Invalid(_("That time has already passed; choose a time in the future."), field="starts_at")
    if starts_at.second or starts_at.microsecond or starts_at.minute % SLOT_MINUTES:
        raise Invalid(_("Appointments start on the hour or half hour."), field="starts_at")
    local = starts_at.astimezone(zone_of(dealer))  # the dealer's own calendar and clock
    intervals = opening_intervals(dealer, local.date())
    if not intervals:
        raise Invalid(_("%(name)s is closed on %(weekday)s.", name=dealer.name,
                        weekday=dates.weekday_name(local.weekday())), field="starts_at")
    ends_at = starts_at + job.steps * STEP
    if not any(opens <= starts_at and ends_at <= closes for opens, closes in intervals):
        raise Invalid(_("%(name)s is open %(hours)s on %(weekday)s; “%(job)s” takes %(duration)s and does not fit "
                        "starting at %(time)s.", name=dealer.name, hours=hours_text(dealer, local.date()),
                        weekday=dates.weekday_name(local.weekday()), job=job.name, duration=job.duration_text,
                        time=f"{local:%H:%M}"),
                      field="starts_at")
    return starts_at


def _claim(session: Session, appointment: Appointment, steps: int) -> None:
    session.add_all(BaySlot(dealer_id=appointment.dealer_id, bay=appointment.bay,
                            starts_at=appointment.starts_at + i * STEP, appointment_id=appointment.id)
                    for i in range(steps))
    session.flush()


def _taken(session: Session, dealer: Organization, job: Job, starts_at: datetime) -> SlotTaken:
    alternatives = free_slots(session=session, dealer=dealer, job=job, after=starts_at - timedelta(hours=2),
                              limit=3)
    return SlotTaken(taken_text(alternatives), alternatives)


def taken_text(alternatives) -> str:
    """"That time was just taken", with the next free times the reader may choose instead."""
    if not alternatives:
        return _("That time was just taken, and there is no other free time in the next two weeks.")
    return _("That time was just taken; here are the next free ones: %(times)s.",
             times="; ".join(slot.label for slot in alternatives))


def book(*, session: Session, dealer_id: int, vehicle_id: int, customer_id: int | None, bay: int,
         starts_at: datetime, job: Job | str, source: str, reason: str = "", dtc_codes=(),
         recall_campaign_ids=(), symptom_codes=(), symptom_notes: str = "") -> Appointment:
    """Holds the bay for the whole job, or raises ``SlotTaken`` (a ``Conflict``) with the next free times.

    ``symptom_codes`` and ``symptom_notes`` are what the driver noticed; unknown codes are ``Invalid``."""
    job = _as_job(job)
    symptom_codes, symptom_notes = symptoms.clean(codes=symptom_codes, notes=symptom_notes)
    if source not in SOURCES:
        raise Invalid(_("Unknown source %(source)s.", source=f"{source!r}"), field="source")
    dealer = bookable_dealer(session=session, dealer_id=dealer_id)
    starts_at = check_time(dealer=dealer, job=job, bay=bay, starts_at=starts_at)
    try:
        with session.begin_nested():
            appointment = Appointment(dealer_id=dealer.id, vehicle_id=vehicle_id, customer_id=customer_id, bay=bay,
                                      starts_at=starts_at, ends_at=starts_at + job.steps * STEP, job=job.code,
                                      reason=reason, source=source, status="confirmed",
                                      dtc_codes=list(dtc_codes), recall_campaign_ids=list(recall_campaign_ids),
                                      symptoms=symptom_codes, symptom_notes=symptom_notes)
            session.add(appointment)
            session.flush()
            _claim(session, appointment, job.steps)
    except IntegrityError:
        raise _taken(session, dealer, job, starts_at) from None
    return appointment


def get_for_customer(*, session: Session, customer_id: int, appointment_id: int) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or appointment.customer_id != customer_id:
        raise NotFound("Booking not found")
    return appointment


def get_for_dealer(*, session: Session, dealer_id: int, appointment_id: int) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or appointment.dealer_id != dealer_id:
        raise NotFound("Appointment not found")
    return appointment


def _release(session: Session, appointment: Appointment) -> None:
    session.execute(delete(BaySlot).where(BaySlot.appointment_id == appointment.id))


def cancel(*, session: Session, appointment: Appointment, by: str = "owner") -> Appointment:
    """Frees the bay. An owner cannot cancel once the time has come (the workshop may already have the car)."""
    if appointment.status == "cancelled":
        return appointment
    if appointment.status != "confirmed":
        raise Conflict(_("The car is already in the workshop; please talk to your service advisor."))
    if by == "owner" and as_utc(appointment.starts_at) <= now():
        raise Conflict(_("This appointment has already begun; please call the workshop to change it."))
    _release(session, appointment)
    appointment.status, appointment.cancelled_at = "cancelled", now()
    if appointment.recall_campaign_ids:  # the recall's fix is no longer booked: reminders resume
        recalls.unmark_booked(session=session, campaign_ids=list(appointment.recall_campaign_ids),
                              vehicle_id=appointment.vehicle_id)
    session.flush()
    return appointment


def reschedule(*, session: Session, appointment: Appointment, bay: int, starts_at: datetime,
               by: str = "owner") -> Appointment:
    """Moves the appointment to another time (or bay) atomically: the old time is kept if the new one is taken."""
    if appointment.status != "confirmed":
        raise Conflict(_("Only a confirmed appointment can be moved."))
    if by == "owner" and as_utc(appointment.starts_at) <= now():
        raise Conflict(_("This appointment has already begun; please call the workshop to change it."))
    dealer = bookable_dealer(session=session, dealer_id=appointment.dealer_id)
    job = _as_job(appointment.job) if appointment.job != "recall" else Job(
        "recall", "Recall work", int((appointment.ends_at - appointment.starts_at).total_seconds() // 60))
    starts_at = check_time(dealer=dealer, job=job, bay=bay, starts_at=starts_at)
    old = (appointment.bay, appointment.starts_at, appointment.ends_at)
    try:
        with session.begin_nested():
            _release(session, appointment)
            appointment.bay, appointment.starts_at = bay, starts_at
            appointment.ends_at = starts_at + job.steps * STEP
            session.flush()
            _claim(session, appointment, job.steps)
    except IntegrityError:
        appointment.bay, appointment.starts_at, appointment.ends_at = old
        raise _taken(session, dealer, job, starts_at) from None
    return appointment


def upcoming_of(*, session: Session, customer_id: int) -> list[Appointment]:
    """The owner's confirmed appointments that have not ended yet, soonest first."""
    return list(session.scalars(select(Appointment).where(
        Appointment.customer_id == customer_id, Appointment.status.in_(("confirmed", "checked_in")),
        Appointment.ends_at > now()).order_by(Appointment.starts_at)))


def upcoming_for_vehicle(*, session: Session, vehicle_id: int) -> Appointment | None:
    return session.scalars(select(Appointment).where(
        Appointment.vehicle_id == vehicle_id, Appointment.status == "confirmed",
        Appointment.starts_at > now()).order_by(Appointment.starts_at)).first()


def overlapping_appointments(*, session: Session, dealer_id: int | None = None) -> list[tuple[int, int]]:
    """Pairs of live appointments that share a bay at the same time (always none: the key forbids it)."""
    query = select(Appointment).where(Appointment.status.in_(("confirmed", "checked_in")))
    if dealer_id is not None:
        query = query.where(Appointment.dealer_id == dealer_id)
    by_bay: dict[tuple[int, int], list[Appointment]] = {}
    for appointment in session.scalars(query.order_by(Appointment.starts_at)):
        by_bay.setdefault((appointment.dealer_id, appointment.bay), []).append(appointment)
    clashes = []
    for booked in by_bay.values():
        for earlier, later in zip(booked, booked[1:], strict=False):
            if later.starts_at < earlier.ends_at:
                clashes.append((earlier.id, later.id))
    return clashes


def dealer_card(dealer: Organization) -> dict:
    return {"id": dealer.id, "name": dealer.name, "street": dealer.street, "postcode": dealer.postcode,
            "city": dealer.city, "phone": dealer.phone}


def describe(*, session: Session, appointment: Appointment) -> dict:
    """An appointment as the owner sees it: the car, the job in words, where and when (local time)."""
    dealer = parties_service.get_organization(session=session, organization_id=appointment.dealer_id)
    vehicle = vehicles_service.get(session=session, vehicle_id=appointment.vehicle_id)
    job = CATALOGUE.get(appointment.job)
    start, end = as_utc(appointment.starts_at), as_utc(appointment.ends_at)
    return {"id": appointment.id, "vin": vehicle.vin, "car": vehicle.title, "job": appointment.job,
            "job_name": job.name if job else appointment.job, "reason": appointment.reason,
            "dealer": dealer_card(dealer), "bay": appointment.bay, "starts_at": start, "ends_at": end,
            "status": appointment.status, "label": Slot(start, end, appointment.bay, zone=zone_of(dealer)).label,
            "can_cancel": appointment.status == "confirmed" and start > now(),
            "symptoms": list(appointment.symptoms or []), "symptom_notes": appointment.symptom_notes or ""}

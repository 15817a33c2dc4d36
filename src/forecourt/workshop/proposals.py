"""Proactive service: when the car needs the workshop, offer its owner the best times; one click books one.

A proposal is raised by a cause ("dtc:P0301", "service_due") and there is at most one open proposal
per car and cause, so a fault reported on every message proposes once. It goes to the car's
current owner only (a former owner is never told about the car), at the workshop ``choose_dealer``
picks, within the times the owner said they can come. It is always in the owner's own portal (their
own data); an e-mail goes out only when the owner allowed the carmaker or the dealer to use the
car's health or to remind them of service. It expires after a week: the times would be stale.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import outbox
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _, gettext
from forecourt.parties import service as parties_service
from forecourt.parties.markets import zone_of
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import autobook, booking, symptoms
from forecourt.workshop.jobs import CATALOGUE, Job, get_job
from forecourt.workshop.models import Appointment, Availability, Proposal
from forecourt.workshop.slots import Slot, choose_dealer, free_slots, parse_clock

LIFETIME = timedelta(days=7)
OWN_PORTAL = "own_portal"  # the basis of a message in the owner's own portal: their own data, no consent needed
PURPOSES_BY_CAUSE = {"dtc": ("vehicle_health_sharing", "service_reminders"),
                     "service_due": ("service_reminders", "vehicle_health_sharing")}


def availability_of(*, session: Session, customer_id: int) -> list[Availability]:
    return list(session.scalars(select(Availability).where(Availability.customer_id == customer_id)
                                .order_by(Availability.weekday, Availability.from_time)))


def set_availability(*, session: Session, customer_id: int, windows: list[tuple[int, str, str]]) -> list[Availability]:
    """Replaces when the owner can bring the car in. An empty list means "whenever the workshop is open"."""
    for weekday, opens, closes in windows:
        if not 0 <= int(weekday) <= 6:
            raise Invalid(_("Choose a day from Monday to Sunday."), field="weekday")
        try:
            if parse_clock(opens) >= parse_clock(closes):
                raise Invalid(_("The window %(opens)s–%(closes)s ends before it begins.", opens=opens, closes=closes), field="to_time")
        except ValueError:
            raise Invalid(_("Write times as HH:MM, for example 08:00."), field="from_time") from None
    for row in availability_of(session=session, customer_id=customer_id):
        session.delete(row)
    session.flush()
    rows = [Availability(customer_id=customer_id, weekday=int(day), from_time=opens, to_time=closes)
            for day, opens, closes in sorted(set(windows))]
    session.add_all(rows)
    session.flush()
    return rows


def slots_of(proposal: Proposal, zone: tzinfo = UTC) -> list[Slot]:
    """The offered times; ``zone`` is the dealer's clock, which they read in when no viewer is known."""
    return [replace(Slot.from_json(value), zone=zone) for value in proposal.slots or []]


def is_open(proposal: Proposal) -> bool:
    return proposal.status == "open" and as_utc(proposal.expires_at) > now()


def _message_basis(session: Session, customer_id: int, dealer_id: int, cause: str) -> tuple[str, int] | None:
    """The consent purpose that lets Forecourt e-mail the owner about this and the organization holding
    that grant (the e-mail's unsubscribe link withdraws it), or None (portal only)."""
    organizations = [dealer_id]
    try:
        organizations.append(parties_service.carmaker(session=session).id)
    except NotFound:
        pass
    for purpose in PURPOSES_BY_CAUSE["dtc" if cause.startswith("dtc:") else "service_due"]:
        for organization_id in organizations:
            if consent_service.active_grant(session=session, customer_id=customer_id,
                                            organization_id=organization_id, purpose_code=purpose):
                return purpose, organization_id
    return None


def _announce(session: Session, proposal: Proposal, dealer_name: str) -> None:
    dealer = parties_service.get_organization(session=session, organization_id=proposal.dealer_id)
    with outbox.written_for(session, customer_id=proposal.customer_id):  # the owner's language, on the dealer's clock
        first = slots_of(proposal, zone_of(dealer))[0].label if proposal.slots else ""
        subject = _("Your car needs the workshop: %(reason)s", reason=proposal.reason)[:200]
        body = _("%(reason)s. %(dealer)s has time for you, for example %(slot)s. Choose a time in your portal and it "
                 "is held for you with one click.", reason=proposal.reason, dealer=dealer_name, slot=first)
    _tell_owner(session, proposal, "service_proposal", subject, body, f"/me/service#proposal-{proposal.id}")


def _tell_owner(session: Session, proposal: Proposal, topic: str, subject: str, body: str, link: str) -> None:
    """In the app always (the owner's own portal); by e-mail too where the owner's consent allows it."""
    found = _message_basis(session, proposal.customer_id, proposal.dealer_id, proposal.cause)
    outbox.enqueue(session=session, customer_id=proposal.customer_id, channel="in_app", topic=topic,
                   subject=subject, body=body, basis=found[0] if found else OWN_PORTAL, link=link,
                   dedupe_key=f"{topic}:{proposal.id}:in_app")
    if found is not None:
        basis, granted_by = found
        outbox.enqueue(session=session, customer_id=proposal.customer_id, channel="email", topic=topic,
                       subject=subject, body=body, basis=basis, link=link, consent_organization_id=granted_by,
                       dedupe_key=f"{topic}:{proposal.id}:email")


def _announce_booked(session: Session, proposal: Proposal, appointment: Appointment, dealer_name: str) -> None:
    """Tell the owner after: what was booked, why, and that moving or cancelling is one click away."""
    dealer = parties_service.get_organization(session=session, organization_id=proposal.dealer_id)
    with outbox.written_for(session, customer_id=proposal.customer_id):
        when = Slot(as_utc(appointment.starts_at), as_utc(appointment.ends_at), appointment.bay,
                    zone=zone_of(dealer)).label
        subject = _("Booked for you: %(reason)s", reason=proposal.reason)[:200]
        body = _("%(reason)s. As you allowed, we booked your car in at %(dealer)s on %(slot)s, inside the times you "
                 "can come. To move it to another time or cancel it, one click in your portal is enough.",
                 reason=proposal.reason, dealer=dealer_name, slot=when)
    _tell_owner(session, proposal, "service_booked", subject, body, f"/me/service#booking-{appointment.id}")


def open_for(*, session: Session, vehicle_id: int, cause: str) -> Proposal | None:
    return session.scalars(select(Proposal).where(Proposal.vehicle_id == vehicle_id, Proposal.cause == cause,
                                                  Proposal.status == "open", Proposal.expires_at > now())).first()


def needs_proposal(*, session: Session, vehicle_id: int, cause: str) -> bool:
    """Whether ``propose`` could add anything: the car has an owner and no open proposal for this cause."""
    return (vehicles_service.current_owner_id(session=session, vehicle_id=vehicle_id) is not None
            and open_for(session=session, vehicle_id=vehicle_id, cause=cause) is None)


def propose(*, session: Session, vehicle_id: int, job: Job | str, reason: str, cause: str, dtc_codes=(),
            customer_position: tuple[float, float] | None = None, urgent: bool = False) -> Proposal | None:
    """Offers the current owner times to bring the car in; None when there is nobody to ask or nothing to offer.

    Idempotent per (car, cause) while the proposal is open. A car already booked in gets no second
    proposal: the fault codes are added to its coming appointment for the advisor instead. An
    ``urgent`` fault (a red warning) offers the earliest free times, not a few spread over the week,
    and says why. When the owner gave the dealer a standing permission, the earliest time is booked at
    once and the owner is told after (``autobook``)."""
    job = job if isinstance(job, Job) else get_job(job)
    existing = open_for(session=session, vehicle_id=vehicle_id, cause=cause)
    if existing is not None:
        return existing
    customer_id = vehicles_service.current_owner_id(session=session, vehicle_id=vehicle_id)
    if customer_id is None:
        return None
    coming = booking.upcoming_for_vehicle(session=session, vehicle_id=vehicle_id)
    if coming is not None:
        added = [code for code in dtc_codes if code not in (coming.dtc_codes or [])]
        if added:
            coming.dtc_codes = [*(coming.dtc_codes or []), *added]
            session.flush()
        return None
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    availability = availability_of(session=session, customer_id=customer_id)
    choice = choose_dealer(session=session, vehicle=vehicle, customer_position=customer_position, job=job,
                           availability=availability, per_day=None if urgent else 2)
    if choice.dealer is None:
        return None
    if urgent:
        reason = _("Urgent: %(reason)s. A red warning should not wait, so this is the earliest free time.",
                   reason=reason)
    proposal = Proposal(vehicle_id=vehicle_id, customer_id=customer_id, dealer_id=choice.dealer.id, job=job.code,
                        reason=reason, dtc_codes=list(dtc_codes), slots=[s.as_json() for s in choice.slots],
                        status="open", cause=cause, expires_at=now() + LIFETIME, urgent=urgent)
    session.add(proposal)
    session.flush()
    appointment = autobook.book_earliest(session=session, proposal=proposal)
    if appointment is not None:
        _announce_booked(session, proposal, appointment, choice.dealer.name)
    else:
        _announce(session, proposal, choice.dealer.name)
    return proposal


def get_for_customer(*, session: Session, customer_id: int, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.customer_id != customer_id:
        raise NotFound("Proposal not found")
    return proposal


def _still_open(proposal: Proposal) -> None:
    if proposal.status == "booked":
        raise Conflict(_("You have already booked this; see your coming appointments."))
    if proposal.status == "declined":
        raise Conflict(_("You declined this proposal."))
    if not is_open(proposal):
        raise Conflict(_("This proposal has expired; book a time yourself or wait for a fresh one."))


def refresh_slots(*, session: Session, proposal: Proposal) -> list[Slot]:
    """Fresh times at the same dealer (after one was taken), within the owner's availability."""
    dealer = parties_service.get_organization(session=session, organization_id=proposal.dealer_id)
    fresh = free_slots(session=session, dealer=dealer, job=get_job(proposal.job), after=now(), per_day=2,
                       availability=availability_of(session=session, customer_id=proposal.customer_id))
    proposal.slots = [slot.as_json() for slot in fresh]
    session.flush()
    return fresh


def accept(*, session: Session, customer_id: int, proposal_id: int, slot_index: int, symptom_codes=(),
           symptom_notes: str = "") -> Appointment:
    """One click: books the chosen slot and holds it. If it was just taken, raises ``SlotTaken`` after
    refreshing the proposal's times (the caller commits them so the owner can pick again)."""
    proposal = get_for_customer(session=session, customer_id=customer_id, proposal_id=proposal_id)
    _still_open(proposal)
    offered = slots_of(proposal)
    if not 0 <= slot_index < len(offered):
        raise Invalid(_("Choose one of the offered times."), field="slot_index")
    symptoms.clean(codes=symptom_codes, notes=symptom_notes)  # the driver's mistake, not a taken time
    slot = offered[slot_index]
    try:
        appointment = booking.book(session=session, dealer_id=proposal.dealer_id, vehicle_id=proposal.vehicle_id,
                                   customer_id=customer_id, bay=slot.bay, starts_at=slot.starts_at,
                                   job=proposal.job, source="proactive", reason=proposal.reason,
                                   dtc_codes=proposal.dtc_codes or [], symptom_codes=symptom_codes,
                                   symptom_notes=symptom_notes)
    except (booking.SlotTaken, Invalid):
        fresh = refresh_slots(session=session, proposal=proposal)
        raise booking.SlotTaken(booking.taken_text(fresh[:3]), fresh) from None
    proposal.status, proposal.appointment_id = "booked", appointment.id
    session.flush()
    return appointment


def decline(*, session: Session, customer_id: int, proposal_id: int) -> Proposal:
    proposal = get_for_customer(session=session, customer_id=customer_id, proposal_id=proposal_id)
    if proposal.status == "booked":
        raise Conflict(_("This is booked; cancel the appointment instead."))
    proposal.status = "declined"
    session.flush()
    return proposal


def open_of(*, session: Session, customer_id: int) -> list[Proposal]:
    return list(session.scalars(select(Proposal).where(
        Proposal.customer_id == customer_id, Proposal.status == "open", Proposal.expires_at > now())
        .order_by(Proposal.created_at.desc())))


def expire_due(*, session: Session) -> int:
    """Marks open proposals past their week as expired (for the scheduler; reads already ignore them)."""
    due = list(session.scalars(select(Proposal).where(Proposal.status == "open", Proposal.expires_at <= now())))
    for proposal in due:
        proposal.status = "expired"
    session.flush()
    return len(due)


def describe(*, session: Session, proposal: Proposal) -> dict:
    """A proposal as the owner sees it: why, where, and the times to choose from (one click each)."""
    dealer = parties_service.get_organization(session=session, organization_id=proposal.dealer_id)
    vehicle = vehicles_service.get(session=session, vehicle_id=proposal.vehicle_id)
    job = CATALOGUE.get(proposal.job)
    return {"id": proposal.id, "vin": vehicle.vin, "car": vehicle.title, "job": proposal.job,
            "job_name": job.name if job else proposal.job, "duration": job.duration_text if job else "",
            "reason": proposal.reason, "dtc_codes": list(proposal.dtc_codes or []),
            "dealer": booking.dealer_card(dealer),
            "status": "expired" if proposal.status == "open" and not is_open(proposal) else proposal.status,
            "expires_at": as_utc(proposal.expires_at), "urgent": bool(proposal.urgent),
            "slots": [slot_view(slot) for slot in slots_of(proposal)]}


def slot_view(slot: Slot) -> dict:
    return {"starts_at": slot.starts_at, "ends_at": slot.ends_at, "bay": slot.bay, "label": slot.label}


def _moves(session: Session, appointment: Appointment) -> dict:
    """For a booking made by the owner's standing permission: that it was, and the times to move it to."""
    proposal = session.scalars(select(Proposal).where(Proposal.appointment_id == appointment.id,
                                                      Proposal.auto_booked.is_(True))).first()
    if proposal is None:
        return {"auto_booked": False, "move_to": []}
    dealer = parties_service.get_organization(session=session, organization_id=appointment.dealer_id)
    later = [replace(slot, zone=zone_of(dealer)) for slot in autobook.other_times(proposal, appointment)
             if slot.starts_at > now()]
    return {"auto_booked": True, "move_to": [slot_view(slot) for slot in later[:4]]}


def overview(*, session: Session, customer_id: int) -> dict:
    """Everything on the owner's service page: open proposals, coming appointments, their availability."""
    return {"proposals": [describe(session=session, proposal=p) for p in open_of(session=session,
                                                                                customer_id=customer_id)],
            "appointments": [booking.describe(session=session, appointment=a) | _moves(session, a)
                             for a in booking.upcoming_of(session=session, customer_id=customer_id)],
            "automatic_dealers": sorted(autobook.dealers_permitted(session=session, customer_id=customer_id)),
            "availability": availability_of(session=session, customer_id=customer_id)}


def offer(*, session: Session, customer_id: int, vin: str, job: str, dealer_id: int | None = None,
          customer_position: tuple[float, float] | None = None) -> dict:
    """Times the owner can book for their own car: at the dealer they picked, or the one we would pick."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    ownership = vehicles_service.owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
    if ownership.ended_at is not None:
        raise NotFound("Vehicle not found")
    chosen_job = get_job(job)
    availability = availability_of(session=session, customer_id=customer_id)
    if dealer_id is None:
        choice = choose_dealer(session=session, vehicle=vehicle, customer_position=customer_position, job=chosen_job,
                               availability=availability)
        dealer, reason, slots = choice.dealer, choice.reason, choice.slots
    else:
        dealer = booking.bookable_dealer(session=session, dealer_id=dealer_id)
        slots = free_slots(session=session, dealer=dealer, job=chosen_job, after=now(), per_day=2,
                           availability=availability)
        reason = (_("Free times at %(dealer)s.", dealer=dealer.name) if slots else
                  _("%(dealer)s has no free bay in the next two weeks at the times you gave.", dealer=dealer.name)
                  if availability else _("%(dealer)s has no free bay in the next two weeks.", dealer=dealer.name))
    return {"vehicle": vehicle, "job": chosen_job, "dealer": dealer, "reason": reason,
            "slots": [slot_view(slot) for slot in slots]}


def book_for_owner(*, session: Session, customer_id: int, vin: str, job: str, dealer_id: int, bay: int,
                   starts_at, symptom_codes=(), symptom_notes: str = "") -> Appointment:
    """The owner books their own car in (no proposal): the same checks and the same hold on the bay."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    ownership = vehicles_service.owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
    if ownership.ended_at is not None:
        raise NotFound("Vehicle not found")
    chosen = get_job(job)
    if chosen.code == "recall":
        raise Invalid(_("Recall work is booked from the recall notice."), field="job")
    return booking.book(session=session, dealer_id=dealer_id, vehicle_id=vehicle.id, customer_id=customer_id,
                        bay=bay, starts_at=starts_at, job=chosen, source="owner",
                        reason=_("%(job)s, booked by the owner", job=gettext(chosen.name)),
                        symptom_codes=symptom_codes, symptom_notes=symptom_notes)

"""Day-long test drives from the sharing hubs become sales work for the hub's dealer.

A booked test drive is a lead (``intake.take_lead``, as the driver's own request, so it joins their
open lead and configuration if they have one, and a driver who allowed contact grants the dealer
sales contact); a returned one is a test-drive activity with the model tried (which lead scoring and
the loaner preferences already read) and, where the driver allowed it, a follow-up for the dealer.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core import events
from forecourt.core.clock import now, today
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.sales import follow_ups, intake, leads
from forecourt.sales.models import Activity, Lead, Order
from forecourt.sharing.events import ModelTrialBooked, ModelTrialReturned


def on_trial_booked(event: ModelTrialBooked, *, session: Session) -> None:
    customer = customers_service.get(session=session, customer_id=event.customer_id)
    account = parties_service.customer_account(session=session, customer_id=customer.id)
    principal = parties_service.principal_for(account) if account is not None else None
    existing = leads.recent_open_lead(session=session, customer_id=customer.id, dealer_id=event.dealer_id)
    if existing is not None and existing.source == "test_drive" and existing.model_id == event.model_id and \
            f"#{event.reservation_id}" in (existing.message or ""):
        return  # delivered twice
    intake.take_lead(session=session, source="test_drive", first_name=customer.first_name,
                     last_name=customer.last_name, email=customer.email, phone=customer.phone,
                     dealer_id=event.dealer_id, model_id=event.model_id, preferred_date=today(),
                     message=f"Day-long test drive from the sharing hub (booking #{event.reservation_id})",
                     wants="test_drive", allow_contact=event.allow_contact, principal=principal)


def on_trial_returned(event: ModelTrialReturned, *, session: Session) -> None:
    lead = leads.recent_open_lead(session=session, customer_id=event.customer_id, dealer_id=event.dealer_id)
    notes = f"Returned the day-long test drive (booking #{event.reservation_id})"
    if event.km is not None:
        notes += f": {event.days} days, {event.km} km"
    session.add(Activity(dealer_id=event.dealer_id, customer_id=event.customer_id, lead_id=lead.id if lead else None,
                         kind="test_drive", happened_at=now(), notes=notes, model_id=event.model_id))
    follow_ups.schedule_for_dealer(session=session, organization_id=event.dealer_id, customer_id=event.customer_id,
                                   title=f"Ask how the day-long test drive went (booking #{event.reservation_id})",
                                   due_on=today() + timedelta(days=1))
    session.flush()


def subscribe_handlers(registry: events.Handlers) -> None:
    registry.subscribe(ModelTrialBooked, "sales.lead_from_test_drive", on_trial_booked)
    registry.subscribe(ModelTrialReturned, "sales.follow_up_test_drive", on_trial_returned)


def conversion(*, session: Session, customer_ids: list[int], since) -> dict:
    """Of the drivers who took a day-long test drive: how many became a lead, and how many ordered since."""
    if not customer_ids:
        return {"leads": 0, "orders": 0}
    leads_count = session.scalar(select(func.count(func.distinct(Lead.customer_id))).where(
        Lead.customer_id.in_(customer_ids), Lead.source == "test_drive", Lead.created_at >= since)) or 0
    orders_count = session.scalar(select(func.count(func.distinct(Order.customer_id))).where(
        Order.customer_id.in_(customer_ids), Order.status != "cancelled", Order.created_at >= since)) or 0
    return {"leads": leads_count, "orders": orders_count}

"""What sales holds about one person: the sales part of the customer 360, of "download my data" and of
erasure. Callers (``customers``) have already opened the consent door or act for the person themselves.

Erasure keeps the dealer's books (opportunities, orders and their payments) for tax and accounting,
unlinked from the person; what only describes the person (what they typed on a lead form, a rep's
notes about them) is cleared.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.clock import as_utc
from forecourt.core.db import plain_row
from forecourt.sales import finance
from forecourt.sales.codes import display_code
from forecourt.sales.models import Activity, Configuration, FollowUp, Lead, Opportunity, Order
from forecourt.sales.orders import money_of
from forecourt.vehicles import service as vehicles_service

LEAD_CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "postcode", "city", "message",
                       "preferred_date")




def _models(session: Session, trim_ids) -> dict[int, str]:
    titles = {}
    for trim_id in set(trim_ids):
        trim = vehicles_service.get_trim(session=session, trim_id=trim_id)
        titles[trim_id] = f"{trim.model.name} {trim.name}"
    return titles


def _model_names(session: Session) -> dict[int, str]:
    return {model.id: model.name for model in vehicles_service.list_models(session=session)}


# --- the customer 360 ----------------------------------------------------------------------------

def sales_history(*, session: Session, customer_id: int, dealer_id: int) -> dict:
    """For a rep of ``dealer_id``: the person's configurations, and what they did with this dealer."""
    configurations = list(session.scalars(select(Configuration).where(Configuration.customer_id == customer_id)
                                          .order_by(Configuration.created_at.desc())))
    titles = _models(session, [c.trim_id for c in configurations])
    models = _model_names(session)
    activities = session.scalars(select(Activity).where(
        Activity.customer_id == customer_id, Activity.dealer_id == dealer_id,
        Activity.kind.in_(("test_drive", "visit"))).order_by(Activity.happened_at.desc()))
    opportunities = session.scalars(select(Opportunity).where(
        Opportunity.customer_id == customer_id, Opportunity.dealer_id == dealer_id)
        .order_by(Opportunity.created_at.desc()))
    orders = list(session.scalars(select(Order).where(Order.customer_id == customer_id, Order.dealer_id == dealer_id)
                                  .order_by(Order.created_at.desc())))
    order_cars = {c.id: c for c in session.scalars(select(Configuration).where(
        Configuration.id.in_([o.configuration_id for o in orders])))} if orders else {}
    titles |= _models(session, [c.trim_id for c in order_cars.values()])
    purchases = []
    for vehicle, ownership in vehicles_service.vehicles_of(session=session, customer_id=customer_id,
                                                           current_only=False):
        if ownership.sold_by_dealer_id == dealer_id:
            purchases.append(dict(vin=vehicle.vin, car=f"{vehicle.model_name} {vehicle.trim_name}",
                                  model_year=vehicle.model_year, bought_at=as_utc(ownership.started_at),
                                  sold_on_at=as_utc(ownership.ended_at)))
    return dict(
        configurations=[dict(code=display_code(c.code), car=titles[c.trim_id], total_price=float(c.total_price),
                             currency=c.currency, created_at=as_utc(c.created_at)) for c in configurations],
        test_drives_and_visits=[dict(kind=a.kind, happened_at=as_utc(a.happened_at),
                                     model=models.get(a.model_id) if a.model_id else None, notes=a.notes)
                                for a in activities],
        opportunities=[dict(title=o.title, stage=o.stage_code, status=o.status, amount=float(o.amount or 0),
                            currency=o.currency, expected_close=o.expected_close, created_at=as_utc(o.created_at))
                       for o in opportunities],
        orders=[dict(number=o.number, status=o.status, payment_state=money_of(session=session, order=o)["state"],
                     car=titles[order_cars[o.configuration_id].trim_id], price=float(o.price), currency=o.currency,
                     delivery_at=as_utc(o.delivery_at), created_at=as_utc(o.created_at)) for o in orders],
        purchases=purchases,
    )


# --- download my data ----------------------------------------------------------------------------

def export_of(*, session: Session, customer_id: int) -> dict[str, list[dict]]:
    """Every sales row that names the person (the payments on their orders are in the payments section)."""
    def rows(model) -> list[dict]:
        return [plain_row(r) for r in session.scalars(select(model).where(model.customer_id == customer_id)
                                                   .order_by(model.id))]

    return {"configurations": rows(Configuration), "leads": rows(Lead), "opportunities": rows(Opportunity),
            "sales_activities": rows(Activity), "orders": rows(Order), "follow_ups": rows(FollowUp),
            "finance_contracts": finance.export_of(session=session, customer_id=customer_id)}


# --- erasure -------------------------------------------------------------------------------------

def erase_customer(*, session: Session, customer_id: int, names: tuple[str, ...] = ()) -> dict[str, int]:
    """Clear what describes the person, unlink the rest; ``names`` are words a deal's title must lose.
    Finance contracts go: the partner's own books keep them."""
    counts = dict.fromkeys(("configurations", "leads", "sales_activities", "opportunities", "orders"), 0)
    counts["finance_contracts"] = finance.erase_customer(session=session, customer_id=customer_id)
    for configuration in session.scalars(select(Configuration).where(Configuration.customer_id == customer_id)):
        configuration.customer_id = None
        counts["configurations"] += 1
    for lead in session.scalars(select(Lead).where(Lead.customer_id == customer_id)):
        for column in LEAD_CONTACT_FIELDS:
            setattr(lead, column, "" if column == "message" else None)
        lead.customer_id = None
        counts["leads"] += 1
    for activity in session.scalars(select(Activity).where(Activity.customer_id == customer_id)):
        activity.notes, activity.customer_id = "", None
        counts["sales_activities"] += 1
    words = [n.lower() for n in names if n and len(n) > 1]
    for opportunity in session.scalars(select(Opportunity).where(Opportunity.customer_id == customer_id)):
        if any(word in (opportunity.title or "").lower() for word in words):
            opportunity.title = f"Deal #{opportunity.id} (customer erased)"
        opportunity.customer_id = None
        counts["opportunities"] += 1
    for order in session.scalars(select(Order).where(Order.customer_id == customer_id)):
        order.customer_id = None
        counts["orders"] += 1
    session.flush()
    return counts


def models_tried(*, session: Session, customer_id: int, dealer_id: int) -> list[tuple[datetime, int, str]]:
    """(when, model id, "configured" | "test_drove"): the models the person configured anywhere or
    test-drove at this dealer. The caller has opened the consent door for sales contact."""
    tried = [(as_utc(c.created_at), vehicles_service.get_trim(session=session, trim_id=c.trim_id).model_id,
              "configured")
             for c in session.scalars(select(Configuration).where(Configuration.customer_id == customer_id))]
    tried += [(as_utc(a.happened_at), a.model_id, "test_drove") for a in session.scalars(select(Activity).where(
        Activity.customer_id == customer_id, Activity.dealer_id == dealer_id, Activity.kind == "test_drive",
        Activity.model_id.is_not(None)))]
    return tried

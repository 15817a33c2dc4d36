"""Demo data: On Call terms, subscriptions, emergency contacts and a few past cases.

The demo's towing partners and emergency services are written with the other partners
(``organizations.PARTNERS``: roadside and emergency near Berlin, Stuttgart, Essen, Kassel, Hannover,
Nürnberg). Here: three years of On Call with every car from its first ownership (renewed by most
owners when it ran out, each renewal paid by bank transfer and recorded by the carmaker's admin
through the manual payment provider), emergency contacts for a few owners, and past cases closed with
their timeline and the tow sent, so the console has a history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from random import Random

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from forecourt.assist import dispatch as dispatch_service
from forecourt.assist.models import Case, CaseEvent, Dispatch, EmergencyContact, Subscription, SubscriptionTerms
from forecourt.core.auth import Role
from forecourt.parties.models import Organization, User
from forecourt.payments.models import Payment, PaymentEntry
from forecourt.vehicles.models import Ownership

INCLUDED_YEARS = 3
RENEWAL_PRICE = 99.0
RENEWAL_SHARE = 0.7  # of owners whose included years ended
CONTACTS = [("Jonas Becker", "Partner"), ("Mia Schulz", "Sister"), ("Leon Wagner", "Son"),
            ("Emma Hoffmann", "Friend"), ("Paul Richter", "Father")]
PAST = [("breakdown", "help_arrived"), ("crash", "help_arrived"), ("sos", "false_alarm")]


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Writes the demo's On Call rows after customers and cars exist; returns row counts by table."""
    session.add(SubscriptionTerms(model_id=None, market="DE", included_years=INCLUDED_YEARS,
                                  renewal_price=RENEWAL_PRICE))
    first = dict(session.execute(select(Ownership.vehicle_id, func.min(Ownership.started_at))
                                 .group_by(Ownership.vehicle_id)).all())
    current = dict(session.execute(select(Ownership.vehicle_id, Ownership.customer_id)
                                   .where(Ownership.ended_at.is_(None))).all())
    rows = [dict(vehicle_id=vehicle_id, customer_id=current.get(vehicle_id), plan="included",
                 starts_on=started.date(), ends_on=_years_later(started.date(), INCLUDED_YEARS), price=0,
                 created_at=started) for vehicle_id, started in first.items() if started is not None]
    renewals = _renewals(rows, rng, now.date())
    if rows:
        session.execute(insert(Subscription), rows)
    _paid_renewals(session, renewals)
    owned = sorted((v, c) for v, c in current.items() if c is not None)
    picked = rng.sample(owned, min(len(owned), len(CONTACTS)))
    for (_, customer_id), (name, relation) in zip(picked, CONTACTS, strict=False):
        session.add(EmergencyContact(customer_id=customer_id, name=name, relation=relation, position=0,
                                     phone=f"+49 151 {rng.randint(1000000, 9999999)}"))
    session.flush()
    cases = _past_cases(session, rng, now, picked)
    return {"assist_subscriptions": len(rows) + len(renewals), "assist_emergency_contacts": len(picked),
            "assist_cases": cases}


def _renewals(included: list[dict], rng: Random, today: date) -> list[dict]:
    """Most owners renew when the included years run out, for one to three years: a demo where
    every older car had lost its live map would not look like a real network."""
    rows = []
    for row in included:
        if row["customer_id"] is None or row["ends_on"] >= today or rng.random() > RENEWAL_SHARE:
            continue
        years = rng.choice((1, 2, 3))
        starts_on = row["ends_on"] + timedelta(days=1)
        rows.append(dict(vehicle_id=row["vehicle_id"], customer_id=row["customer_id"], plan="renewal",
                         starts_on=starts_on, ends_on=_years_later(starts_on, years) - timedelta(days=1),
                         price=RENEWAL_PRICE * years, created_at=datetime.combine(row["ends_on"] - timedelta(days=30), time.min, tzinfo=UTC)))
    return rows


def _paid_renewals(session: Session, renewals: list[dict]) -> None:
    """Each renewal with its payment to the carmaker, received by transfer and recorded by its admin
    (the rows ``payments.service.request`` and ``record_receipt`` write, in bulk)."""
    if not renewals:
        return
    carmaker = session.scalar(select(Organization.id).where(Organization.kind == "carmaker").order_by(Organization.id))
    admin = session.scalar(select(User.id).where(User.role == Role.CARMAKER_ADMIN.value,
                                                 User.organization_id == carmaker).order_by(User.id))
    payment_ids = session.scalars(insert(Payment).returning(Payment.id, sort_by_parameter_order=True), [dict(
        reference=f"PAY-DEMO-{index:05d}", provider="manual", purpose="on_call_renewal", subject_kind="subscription",
        subject_id=0, customer_id=row["customer_id"], payee_id=carmaker, amount=row["price"], currency="EUR",
        capture="automatic", status="paid", created_at=row["created_at"], updated_at=row["created_at"] + timedelta(days=3))
        for index, row in enumerate(renewals, start=1)]).all()
    subscription_ids = session.scalars(insert(Subscription).returning(Subscription.id, sort_by_parameter_order=True),
                                       [row | {"payment_id": pid} for row, pid in zip(renewals, payment_ids,
                                                                                       strict=True)]).all()
    session.execute(update(Payment), [{"id": pid, "subject_id": sid}
                                      for pid, sid in zip(payment_ids, subscription_ids, strict=True)])
    session.execute(insert(PaymentEntry), [dict(
        payment_id=pid, kind="receipt", amount=row["price"], provider="manual",
        provider_reference=f"demo-transfer-{pid}", method="transfer", recorded_by_user_id=admin,
        reverses_entry_id=None, note="", details={}, at=row["created_at"] + timedelta(days=3))
        for row, pid in zip(renewals, payment_ids, strict=True)])


def _past_cases(session: Session, rng: Random, now: datetime, picked: list) -> int:
    """Closed cases of the past weeks, each with its alert, acknowledgement, tow and closing on the timeline."""
    written = 0
    for index, ((vehicle_id, customer_id), (kind, resolution)) in enumerate(zip(picked, PAST, strict=False)):
        opened = now - timedelta(days=7 * (index + 1), hours=rng.randint(1, 10))
        lat, lon = 52.45 + rng.random() * 0.2, 13.2 + rng.random() * 0.4  # around Berlin
        case = Case(number=f"OC-DEMO{index + 1}", vehicle_id=vehicle_id, customer_id=customer_id, kind=kind,
                    priority={"crash": 1, "sos": 2, "breakdown": 3}[kind], status="closed", resolution=resolution,
                    source="embedded", latitude=lat, longitude=lon, opened_at=opened, last_alert_at=opened,
                    acknowledged_at=opened + timedelta(seconds=40), closed_at=opened + timedelta(hours=2),
                    resolved_at=opened + timedelta(hours=1, minutes=30))
        session.add(case)
        session.flush()
        events = [("alert", opened, f"{kind.upper()} alert received"),
                  ("acknowledged", case.acknowledged_at, "Acknowledged by the call centre")]
        towing = dispatch_service.providers_for(session=session, case_id=case.id, now=opened)["towing"]
        if resolution == "help_arrived" and towing:
            tow = towing[0]
            destination = dispatch_service.tow_destination(session=session, case=case)
            sent_at = opened + timedelta(minutes=3)
            case.dispatched_at = sent_at
            session.add(Dispatch(case_id=case.id, provider_id=tow["provider_id"], kind="tow",
                                 distance_km=tow["distance_km"], eta_minutes=tow["eta_minutes"],
                                 destination_dealer_id=destination[0].id if destination else None,
                                 dispatched_at=sent_at, arrived_at=sent_at + timedelta(hours=1), status="arrived"))
            events.append(("dispatched", sent_at, f"Sent tow truck {tow['name']}, there in {tow['eta']}."))
        events += [("resolved", case.resolved_at, f"Resolved: {resolution.replace('_', ' ')}"),
                   ("closed", case.closed_at, "Closed")]
        for event_kind, at, text in events:
            session.add(CaseEvent(case_id=case.id, kind=event_kind, at=at, text=text))
        written += 1
    session.flush()
    return written

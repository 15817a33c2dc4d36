"""What On Call holds about one person, for "download my data" and erasure.

A case stays with the call centre's records (who was sent where, and when) unlinked from the person;
a subscription belongs to the car; the emergency contacts are the person's own list and go with them.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.assist.models import Case, EmergencyContact, Subscription
from forecourt.core.db import plain_row

SECTIONS = {"assist_cases": Case, "assist_subscriptions": Subscription,
            "assist_emergency_contacts": EmergencyContact}


def export_of(*, session: Session, customer_id: int) -> dict[str, list[dict]]:
    return {name: [plain_row(row) for row in session.scalars(
                select(model).where(model.customer_id == customer_id).order_by(model.id))]
            for name, model in SECTIONS.items()}


def erase_customer(*, session: Session, customer_id: int) -> dict[str, int]:
    removed = {"assist_emergency_contacts": session.execute(
        delete(EmergencyContact).where(EmergencyContact.customer_id == customer_id)).rowcount}
    unlinked = {}
    for name, model in (("assist_cases", Case), ("assist_subscriptions", Subscription)):
        rows = list(session.scalars(select(model).where(model.customer_id == customer_id)))
        for row in rows:
            row.customer_id = None
        unlinked[name] = len(rows)
    session.flush()
    return removed | {f"{name}_unlinked": count for name, count in unlinked.items()}

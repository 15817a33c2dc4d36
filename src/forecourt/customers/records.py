"""What the customers domain holds about one person, for "download my data" and erasure
(``privacy.rights``): the profile and the preferences. Erasure keeps the row, so the records other
domains keep (service book, ledger) still point at a number, and empties everything that names the person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from forecourt.core.db import plain_row
from forecourt.customers.models import Customer, Preferences

ERASED_FIELDS = ("first_name", "last_name", "email", "phone", "street", "postcode", "city", "country", "birth_date",
                 "market", "time_zone")


def any_of(*, session: Session, customer_id: int) -> Customer | None:
    """The customer row, erased or not: erasure must see an erased one to answer "already erased"."""
    return session.get(Customer, customer_id)


def export_of(*, session: Session, customer_id: int) -> dict:
    customer = session.get(Customer, customer_id)
    preferences = session.get(Preferences, customer_id)
    return {"customer": plain_row(customer), "preferences": plain_row(preferences) if preferences else None}


def erase_preferences(*, session: Session, customer_id: int) -> int:
    return session.execute(delete(Preferences).where(Preferences.customer_id == customer_id)).rowcount


def erase_profile(*, session: Session, customer: Customer, moment: datetime) -> None:
    for column in ERASED_FIELDS:
        setattr(customer, column, None)
    customer.erased_at = moment

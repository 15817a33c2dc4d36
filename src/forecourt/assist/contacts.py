"""The owner's emergency contacts: whom the call centre calls when the driver cannot answer.

The owner keeps the list (up to three, in the order they should be called). Agents read it only
with the owner's card (``customer_card``): through the consent door under emergency assistance with
the case as reference, so every look is in the owner's access log.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.assist import cases
from forecourt.assist.models import Case, EmergencyContact
from forecourt.core import phones
from forecourt.core.auth import Principal
from forecourt.core.i18n import _
from forecourt.customers import service as customers_service
from forecourt.parties import markets
from forecourt.core.errors import Invalid, NotFound

EMERGENCY = "emergency_assistance"

MAX_CONTACTS = 3


def list_for(*, session: Session, customer_id: int) -> list[EmergencyContact]:
    return list(session.scalars(select(EmergencyContact).where(EmergencyContact.customer_id == customer_id)
                                .order_by(EmergencyContact.position, EmergencyContact.id)))


def _checked(index: int, contact: dict, region: str | None) -> dict | None:
    """One row of the form; an entirely blank row means "no contact here" and is dropped."""
    name = (contact.get("name") or "").strip()
    phone = (contact.get("phone") or "").strip()
    relation = (contact.get("relation") or "").strip()
    if not (name or phone or relation):
        return None
    which = _("Contact %(number)s", number=index + 1)
    if not name:
        raise Invalid(_("%(which)s: give a name, so the agent knows whom they are calling.", which=which),
                      field=f"contacts.{index}.name")
    if len(name) > 120:
        raise Invalid(_("%(which)s: the name is longer than 120 characters.", which=which), field=f"contacts.{index}.name")
    if not phone:
        raise Invalid(_("%(which)s: give a phone number; a contact without one cannot be called.", which=which),
                      field=f"contacts.{index}.phone")
    try:
        phone = phones.normalise(phone, region=region, field=f"contacts.{index}.phone")
    except Invalid as problem:
        raise Invalid(f"{which}: {problem.message}", field=problem.field) from None
    if len(relation) > 40:
        raise Invalid(_("%(which)s: the relation is longer than 40 characters.", which=which), field=f"contacts.{index}.relation")
    return {"name": name, "phone": phone, "relation": relation}


def replace(*, session: Session, customer_id: int, contacts: list[dict], region: str | None = None) -> list[EmergencyContact]:
    """Replaces the whole list at once: the form shows all rows, so what is sent is what is meant.
    Numbers are stored as E.164; one typed without a country code is read in ``region`` (the owner's market's,
    else the default market's)."""
    region = region or markets.region_of(None)
    checked = [row for row in (_checked(i, c, region) for i, c in enumerate(contacts)) if row is not None]
    if len(checked) > MAX_CONTACTS:
        raise Invalid(_("At most %(max_contacts)s emergency contacts; you gave %(len)s.", max_contacts=MAX_CONTACTS, len=len(checked)), field="contacts")
    session.execute(delete(EmergencyContact).where(EmergencyContact.customer_id == customer_id))
    rows = [EmergencyContact(customer_id=customer_id, position=position, **row)
            for position, row in enumerate(checked)]
    session.add_all(rows)
    session.flush()
    return rows


def customer_card(*, session: Session, principal: Principal, case: Case, what: str) -> tuple[object, list] | None:
    """The owner at the time of the alert and their emergency contacts, through the consent door
    (vital interest, logged as ``what`` with the case as reference); ``None`` when the case names
    nobody or the door stays shut for this principal."""
    if case.customer_id is None:
        return None
    try:
        customer, _categories = customers_service.open_for(
            session=session, principal=principal, customer_id=case.customer_id, purpose=EMERGENCY, what=what,
            reference=cases.reference_for(session=session, principal=principal, case=case))
    except NotFound:
        return None
    return customer, list_for(session=session, customer_id=customer.id)

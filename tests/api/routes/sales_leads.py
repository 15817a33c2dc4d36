"""Access-control classes of the leads routes (see tests/api/test_access_control.py).

Reading one lead is reading its customer's data: a lead of customer A at dealer A, opened only with A's
sales-contact grant to dealer A (and only by dealer A's sales reps). Lists show leads of the customers
who granted the caller's dealer; the world gives every customer who holds a grant to dealer A or B a
lead there, so the generic list check has someone to find and someone to hide.
"""

from __future__ import annotations

from sqlalchemy import select

from forecourt.consent.models import Grant
from forecourt.customers.models import Customer
from forecourt.sales.models import Lead
from tests.api.acl_rules import CUSTOMER_DATA, CUSTOMER_LIST, DEALER, PUBLIC, Rule
from tests.factories import form_token_of

KEEP, DUPLICATE = "ACL lead to keep", "ACL duplicate"


def _lead(w, message: str = KEEP, *, reuse: bool = True) -> Lead:
    if reuse:
        found = w.session.scalars(select(Lead).where(Lead.customer_id == w.customer.id, Lead.dealer_id == w.dealer.id,
                                                     Lead.message == message)).first()
        if found is not None:
            return found
    lead = Lead(dealer_id=w.dealer.id, customer_id=w.customer.id, source="test_drive", first_name="Aurelia",
                last_name=w.customer.last_name, email=w.customer.email, message=message, routed_by="customer_choice",
                routing_facts={"code": "customer_choice"})
    w.session.add(lead)
    w.session.commit()
    return lead


def _lead_id(w) -> dict:
    return {"lead_id": _lead(w).id}


def _duplicate(w) -> dict:
    return {"duplicate_id": _lead(w, DUPLICATE, reuse=False).id}


def _everyone_asked(w) -> dict:
    """Each customer holding a grant to dealer A or B has asked that dealer something (typing their e-mail)."""
    for dealer in (w.dealer, w.dealer_b):
        holders = set(w.session.scalars(select(Grant.customer_id).where(Grant.organization_id == dealer.id)))
        asked = set(w.session.scalars(select(Lead.customer_id).where(Lead.dealer_id == dealer.id)))
        for customer_id in sorted(holders - asked):
            w.session.add(Lead(dealer_id=dealer.id, customer_id=customer_id, source="web_form", routed_by="location",
                               email=w.session.get(Customer, customer_id).email, message="ACL list"))
    w.session.commit()
    return {}


def _intake(w) -> dict:
    return {"first_name": "Pia", "last_name": "Public", "email": f"pia.{w.make.n()}@visitor.example",
            "dealer_id": w.dealer.id, "wants": "test_drive"}


def _intake_form(w) -> dict:
    return _intake(w) | {"form_token": form_token_of(w.client, "/leads/new")}


_CUSTOMER_DATA = dict(purpose="sales_contact", reads_purpose=False, dealers_only=True, params=_lead_id)

ROUTES: dict = {
    # anyone may ask a dealer; the answer names the dealer, never who else we know
    ("POST", "/api/leads"): Rule(PUBLIC, json=_intake, anonymous=(201,)),
    ("GET", "/leads/new"): Rule(PUBLIC),
    ("GET", "/leads/new/dealers"): Rule(PUBLIC, query=lambda w: {"postcode": "10115"}),
    ("POST", "/leads/new"): Rule(PUBLIC, form=_intake_form, anonymous=(200,)),
    # a rep's dealer's leads, only of customers who allowed sales contact
    ("GET", "/api/leads"): Rule(CUSTOMER_LIST, purpose="sales_contact", query=_everyone_asked),
    ("GET", "/workspace/leads"): Rule(CUSTOMER_LIST, purpose="sales_contact", query=_everyone_asked),
    ("GET", "/api/leads/{lead_id}"): Rule(CUSTOMER_DATA, **_CUSTOMER_DATA),
    ("PATCH", "/api/leads/{lead_id}"): Rule(CUSTOMER_DATA, **_CUSTOMER_DATA, json=lambda w: {"status": "contacted"}),
    ("POST", "/api/leads/{lead_id}/merge"): Rule(CUSTOMER_DATA, **_CUSTOMER_DATA, json=_duplicate),
    ("GET", "/workspace/leads/{lead_id}"): Rule(CUSTOMER_DATA, **_CUSTOMER_DATA),
    ("POST", "/workspace/leads/{lead_id}/status"): Rule(CUSTOMER_DATA, **_CUSTOMER_DATA,
                                                        form=lambda w: {"status": "qualified"}, ok=(303,)),
    ("POST", "/workspace/leads/{lead_id}/merge"): Rule(CUSTOMER_DATA, **_CUSTOMER_DATA, form=_duplicate, ok=(303,)),
    # re-scoring reads no person: counts of the dealer's own won and lost deals
    ("POST", "/api/leads/rescore"): Rule(DEALER),
}

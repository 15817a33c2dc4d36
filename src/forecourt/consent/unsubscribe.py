"""One-click unsubscribe (RFC 8058): a link in an e-mail that withdraws the grant the e-mail rested on.

The link names one customer, one organization and one purpose, and is signed with the secret key:
whoever holds it may withdraw exactly that grant and nothing else, which is what a mailbox provider's
"Unsubscribe" button needs (it posts ``List-Unsubscribe=One-Click`` without cookies or a login). A
link whose signature does not match, or that was cut and pasted together from two links, withdraws
nothing. The withdrawal appends a receipt to the ledger like any other, with the method
``email-one-click``. A logged-in customer who opens another person's link is told so and changes
nothing: the link was not sent to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.consent.catalogue import CONSENT
from forecourt.consent.models import Grant
from forecourt.core.errors import NotFound
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service

SALT = "forecourt.one-click-unsubscribe"
METHOD = "email-one-click"


@dataclass(frozen=True)
class Unsubscribe:
    customer_id: int
    organization_id: int
    purpose: str


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def token_for(*, secret_key: str, customer_id: int, organization_id: int, purpose: str) -> str:
    return _serializer(secret_key).dumps([customer_id, organization_id, purpose])


def read(*, secret_key: str, token: str) -> Unsubscribe:
    """What the link names, or ``NotFound`` when it was not made by us (tampered, spliced, truncated)."""
    try:
        customer_id, organization_id, purpose = _serializer(secret_key).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound(_("This unsubscribe link is not valid.")) from None
    if not (isinstance(customer_id, int) and isinstance(organization_id, int) and isinstance(purpose, str)):
        raise NotFound(_("This unsubscribe link is not valid."))
    return Unsubscribe(customer_id=customer_id, organization_id=organization_id, purpose=purpose)


def describe(*, session: Session, request: Unsubscribe) -> dict:
    """Who would stop writing about what: enough for the confirmation page, nothing about the person."""
    purpose = consent_service.get_purpose(session=session, code=request.purpose)
    organization = parties_service.get_organization(session=session, organization_id=request.organization_id)
    grant = _grant(session, request)
    return {"organization": organization.name, "purpose": purpose.name,
            "active": grant is not None and grant.withdrawn_at is None}


def _grant(session: Session, request: Unsubscribe) -> Grant | None:
    return next((g for g in consent_service.grants_of(session=session, customer_id=request.customer_id,
                                                      organization_id=request.organization_id)
                 if g.purpose_code == request.purpose), None)


def withdraw(*, session: Session, secret_key: str, token: str, visitor_customer_id: int | None = None) -> dict:
    """Withdraws the grant the link names. Returns ``{"withdrawn": bool, ...describe}``: False when it
    was withdrawn already (a second click changes nothing and writes no second receipt).

    Raises ``NotFound`` for a link we did not sign, and ``NotFound`` too when a logged-in customer
    opens someone else's link, so neither learns whether the other person exists."""
    request = read(secret_key=secret_key, token=token)
    if visitor_customer_id is not None and visitor_customer_id != request.customer_id:
        raise NotFound(_("This unsubscribe link was sent to someone else."))
    purpose = consent_service.get_purpose(session=session, code=request.purpose)
    if purpose.legal_basis != CONSENT:  # only consent can be withdrawn; we never sign such a link
        raise NotFound(_("This unsubscribe link is not valid."))
    grant = _grant(session, request)
    was_active = grant is not None and grant.withdrawn_at is None
    if was_active:
        consent_service.withdraw(session=session, customer_id=request.customer_id,
                                 organization_id=request.organization_id, purpose_code=request.purpose,
                                 method=METHOD)
    return describe(session=session, request=request) | {"withdrawn": was_active}

"""One-click unsubscribe (RFC 8058): links in an e-mail that withdraw the grants the e-mail rested on.

A link names one customer and one or more (organization, purpose) pairs, the moment it was made, and
is signed with the secret key: whoever holds it may withdraw exactly those grants and nothing else,
which is what a mailbox provider's "Unsubscribe" button needs (it posts ``List-Unsubscribe=One-Click``
without cookies or a login). A coordinated message carries several senders: the body has one link per
sender and purpose, and the header's link names every pair that put something in that e-mail, because
a provider's button means "no more of this".

A link whose signature does not match, or that was cut and pasted together from two links, withdraws
nothing. A link is spent once its grant is withdrawn: a second click writes no second receipt, and a
grant the driver gave again after the e-mail was written is not touched by the old link (the driver
decided after reading it). Each withdrawal appends a receipt to the ledger with the method
``email-one-click``. A logged-in customer who opens another person's link is told so and changes
nothing: the link was not sent to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.consent.catalogue import CONSENT
from forecourt.consent.models import Grant
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import NotFound
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service

SALT = "forecourt.one-click-unsubscribe"
METHOD = "email-one-click"
MOST_PAIRS = 50  # more senders than any message holds: a longer list was not made by us


@dataclass(frozen=True)
class Unsubscribe:
    customer_id: int
    pairs: tuple[tuple[int, str], ...]  # (organization_id, purpose) withdrawn together
    issued_at: datetime | None = None  # None: a link from before links carried their moment

    @property
    def organization_id(self) -> int:
        return self.pairs[0][0]

    @property
    def purpose(self) -> str:
        return self.pairs[0][1]


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def token_for(*, secret_key: str, customer_id: int, organization_id: int, purpose: str,
              issued_at: datetime | None = None) -> str:
    """A link withdrawing one grant."""
    return token_for_all(secret_key=secret_key, customer_id=customer_id, pairs=[(organization_id, purpose)],
                         issued_at=issued_at)


def token_for_all(*, secret_key: str, customer_id: int, pairs, issued_at: datetime | None = None) -> str:
    """A link withdrawing every (organization, purpose) pair named, as one click."""
    moment = round(as_utc(issued_at or now()).timestamp(), 3)
    return _serializer(secret_key).dumps([customer_id, [[o, p] for o, p in pairs], moment])


def _pairs(raw) -> tuple[tuple[int, str], ...] | None:
    if not isinstance(raw, list) or not 0 < len(raw) <= MOST_PAIRS:
        return None
    pairs = []
    for pair in raw:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int)
                and not isinstance(pair[0], bool) and isinstance(pair[1], str)):
            return None
        pairs.append((pair[0], pair[1]))
    return tuple(dict.fromkeys(pairs))


def read(*, secret_key: str, token: str) -> Unsubscribe:
    """What the link names, or ``NotFound`` when it was not made by us (tampered, spliced, truncated)."""
    invalid = NotFound(_("This unsubscribe link is not valid."))
    try:
        payload = _serializer(secret_key).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise invalid from None
    if isinstance(payload, list) and len(payload) == 3 and isinstance(payload[2], str):  # one grant, no moment
        customer_id, pairs, issued_at = payload[0], _pairs([payload[1:]]), None
    elif isinstance(payload, list) and len(payload) == 3 and isinstance(payload[2], int | float):
        customer_id, pairs = payload[0], _pairs(payload[1])
        issued_at = datetime.fromtimestamp(payload[2], UTC)
    else:
        raise invalid
    if not isinstance(customer_id, int) or isinstance(customer_id, bool) or pairs is None:
        raise invalid
    return Unsubscribe(customer_id=customer_id, pairs=pairs, issued_at=issued_at)


def _grant(session: Session, customer_id: int, organization_id: int, purpose: str) -> Grant | None:
    return next((g for g in consent_service.grants_of(session=session, customer_id=customer_id,
                                                      organization_id=organization_id)
                 if g.purpose_code == purpose), None)


def _given_since(grant: Grant, request: Unsubscribe) -> bool:
    return request.issued_at is not None and as_utc(grant.granted_at) > request.issued_at


def describe(*, session: Session, request: Unsubscribe) -> dict:
    """Who would stop writing about what: enough for the confirmation page, nothing about the person.
    ``senders`` lists each pair; ``active`` says whether any of them would change."""
    senders = []
    for organization_id, purpose_code in request.pairs:
        purpose = consent_service.get_purpose(session=session, code=purpose_code)
        organization = parties_service.get_organization(session=session, organization_id=organization_id)
        grant = _grant(session, request.customer_id, organization_id, purpose_code)
        live = grant is not None and grant.withdrawn_at is None
        senders.append({"organization": organization.name, "purpose": purpose.name,
                        "active": live and not _given_since(grant, request),
                        "given_again": live and _given_since(grant, request), "withdrawn": False})
    first = senders[0]
    return {"organization": first["organization"], "purpose": first["purpose"], "senders": senders,
            "active": any(s["active"] for s in senders)}


def withdraw(*, session: Session, secret_key: str, token: str, visitor_customer_id: int | None = None) -> dict:
    """Withdraws the grants the link names. Returns ``describe`` with ``withdrawn`` per sender and in
    all: False when nothing changed (withdrawn already, or given again after the e-mail was written).

    Raises ``NotFound`` for a link we did not sign, and ``NotFound`` too when a logged-in customer
    opens someone else's link, so neither learns whether the other person exists."""
    request = read(secret_key=secret_key, token=token)
    if visitor_customer_id is not None and visitor_customer_id != request.customer_id:
        raise NotFound(_("This unsubscribe link was sent to someone else."))
    for _organization_id, purpose_code in request.pairs:
        purpose = consent_service.get_purpose(session=session, code=purpose_code)
        if purpose.legal_basis != CONSENT:  # only consent can be withdrawn; we never sign such a link
            raise NotFound(_("This unsubscribe link is not valid."))
    about = describe(session=session, request=request)
    for (organization_id, purpose_code), sender in zip(request.pairs, about["senders"], strict=True):
        if sender["active"]:
            consent_service.withdraw(session=session, customer_id=request.customer_id,
                                     organization_id=organization_id, purpose_code=purpose_code, method=METHOD)
            sender["withdrawn"], sender["active"] = True, False
    withdrawn = any(s["withdrawn"] for s in about["senders"])
    return about | {"withdrawn": withdrawn, "active": False,
                    "given_again": any(s["given_again"] for s in about["senders"])}

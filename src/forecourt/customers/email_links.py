"""Links sent by e-mail: what an anonymous form asks for waits until the address's owner follows one.

Anyone can type anyone's e-mail address into a form, so a form alone never speaks for a customer:

* **Signing up** (``request_account``) sends a *claim* link to the address, whether or not a
  customer record already has it (made by a lead form, a dealer, an earlier sign-up), and the
  caller is told the same either way, so the form does not say who is a customer. Following the
  link, the person sets a password (``claim``): a record without a login gets one, a record with
  one gets the new password and loses its old sessions. So the real person can always take their
  record over — and then export it, erase it or withdraw what it allows — and a stranger who typed
  the address gains nothing.
* **"Allow this dealer to contact me"** on an anonymous lead form sends a *contact* link (double
  opt-in); only following it gives the dealer ``sales_contact`` (``confirm_contact``), and the
  consent receipt says so (method ``double_opt_in_email``).

The e-mails go through the outbox like every message to a customer. Only the SHA-256 digest of a
link's token is stored; a link works once and expires, and a new one is not sent while one sent a
few minutes ago is still waiting (so a form cannot be used to flood someone's inbox).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import auth, outbox
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.errors import NotFound
from forecourt.core.i18n import _, lazy_gettext
from forecourt.customers import service as customers_service
from forecourt.customers.models import Customer, EmailLink
from forecourt.parties import service as parties_service

if TYPE_CHECKING:  # annotations only: the objects come from the other domain's service
    from forecourt.consent.models import Grant
    from forecourt.parties.models import Organization, User

CLAIM, CONTACT = "claim", "contact"
LIFETIME = {CLAIM: timedelta(hours=24), CONTACT: timedelta(days=7)}
RESEND_AFTER = timedelta(minutes=10)
DOUBLE_OPT_IN = "double_opt_in_email"  # the consent receipt's method for a grant given through a contact link
SALES_CONTACT = "sales_contact"


# What anybody who asks for an account is told, known address or not (the link goes to the address either way).
SIGNUP_ANSWER = lazy_gettext("Check your e-mail: we have sent a link to set your password. It works for 24 hours.")


def claim_path(token: str) -> str:
    return f"/account/claim/{token}"


def contact_path(token: str) -> str:
    return f"/contact/confirm/{token}"


def _issue(session: Session, *, kind: str, customer: Customer, organization_id: int | None = None) -> tuple | None:
    """A new link, or None while one of the same kind sent a moment ago still waits to be followed."""
    moment = now()
    waiting = session.scalars(select(EmailLink.id).where(
        EmailLink.customer_id == customer.id, EmailLink.kind == kind, EmailLink.used_at.is_(None),
        EmailLink.created_at > moment - RESEND_AFTER,
        EmailLink.organization_id.is_(None) if organization_id is None
        else EmailLink.organization_id == organization_id)).first()
    if waiting is not None:
        return None
    token = auth.new_token()
    link = EmailLink(digest=auth.token_digest(token), kind=kind, customer_id=customer.id,
                     organization_id=organization_id, created_at=moment, expires_at=moment + LIFETIME[kind])
    session.add(link)
    session.flush()
    return link, token


def request_account(*, session: Session, email: str, profile: dict) -> None:
    """Sign-up: send the address a link to set a password. Returns nothing on purpose: whether the
    address was known, had a login, or belongs to staff, the caller learns nothing."""
    email = email.strip().lower()
    customer = customers_service.find_by_email(session=session, email=email)
    if customer is None:
        if parties_service.email_taken(session=session, email=email):
            return  # a staff login: there is no customer record to claim
        customer = customers_service.create(session=session, email=email, profile=profile)
    issued = _issue(session, kind=CLAIM, customer=customer)
    if issued is None:
        return
    link, token = issued
    with outbox.written_for(session, customer_id=customer.id):
        _send_account_link(session, customer, link, token)


def request_reset(*, session: Session, email: str) -> None:
    """Forgot password: send a driver's address a link to choose a new password (the same one-time,
    24-hour link as sign-up's, stored only as its digest). Returns nothing on purpose: an unknown
    address, a staff login and a driver look the same to the caller."""
    customer = customers_service.find_by_email(session=session, email=email.strip().lower())
    if customer is None or parties_service.customer_account(session=session, customer_id=customer.id) is None:
        return  # nothing to reset; sign-up is the way to an account
    issued = _issue(session, kind=CLAIM, customer=customer)
    if issued is None:
        return
    link, token = issued
    with outbox.written_for(session, customer_id=customer.id):
        _send_account_link(session, customer, link, token, reset=True)


def _send_account_link(session: Session, customer: Customer, link, token: str, reset: bool = False) -> None:
    if reset:
        subject = _("Choose a new password for Forecourt")
        body = _("Someone, we hope you, asked to reset the password of the Forecourt account with this address. "
                 "Follow the link below within 24 hours to choose a new one; it works once. If it was not you, "
                 "ignore this message and your password stays as it is.")
    elif parties_service.customer_account(session=session, customer_id=customer.id) is None:
        subject = _("Set your password for Forecourt")
        body = _("Someone, we hope you, asked for a Forecourt account with this address. Follow the link below "
                 "within 24 hours to choose your password; if it was not you, ignore this message and nothing "
                 "happens.")
    else:
        subject = _("Set a new password for Forecourt")
        body = _("Someone, we hope you, tried to create a Forecourt account with this address, which already "
                 "has one. If you have forgotten your password, follow the link below within 24 hours to choose "
                 "a new one; if it was not you, ignore this message and nothing changes.")
    outbox.enqueue(session=session, customer_id=customer.id, channel="email", topic="account_link",
                   subject=subject, body=body, basis="account", dedupe_key=f"email-link:{link.id}",
                   link=claim_path(token))


def ask_contact(*, session: Session, customer: Customer, organization: Organization) -> None:
    """An anonymous form ticked "allow this dealer to contact me": ask the address's owner first."""
    if not customer.email:
        return
    issued = _issue(session, kind=CONTACT, customer=customer, organization_id=organization.id)
    if issued is None:
        return
    link, token = issued
    with outbox.written_for(session, customer_id=customer.id):
        _send_contact_request(session, customer, organization, link, token)


def _send_contact_request(session: Session, customer: Customer, organization: Organization, link, token: str) -> None:
    outbox.enqueue(
        session=session, customer_id=customer.id, channel="email", topic="contact_confirmation",
        subject=_("May %(dealer)s contact you?", dealer=organization.name),
        body=_("A request to %(dealer)s was sent with this address, asking that they contact you about it. "
               "They learn who you are only if you confirm: follow the link below within 7 days. If it was not "
               "you, ignore this message and they will not contact you.", dealer=organization.name),
        basis="consent_request", dedupe_key=f"email-link:{link.id}", link=contact_path(token))


def live(*, session: Session, token: str, kind: str) -> EmailLink:
    """The unused, unexpired link of this kind whose token this is; ``NotFound`` otherwise."""
    link = session.scalars(select(EmailLink).where(EmailLink.digest == auth.token_digest(token or ""),
                                                   EmailLink.kind == kind)).first()
    if link is None or link.used_at is not None or link.expires_at <= now():
        raise NotFound(_("This link is not valid any more."))
    customers_service.get(session=session, customer_id=link.customer_id)  # an erased person has no links
    return link


def claim(*, session: Session, token: str, password: str) -> User:
    """The address's owner sets a password and so takes the customer record over."""
    link = live(session=session, token=token, kind=CLAIM)
    customer = customers_service.get(session=session, customer_id=link.customer_id)
    account = parties_service.customer_account(session=session, customer_id=customer.id)
    if account is None:
        user = parties_service.create_user(session=session, email=customer.email, password=password,
                                           display_name=customer.full_name or customer.email,
                                           role=Role.CUSTOMER, customer_id=customer.id)
    else:  # a new password ends every session the old one opened
        user = parties_service.update_user(session=session, user_id=account.id, changes={"password": password})
    _use_all(session, customer_id=customer.id, kind=CLAIM)
    return user


def contact_request(*, session: Session, token: str) -> tuple[EmailLink, Organization]:
    """Who asks to make contact, for the page that asks the person to confirm."""
    link = live(session=session, token=token, kind=CONTACT)
    return link, parties_service.get_organization(session=session, organization_id=link.organization_id)


def confirm_contact(*, session: Session, token: str) -> Grant:
    """The address's owner confirms: the dealer gets ``sales_contact``, with a receipt that says how."""
    link, organization = contact_request(session=session, token=token)
    grant = consent_service.give(session=session, customer_id=link.customer_id, organization_id=organization.id,
                                 purpose_code=SALES_CONTACT, method=DOUBLE_OPT_IN)
    link.used_at = now()
    session.flush()
    return grant


def _use_all(session: Session, *, customer_id: int, kind: str) -> None:
    """Once a password is set, the other links sent to set one stop working too."""
    for link in session.scalars(select(EmailLink).where(EmailLink.customer_id == customer_id,
                                                        EmailLink.kind == kind, EmailLink.used_at.is_(None))):
        link.used_at = now()
    session.flush()


def export_of(*, session: Session, customer_id: int) -> list[dict]:
    """The links sent to the customer, without their tokens (which are not kept)."""
    return [dict(id=link.id, kind=link.kind, organization_id=link.organization_id, created_at=link.created_at,
                 expires_at=link.expires_at, used_at=link.used_at)
            for link in session.scalars(select(EmailLink).where(EmailLink.customer_id == customer_id)
                                        .order_by(EmailLink.id))]


def erase_customer(*, session: Session, customer_id: int) -> int:
    return session.execute(delete(EmailLink).where(EmailLink.customer_id == customer_id)).rowcount

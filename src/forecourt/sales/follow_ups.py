"""Follow-ups: what a dealer's staff member must do for a customer by a day, from the customer 360.

A follow-up names a customer, so it is customer data: it is written and read only through the consent
door, under the purpose the 360 was opened with, by staff of the organization that holds the grant.
Another organization's follow-up, or one whose purpose the customer withdrew, does not exist (404).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.auth import Principal
from forecourt.core.clock import now, today
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.sales.models import FollowUp

MAX_TITLE = 200


def _staff(principal: Principal) -> int:
    if principal.is_customer or principal.organization_id is None:
        raise NotFound("Customer not found")
    return principal.organization_id


def add(*, session: Session, principal: Principal, customer_id: int, purpose: str, title: str, due_on: date,
        assigned_user_id: int | None = None) -> FollowUp:
    """A follow-up for a customer this organization may read under ``purpose``, for one of its staff."""
    organization_id = _staff(principal)
    consent_service.require(session=session, principal=principal, customer_id=customer_id, purpose=purpose,
                            what="follow-up added")
    title = (title or "").strip()
    if not title:
        raise Invalid(_("Say what is to be done."), field="title")
    if len(title) > MAX_TITLE:
        raise Invalid(_("Keep the follow-up under %(max)s characters.", max=MAX_TITLE), field="title")
    if due_on < today():
        raise Invalid(_("The due date is in the past; choose today or a later day."), field="due_on")
    assignee = assigned_user_id or principal.user_id
    try:
        user = parties_service.get_user(session=session, user_id=assignee)
    except NotFound:
        user = None
    if user is None or user.organization_id != organization_id or not user.is_active:
        raise Invalid(_("Assign the follow-up to someone of your organization."), field="assigned_user_id")
    follow_up = FollowUp(organization_id=organization_id, customer_id=customer_id, purpose=purpose,
                         assigned_user_id=assignee, created_by=principal.user_id, title=title, due_on=due_on)
    session.add(follow_up)
    session.flush()
    return follow_up


def _ordered(query):
    """Open ones first, overdue before due, earliest day first; done ones last."""
    return query.order_by(FollowUp.done_at.is_not(None), FollowUp.due_on, FollowUp.id)


def for_customer(*, session: Session, principal: Principal, customer_id: int, purpose: str) -> list[FollowUp]:
    """The organization's follow-ups for a customer written under ``purpose``; the caller has already
    opened the customer for that purpose (the 360), so this read is covered by that log entry."""
    organization_id = _staff(principal)
    return list(session.scalars(_ordered(select(FollowUp).where(
        FollowUp.organization_id == organization_id, FollowUp.customer_id == customer_id,
        FollowUp.purpose == purpose))))


def mine(*, session: Session, principal: Principal, include_done: bool = False) -> list[dict]:
    """The caller's follow-ups, overdue first, with the customer's name only where the customer still
    grants the purpose the follow-up was written under; each shown customer's access log records it."""
    organization_id = _staff(principal)
    query = select(FollowUp).where(FollowUp.organization_id == organization_id,
                                   FollowUp.assigned_user_id == principal.user_id)
    if not include_done:
        query = query.where(FollowUp.done_at.is_(None))
    rows, shown = [], {}
    for follow_up in session.scalars(_ordered(query)):
        if not consent_service.holds(session=session, principal=principal, customer_id=follow_up.customer_id,
                                     purpose=follow_up.purpose):
            continue
        shown.setdefault(follow_up.purpose, set()).add(follow_up.customer_id)
        rows.append({"follow_up": follow_up, "overdue": follow_up.done_at is None and follow_up.due_on < today(),
                     "customer": customers_service.get(session=session, customer_id=follow_up.customer_id)})
    for purpose, customer_ids in shown.items():
        consent_service.log_access(session=session, principal=principal, customer_ids=sorted(customer_ids),
                                   purpose=consent_service.get_purpose(session=session, code=purpose),
                                   what="follow-ups")
    return rows


def mark_done(*, session: Session, principal: Principal, follow_up_id: int) -> FollowUp:
    """Done by anyone of the organization who may still read the customer under its purpose."""
    organization_id = _staff(principal)
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None or follow_up.organization_id != organization_id:
        raise NotFound("Follow-up not found")
    consent_service.require(session=session, principal=principal, customer_id=follow_up.customer_id,
                            purpose=follow_up.purpose, what="follow-up done")
    if follow_up.done_at is None:
        follow_up.done_at = now()
        session.flush()
    return follow_up


def erase_customer(*, session: Session, customer_id: int) -> int:
    """Follow-ups describe the person's dealings; erasure removes them."""
    rows = list(session.scalars(select(FollowUp).where(FollowUp.customer_id == customer_id)))
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def schedule_for_dealer(*, session: Session, organization_id: int, customer_id: int, title: str, due_on: date,
                        purpose: str = "sales_contact") -> FollowUp | None:
    """A follow-up the platform writes for a dealer (after a test drive), for one of its active sales staff;
    only about a customer who allowed the dealer ``purpose`` (nobody is told to call someone who said no)."""
    if consent_service.active_grant(session=session, customer_id=customer_id, organization_id=organization_id,
                                    purpose_code=purpose) is None:
        return None
    existing = session.scalars(select(FollowUp).where(
        FollowUp.organization_id == organization_id, FollowUp.customer_id == customer_id,
        FollowUp.title == title[:MAX_TITLE], FollowUp.done_at.is_(None))).first()
    if existing is not None:
        return existing  # a redelivered event writes it once
    staff = [u for u in parties_service.list_users(session=session, organization_id=organization_id)
             if u.is_active and u.role == "dealer_sales"]
    if not staff:
        return None
    follow_up = FollowUp(organization_id=organization_id, customer_id=customer_id, purpose=purpose,
                         assigned_user_id=staff[0].id, created_by=None, title=title[:MAX_TITLE], due_on=due_on)
    session.add(follow_up)
    session.flush()
    return follow_up

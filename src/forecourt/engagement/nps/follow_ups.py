"""A detractor's answer as a task: who owns it, who may see it, closing it with a note, escalating it late.

The responsible organization's staff own the task (the dealer's sales and service teams for a visit or a
delivery, the carmaker's call centre for an On Call case); once overdue, the carmaker's staff see it
too. Anybody else is told it does not exist (404), as the consent door does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from forecourt.core import outbox
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.engagement.nps.models import FollowUp, Survey
from forecourt.parties import service as parties_service

NOTE_LIMIT = 4000
# Roles that work follow-ups of their own organization.
WORKING_ROLES = {Role.DEALER_SALES, Role.DEALER_SERVICE, Role.CALL_CENTRE_AGENT, Role.CARMAKER_ADMIN}
ESCALATION_TOPIC = "nps_escalation"


def open_for(*, session: Session, survey: Survey, at: datetime, hours: int) -> FollowUp:
    """The survey's follow-up (one per survey), owned by the organization responsible for it."""
    existing = session.scalar(select(FollowUp).where(FollowUp.survey_id == survey.id))
    if existing is not None:
        return existing
    task = FollowUp(survey_id=survey.id, organization_id=survey.organization_id, opened_at=at,
                    due_at=at + timedelta(hours=hours))
    session.add(task)
    session.flush()
    return task


def _carmaker_id(session: Session) -> int | None:
    try:
        return parties_service.carmaker(session=session).id
    except NotFound:
        return None


def _visible(session: Session, principal: Principal):
    """The condition on ``FollowUp`` for what this principal may see, or None for nothing."""
    if principal.is_customer or principal.organization_id is None or principal.role not in WORKING_ROLES:
        return None
    own = FollowUp.organization_id == principal.organization_id
    if principal.role is Role.CARMAKER_ADMIN:
        return or_(own, FollowUp.escalated_to_id == principal.organization_id)
    return own


def is_overdue(task: FollowUp, *, at: datetime | None = None) -> bool:
    return task.closed_at is None and as_utc(task.due_at) < (at or now())


def list_for(*, session: Session, principal: Principal, open_only: bool = True, limit: int = 200) -> list[FollowUp]:
    """The principal's follow-ups, the most urgent first."""
    condition = _visible(session, principal)
    if condition is None:
        return []
    query = select(FollowUp).where(condition)
    if open_only:
        query = query.where(FollowUp.closed_at.is_(None))
    return list(session.scalars(query.order_by(FollowUp.closed_at.is_not(None), FollowUp.due_at).limit(limit)))


def get_for(*, session: Session, principal: Principal, follow_up_id: int) -> FollowUp:
    condition = _visible(session, principal)
    task = None if condition is None else session.scalar(
        select(FollowUp).where(FollowUp.id == follow_up_id, condition))
    if task is None:
        raise NotFound(_("Follow-up not found"))
    return task


def survey_of(*, session: Session, task: FollowUp) -> Survey:
    return session.get(Survey, task.survey_id)


def close(*, session: Session, principal: Principal, follow_up_id: int, note: str,
          at: datetime | None = None) -> FollowUp:
    """Closed with what was done; the note is required, a closed task stays closed."""
    task = get_for(session=session, principal=principal, follow_up_id=follow_up_id)
    note = (note or "").strip()
    if not note:
        raise Invalid(_("Say what you did before closing the follow-up (the note)."), field="note")
    if len(note) > NOTE_LIMIT:
        raise Invalid(_("The note is too long (at most %(limit)s characters).", limit=NOTE_LIMIT), field="note")
    if task.closed_at is not None:
        raise Conflict(_("This follow-up was already closed."))
    task.closed_at, task.closed_by_user_id, task.note = at or now(), principal.user_id, note
    session.flush()
    return task


def escalate_overdue(*, session: Session, at: datetime | None = None) -> int:
    """Open follow-ups past their target go to the carmaker once: the task becomes visible to its
    staff and the carmaker is told through the outbox (no driver's name in the e-mail)."""
    at = at or now()
    carmaker = _carmaker_id(session)
    if carmaker is None:
        return 0
    due = list(session.scalars(select(FollowUp).where(
        FollowUp.closed_at.is_(None), FollowUp.escalated_at.is_(None), FollowUp.due_at < at)
        .order_by(FollowUp.id).limit(1000)))
    for task in due:
        task.escalated_at, task.escalated_to_id = at, carmaker
        owner = parties_service.get_organization(session=session, organization_id=task.organization_id)
        with outbox.written_for(session, organization_id=carmaker):
            subject = _("NPS follow-up overdue at %(organization)s", organization=owner.name)
            body = _("A detractor's follow-up at %(organization)s passed its target without a note. "
                     "It is now on your NPS follow-ups page.", organization=owner.name)
        outbox.enqueue(session=session, customer_id=None, organization_id=carmaker, channel="email",
                       topic=ESCALATION_TOPIC, subject=subject, body=body, basis="contract",
                       dedupe_key=f"nps-escalation:{task.id}", link=f"/nps/follow-ups/{task.id}")
    session.flush()
    return len(due)

"""Inviting a driver after a touchpoint, and taking their answer from the link.

The link carries a random token; the table keeps only its SHA-256 (as ``customers.email_links`` does),
so the link is the one way in: a changed character, a link from someone else's mail cut short, or a
guessed number opens nothing. The token is made where the event is handled, which needs no secret key;
a stolen copy of the table opens no survey. A link answers once: a second answer is refused and
changes nothing, as is a score outside 0–10 or an expired link.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import outbox
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.customers import service as customers_service
from forecourt.engagement import pressure
from forecourt.engagement.nps import follow_ups, topics, touchpoints
from forecourt.engagement.nps.models import Response, Survey, Topic
from forecourt.engagement.nps.policy import Policy
from forecourt.parties import service as parties_service

WHY_LIMIT = 2000
PROMOTER_FROM, DETRACTOR_UNTIL = 9, 6
TOPIC = "nps_survey"  # the outbox topic of an invitation


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def category(score: int) -> str:
    """promoter (9–10), passive (7–8) or detractor (0–6)."""
    return "promoter" if score >= PROMOTER_FROM else "detractor" if score <= DETRACTOR_UNTIL else "passive"


def _may_contact(session: Session, *, customer_id: int, touchpoint: touchpoints.Touchpoint, organization_id: int,
                 policy: Policy, at: datetime) -> tuple[str, ...]:
    """The channels this driver may be sent this survey on now (none: not asked): the one place where
    the shared contact-pressure rules apply to NPS.

    It asks three things: that the responsible organization holds the driver's grant for the
    touchpoint's purpose (no grant, no survey: the driver is never asked without it), that the driver
    had no survey within ``policy.survey_every_days``, and, per channel, that the driver's budget of
    the coordinated engagement (``pressure.within_cap``: the channels they chose and the cap per
    month) has room; the invitation then counts toward that budget like an offer. Quiet hours delay an
    invitation rather than refuse it (``send_after``)."""
    if consent_service.active_grant(session=session, customer_id=customer_id, organization_id=organization_id,
                                     purpose_code=touchpoint.purpose) is None:
        return ()
    since = at - timedelta(days=policy.survey_every_days)
    recent = session.scalar(select(Survey.id).where(Survey.customer_id == customer_id, Survey.created_at > since)
                            .limit(1))
    if recent is not None:
        return ()
    return tuple(channel for channel in pressure.CHANNELS
                 if pressure.within_cap(session=session, customer_id=customer_id, channel=channel, at=at))


def send_after(at: datetime, zone, policy: Policy) -> datetime:
    """The first moment from ``at`` outside the quiet hours of the driver's clock (``zone``)."""
    local = as_utc(at).astimezone(zone)
    start, end = policy.quiet_from_hour, policy.quiet_until_hour
    if start == end:
        return at
    quiet = (local.hour >= start or local.hour < end) if start > end else (start <= local.hour < end)
    if not quiet:
        return at
    wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if wake <= local:
        wake = (local + timedelta(days=1)).replace(hour=end, minute=0, second=0, microsecond=0)
    return as_utc(wake.astimezone(as_utc(at).tzinfo))


def invite(*, session: Session, touchpoint: str, subject_key: str, customer_id: int | None, vehicle_id: int | None,
           organization_id: int, policy: Policy, at: datetime | None = None) -> Survey | None:
    """One survey for one touchpoint, sent through the outbox in the driver's language, or None when the
    driver may not be asked (no owner, no grant, asked lately). Idempotent by ``subject_key``."""
    at = at or now()
    existing = session.scalar(select(Survey).where(Survey.subject_key == subject_key))
    if existing is not None:
        return existing
    point = touchpoints.get(touchpoint)
    customer = customers_service.get_or_none(session=session, customer_id=customer_id) if customer_id else None
    channels = _may_contact(session, customer_id=customer.id, touchpoint=point, organization_id=organization_id,
                            policy=policy, at=at) if customer is not None else ()
    if not channels:
        return None
    token = secrets.token_urlsafe(24)
    organization = parties_service.get_organization(session=session, organization_id=organization_id)
    with outbox.written_for(session, customer_id=customer.id) as language:
        subject = _("How was your experience with %(organization)s?", organization=organization.name)
        body = _("%(touchpoint)s at %(organization)s: would you recommend them to a friend? Two questions, "
                 "one minute. The link below works once, without logging in.",
                 touchpoint=point.name, organization=organization.name)
    survey = Survey(touchpoint=point.code, subject_key=subject_key, customer_id=customer.id, vehicle_id=vehicle_id,
                    organization_id=organization_id, responsible=point.responsible, language=language,
                    token_digest=digest(token), created_at=at, expires_at=at + timedelta(days=policy.survey_valid_days))
    session.add(survey)
    session.flush()
    leave_at = send_after(at, customers_service.zone_of(customer), policy)
    for channel in channels:  # e-mail last: the survey names the e-mail when there is one
        message = outbox.enqueue(session=session, customer_id=customer.id, channel=channel, topic=TOPIC,
                                 subject=subject, body=body, basis=point.purpose, link=f"/survey/{token}",
                                 dedupe_key=f"nps:{subject_key}" + ("" if channel == "email" else f":{channel}"),
                                 consent_organization_id=organization_id)
        if leave_at > at:
            message.next_attempt_at = leave_at  # waits out the driver's night (the inbox shows it then)
        survey.outbox_message_id = message.id
        pressure.record_contact(session=session, customer_id=customer.id, channel=channel, at=leave_at, topic=TOPIC)
    session.flush()
    return survey


def by_token(*, session: Session, token: str) -> Survey:
    """The survey the link opens; ``NotFound`` for a link we did not send (or a changed one)."""
    survey = session.scalar(select(Survey).where(Survey.token_digest == digest(token or ""))) if token else None
    if survey is None or survey.customer_id is None:
        raise NotFound(_("This survey link is not valid. Please use the link from your e-mail as it is."))
    return survey


def state_of(survey: Survey, *, at: datetime | None = None) -> str:
    if survey.answered_at is not None:
        return "answered"
    return "expired" if as_utc(survey.expires_at) <= (at or now()) else "open"


def state_text(state: str) -> str:
    """What the driver is told when the link no longer takes an answer."""
    if state == "answered":
        return _("This survey was already answered. Thank you, your first answer counts.")
    return _("This survey link has expired.")


def describe(*, session: Session, survey: Survey) -> dict:
    """What the survey page names: the organization and the touchpoint, nothing about the person."""
    organization = parties_service.get_organization(session=session, organization_id=survey.organization_id)
    return {"organization": organization.name, "touchpoint": touchpoints.name_of(survey.touchpoint)}


def check_score(score) -> int:
    """0–10 as a whole number, else ``Invalid`` naming the field."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise Invalid(_("Choose a score from 0 to 10."), field="score")
    return score


def answer(*, session: Session, token: str, score, why: str = "", policy: Policy,
           at: datetime | None = None) -> Response:
    """The driver's answer, once. A detractor (0–6) opens a follow-up for the responsible organization."""
    at = at or now()
    survey = by_token(session=session, token=token)
    state = state_of(survey, at=at)
    if state != "open":
        raise Conflict(state_text(state))
    score = check_score(score)
    why = (why or "").strip()
    if len(why) > WHY_LIMIT:
        raise Invalid(_("Please keep your answer under %(limit)s characters.", limit=WHY_LIMIT), field="why")
    response = Response(survey_id=survey.id, score=score, why=why or None, language=survey.language, answered_at=at)
    session.add(response)
    survey.answered_at = at
    session.flush()
    session.add_all(Topic(response_id=response.id, topic=code, source="keyword")
                    for code in topics.tag(why, survey.language))
    if category(score) == "detractor":
        follow_ups.open_for(session=session, survey=survey, at=at, hours=policy.follow_up_hours)
    session.flush()
    return response


def response_of(*, session: Session, survey_id: int) -> Response | None:
    return session.scalar(select(Response).where(Response.survey_id == survey_id))


def topics_of(*, session: Session, response_id: int) -> list[Topic]:
    return list(session.scalars(select(Topic).where(Topic.response_id == response_id).order_by(Topic.id)))

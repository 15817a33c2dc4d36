"""A driver's sharing profile: the terms they accepted (a privacy-notice version of the consent
ledger) and the driving licence a hub's staff checked once, before the first trip."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.clock import now, today
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.sharing.models import SharingProfile


def profile_of(*, session: Session, customer_id: int) -> SharingProfile | None:
    return session.scalars(select(SharingProfile).where(SharingProfile.customer_id == customer_id)).first()


def _ensure(session: Session, customer_id: int) -> SharingProfile:
    profile = profile_of(session=session, customer_id=customer_id)
    if profile is None:
        profile = SharingProfile(customer_id=customer_id)
        session.add(profile)
        session.flush()
    return profile


def accept_terms(*, session: Session, customer_id: int) -> SharingProfile:
    """The driver accepts the sharing terms under the privacy notice in force (its version is kept)."""
    profile = _ensure(session, customer_id)
    notice = consent_service.current_notice(session=session)
    profile.terms_notice_version, profile.terms_accepted_at = notice.version, now()
    session.flush()
    return profile


def set_position_sharing(*, session: Session, customer_id: int, allowed: bool) -> SharingProfile:
    profile = _ensure(session, customer_id)
    profile.share_position = bool(allowed)
    session.flush()
    return profile


def check_licence(*, session: Session, customer_id: int, checked_by_user_id: int, number: str,
                  expires_on: date, note: str = "") -> SharingProfile:
    """Hub staff saw the licence (number, expiry, a note of the check); valid until it expires."""
    number = (number or "").strip()
    if not 4 <= len(number) <= 40:
        raise Invalid(_("Type the licence number as printed (4 to 40 characters)."), field="number")
    if expires_on <= today():
        raise Invalid(_("This licence has expired; the driver cannot share cars with it."), field="expires_on")
    profile = _ensure(session, customer_id)
    profile.licence_number, profile.licence_expires_on = number, expires_on
    profile.licence_note = (note or "").strip()[:1000]
    profile.licence_checked_by_user_id, profile.licence_checked_at = checked_by_user_id, now()
    session.flush()
    return profile


def missing_steps(profile: SharingProfile | None, *, on: date) -> list[str]:
    """What still stands between the driver and a car: ``terms``, ``licence``."""
    steps = []
    if profile is None or profile.terms_accepted_at is None:
        steps.append("terms")
    if profile is None or profile.licence_checked_at is None or (profile.licence_expires_on or on) < on:
        steps.append("licence")
    return steps


def require_ready(*, session: Session, customer_id: int, on: date) -> SharingProfile:
    profile = profile_of(session=session, customer_id=customer_id)
    steps = missing_steps(profile, on=on)
    if "terms" in steps:
        raise Invalid(_("Accept the car-sharing terms first."), field="terms")
    if "licence" in steps:
        raise Invalid(_("A hub's staff must check your driving licence once before your first trip."),
                      field="licence")
    return profile

"""Sales targets: what a dealer, or one of its reps, aims to win in a month (units and value).

Pipeline analytics set won deals against these. A target without ``user_id`` is the dealership's.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Role
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service
from forecourt.sales.models import Target

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def set_target(*, session: Session, dealer_id: int, month: str, units: int, value, user_id: int | None = None) -> Target:
    """Sets (or replaces) the target of the dealer, or of one of its sales reps, for a month."""
    if not MONTH.match(month or ""):
        raise Invalid(_("Give the month as YYYY-MM, for example 2026-03."), field="month")
    if units < 0 or Decimal(str(value)) < 0:
        raise Invalid(_("Targets cannot be negative."), field="units" if units < 0 else "value")
    if user_id is not None:
        try:
            user = parties_service.get_user(session=session, user_id=user_id)
        except NotFound:
            user = None
        if user is None or user.organization_id != dealer_id or user.role != Role.DEALER_SALES.value:
            raise Invalid(_("A rep's target needs a sales rep of this dealership."), field="user_id")
    owner = Target.user_id.is_(None) if user_id is None else Target.user_id == user_id
    target = session.scalars(select(Target).where(Target.dealer_id == dealer_id, owner, Target.month == month)).first()
    if target is None:
        target = Target(dealer_id=dealer_id, user_id=user_id, month=month)
        session.add(target)
    target.units, target.value = units, Decimal(str(value))
    session.flush()
    return target


def targets_for(*, session: Session, dealer_id: int | None = None, month_from: str | None = None,
                month_to: str | None = None, user_id: int | None = None, dealer_level_only: bool = False) -> list[Target]:
    """Targets in a month range (inclusive, ``YYYY-MM``); ``dealer_id`` None: the whole network."""
    query = select(Target)
    if dealer_id is not None:
        query = query.where(Target.dealer_id == dealer_id)
    if month_from:
        query = query.where(Target.month >= month_from)
    if month_to:
        query = query.where(Target.month <= month_to)
    if user_id is not None:
        query = query.where(Target.user_id == user_id)
    elif dealer_level_only:
        query = query.where(Target.user_id.is_(None))
    return list(session.scalars(query.order_by(Target.month, Target.dealer_id, Target.user_id)))

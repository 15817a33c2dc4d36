"""Whether a provider can take a case now, and if not, why: closed (and until when), or at capacity.

Each provider is judged on its own terms. A dealer without opening hours is closed (it never said it
opens); a roadside or emergency partner without opening hours works around the clock, so a tow at
03:00 is offered whatever the dealers' hours say. Hours are read on the provider's own clock
(``Organization.time_zone``); the moment it opens again is returned in UTC for the viewer's clock,
and as the provider's local time of day ("closed until 07:00 local time").

Capacity is ``Organization.dispatch_capacity``: how many cases it takes at once (no limit when
empty). A dispatch counts until it is declined or the car has arrived.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.assist.models import Dispatch
from forecourt.core.clock import as_utc
from forecourt.parties.markets import zone_of

if TYPE_CHECKING:  # organizations are handed in by the callers; only their type is named here
    from forecourt.parties.models import Organization

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUSY = ("on_the_way",)
LOOK_AHEAD_DAYS = 8  # a week of hours, and the same weekday again


def around_the_clock(organization: Organization) -> bool:
    """A partner that gave no hours, or hours covering every minute of every day."""
    hours = organization.opening_hours or {}
    if not any(hours.values()):
        return organization.kind == "partner"
    return all(any(opens <= "00:00" and closes >= "24:00" for opens, closes in hours.get(day) or [])
               for day in WEEKDAYS)


def _spans(organization: Organization, day) -> list[tuple[str, str]]:
    return [(opens, closes) for opens, closes in (organization.opening_hours or {}).get(WEEKDAYS[day.weekday()]) or []]


def is_open(organization: Organization, moment: datetime) -> bool:
    if around_the_clock(organization):
        return True
    local = as_utc(moment).astimezone(zone_of(organization))
    clock = local.strftime("%H:%M")
    return any(opens <= clock < closes for opens, closes in _spans(organization, local))


def next_opening(organization: Organization, moment: datetime) -> datetime | None:
    """The first moment after ``moment`` it opens (UTC), or None when its hours never open."""
    zone = zone_of(organization)
    local = as_utc(moment).astimezone(zone)
    clock = local.strftime("%H:%M")
    for offset in range(LOOK_AHEAD_DAYS):
        day = (local + timedelta(days=offset)).date()
        for opens, _closes in sorted(_spans(organization, day)):
            if offset == 0 and opens <= clock:
                continue
            hour, minute = (int(part) for part in opens.split(":"))
            return datetime.combine(day, time(hour % 24, minute), tzinfo=zone).astimezone(as_utc(moment).tzinfo)
    return None


def busy_counts(*, session: Session, provider_ids: list[int]) -> dict[int, int]:
    """provider -> dispatches it is working on now."""
    if not provider_ids:
        return {}
    return dict(session.execute(select(Dispatch.provider_id, func.count())
                                .where(Dispatch.provider_id.in_(provider_ids), Dispatch.status.in_(BUSY))
                                .group_by(Dispatch.provider_id)).all())


def availability(organization: Organization, moment: datetime, busy: int = 0) -> dict:
    """``state``: ``open`` (``around_the_clock`` says whether it ever closes), ``closed`` (``opens_at`` UTC and
    ``opens_local``, its own time of day; both None when its hours never open) or ``at_capacity``
    (``busy`` of ``capacity``)."""
    capacity = organization.dispatch_capacity
    found = {"state": "open", "around_the_clock": around_the_clock(organization), "opens_at": None,
             "opens_local": None, "busy": busy, "capacity": capacity}
    if not is_open(organization, moment):
        opens = next_opening(organization, moment)
        local = opens.astimezone(zone_of(organization)).time().replace(tzinfo=None) if opens else None
        return found | {"state": "closed", "opens_at": opens, "opens_local": local}
    if capacity is not None and busy >= capacity:
        return found | {"state": "at_capacity"}
    return found

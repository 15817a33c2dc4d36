"""Free workshop slots: bays × opening hours × job duration, minus what is already claimed.

Opening hours and the owner's availability are written in the dealer's local time (the dealer's
IANA zone: Europe/Berlin, Asia/Seoul); everything stored is UTC, and a local day is 23, 24 or 25
hours long (``core.zones``). A slot reads in the viewer's zone, or the dealer's when no viewer is known. A slot is a start on the 30-minute grid where one bay is free for the
whole job and the whole job fits inside one opening interval (a 2-hour inspection does not start
at 17:30 when the dealer closes at 18:00, nor span the lunch break).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core import dates, zones
from forecourt.core.i18n import _, ngettext
from forecourt.core.clock import now
from forecourt.parties import service as parties_service
from forecourt.parties.markets import zone_of
from forecourt.workshop.jobs import Job
from forecourt.workshop.models import SLOT_MINUTES, Availability, BaySlot

if TYPE_CHECKING:
    from forecourt.parties.models import Organization

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STEP = timedelta(minutes=SLOT_MINUTES)
DEALER_SEARCH_DAYS = 14


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # UTC
    ends_at: datetime
    bay: int
    busy_bays: int = 0  # bays already taken at the start: fewer means a calmer workshop
    zone: tzinfo = field(default=UTC, compare=False)  # the dealer's clock

    def as_json(self) -> dict:
        return {"starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(), "bay": self.bay}

    @classmethod
    def from_json(cls, value: dict) -> Slot:
        return cls(_utc(datetime.fromisoformat(value["starts_at"])), _utc(datetime.fromisoformat(value["ends_at"])),
                   int(value["bay"]))

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(zones.viewer_or(self.zone))

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(zones.viewer_or(self.zone))

    @property
    def label(self) -> str:
        start = self.local_start
        return _("%(day)s, %(start)s–%(end)s", day=dates.format_date(start, "MMMEd"), start=dates.format_time(start),
                 end=dates.format_time(self.local_end))


@dataclass(frozen=True)
class DealerChoice:
    dealer: Organization | None
    reason: str  # in words, for the owner
    slots: list[Slot]
    distance_km: float | None = None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_clock(text: str) -> time:
    """"08:00" -> 08:00; "24:00" (closing at midnight) -> the last second of the day."""
    hours, minutes = (int(part) for part in str(text).split(":"))
    return time(23, 59, 59) if hours == 24 else time(hours, minutes)


def local_moment(day: date, at: str | time, zone: tzinfo) -> datetime:
    """A wall-clock time on a local day in ``zone``, in UTC (daylight saving handled by the zone)."""
    clock = at if isinstance(at, time) else parse_clock(at)
    return zones.wall_clock(day, clock, zone)


def opening_intervals(dealer: Organization, day: date) -> list[tuple[datetime, datetime]]:
    """The dealer's opening intervals on a day of its own calendar, in UTC; empty when closed."""
    intervals = []
    zone = zone_of(dealer)
    for pair in (dealer.opening_hours or {}).get(WEEKDAYS[day.weekday()], []) or []:
        try:
            start, end = local_moment(day, pair[0], zone), local_moment(day, pair[1], zone)
        except (ValueError, IndexError, TypeError):
            continue  # a malformed entry in the dealer's hours is no opening
        if end > start:
            intervals.append((start, end))
    return sorted(intervals)


def hours_text(dealer: Organization, day: date) -> str:
    """"08:00–12:00 and 13:00–18:00" or "closed", for messages, in the reader's language."""
    pairs = (dealer.opening_hours or {}).get(WEEKDAYS[day.weekday()], []) or []
    return dates.format_list(f"{a}–{b}" for a, b in pairs) if pairs else _("closed all day")


def _within_availability(start: datetime, end: datetime, availability: list[Availability] | None,
                         zone: tzinfo) -> bool:
    if not availability:
        return True
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.date() != local_end.date() and local_end.time() != time(0):
        return False
    for window in availability:
        if window.weekday != local_start.weekday():
            continue
        try:
            opens, closes = parse_clock(window.from_time), parse_clock(window.to_time)
        except ValueError:
            continue
        if opens <= local_start.time() and (local_end.time() <= closes or closes == time(23, 59, 59)):
            return True
    return False


def _round_up(moment: datetime) -> datetime:
    """To the next grid step of UTC, which is the local grid wherever the offset is a whole number of
    half hours (Berlin, Seoul, India alike)."""
    base = moment.replace(second=0, microsecond=0)
    extra = base.minute % SLOT_MINUTES
    if extra or moment != base:
        base += timedelta(minutes=SLOT_MINUTES - extra) if extra else STEP
    return base


def claimed_steps(*, session: Session, dealer_id: int, start: datetime, end: datetime) -> dict[datetime, set[int]]:
    """Bays already claimed at each step between start and end."""
    taken: dict[datetime, set[int]] = {}
    for bay, at in session.execute(select(BaySlot.bay, BaySlot.starts_at).where(
            BaySlot.dealer_id == dealer_id, BaySlot.starts_at >= start, BaySlot.starts_at < end)):
        taken.setdefault(_utc(at), set()).add(bay)
    return taken


def free_slots(*, session: Session, dealer: Organization, job: Job, after: datetime, days: int = DEALER_SEARCH_DAYS,
               availability: list[Availability] | None = None, limit: int = 6,
               per_day: int | None = None) -> list[Slot]:
    """The best free slots for a job at a dealer, best first: earliest, then fewest bays already busy.

    Never in the past, never on a closed day, the whole job inside one opening interval and, when
    the owner has said when they can come, inside one of their windows. ``per_day`` spreads the
    offer over several days, so an owner is not offered six times on one morning."""
    bays = dealer.service_bays or 0
    if bays <= 0 or limit <= 0:
        return []
    zone = zone_of(dealer)
    earliest = _round_up(max(_utc(after), now()))
    first_day = earliest.astimezone(zone).date()
    last_day = first_day + timedelta(days=max(days, 1) - 1)
    taken = claimed_steps(session=session, dealer_id=dealer.id, start=local_moment(first_day, "00:00", zone),
                          end=local_moment(last_day + timedelta(days=1), "00:00", zone))
    duration = job.steps * STEP
    found: list[Slot] = []
    day = first_day
    while day <= last_day and len(found) < limit:
        today: list[Slot] = []
        for opens, closes in opening_intervals(dealer, day):
            start = max(_round_up(opens), earliest)
            while start + duration <= closes:
                end = start + duration
                if _within_availability(start, end, availability, zone):
                    steps = [start + i * STEP for i in range(job.steps)]
                    busy = {bay for step in steps for bay in taken.get(step, ())}
                    free = [bay for bay in range(1, bays + 1) if bay not in busy]
                    if free:
                        today.append(Slot(start, end, free[0], len(taken.get(start, ())), zone))
                start += STEP
        today.sort(key=lambda slot: (slot.starts_at, slot.busy_bays))
        found.extend(_spread(today, per_day))
        day += timedelta(days=1)
    return found[:limit]


def _spread(slots: list[Slot], per_day: int | None) -> list[Slot]:
    """At most ``per_day`` slots of one day, taken apart (morning and afternoon) rather than back to back."""
    if not per_day or len(slots) <= per_day:
        return slots
    calmest = min(slot.busy_bays for slot in slots)
    calm = [slot for slot in slots if slot.busy_bays == calmest] or slots
    if per_day == 1:
        return calm[:1]
    picks = [calm[round(i * (len(calm) - 1) / (per_day - 1))] for i in range(per_day)]
    return sorted(set(picks), key=lambda slot: slot.starts_at)


def choose_dealer(*, session: Session, vehicle, customer_position: tuple[float, float] | None, job: Job,
                  availability: list[Availability] | None = None, within_days: int = DEALER_SEARCH_DAYS,
                  limit: int = 6, per_day: int | None = 2) -> DealerChoice:
    """The car's own workshop when it has a slot within ``within_days``, else the nearest dealer with one.

    "Nearest" is measured from the owner's position when the caller knows it, else from the car's
    own workshop (or the dealer that sold it), so the fallback stays in the owner's area."""
    after = now()
    own = None
    if vehicle.service_dealer_id or vehicle.selling_dealer_id:
        own = parties_service.get_organization(session=session,
                                               organization_id=vehicle.service_dealer_id or vehicle.selling_dealer_id)
    if own is not None and own.is_active:
        slots = free_slots(session=session, dealer=own, job=job, after=after, days=within_days,
                           availability=availability, limit=limit, per_day=per_day)
        if slots:
            return DealerChoice(own, _("%(dealer)s is your chosen workshop.", dealer=own.name), slots)
    origin = customer_position
    if origin is None and own is not None:
        origin = own.position
    if origin is None:
        return DealerChoice(None, _("We do not know where you are, and the car has no workshop yet; "
                                    "choose a dealer to see their free times."), [])
    for dealer, distance in parties_service.nearest_dealers(session=session, latitude=origin[0],
                                                            longitude=origin[1], limit=8):
        if own is not None and dealer.id == own.id:
            continue
        slots = free_slots(session=session, dealer=dealer, job=job, after=after, days=within_days,
                           availability=availability, limit=limit, per_day=per_day)
        if slots:
            km = dates.format_number(distance, 0)
            if own is not None:
                # Each case a whole sentence: where the distance is measured from and whether the customer
                # gave times change the grammar in German and Korean.
                values = dict(own=own.name, num=within_days, dealer=dealer.name, km=km)
                if customer_position is not None:
                    reason = (ngettext("%(own)s has no free bay in the next %(num)s day at the times you gave; "
                                       "%(dealer)s, %(km)s km from you, has.",
                                       "%(own)s has no free bay in the next %(num)s days at the times you gave; "
                                       "%(dealer)s, %(km)s km from you, has.", within_days, **values)
                              if availability else
                              ngettext("%(own)s has no free bay in the next %(num)s day; %(dealer)s, %(km)s km from "
                                       "you, has.",
                                       "%(own)s has no free bay in the next %(num)s days; %(dealer)s, %(km)s km from "
                                       "you, has.", within_days, **values))
                else:
                    reason = (ngettext("%(own)s has no free bay in the next %(num)s day at the times you gave; "
                                       "%(dealer)s, %(km)s km from %(own)s, has.",
                                       "%(own)s has no free bay in the next %(num)s days at the times you gave; "
                                       "%(dealer)s, %(km)s km from %(own)s, has.", within_days, **values)
                              if availability else
                              ngettext("%(own)s has no free bay in the next %(num)s day; %(dealer)s, %(km)s km from "
                                       "%(own)s, has.",
                                       "%(own)s has no free bay in the next %(num)s days; %(dealer)s, %(km)s km from "
                                       "%(own)s, has.", within_days, **values))
            elif customer_position is not None:
                reason = _("%(dealer)s is the nearest workshop with a free bay, %(km)s km from you.",
                           dealer=dealer.name, km=km)
            else:
                reason = _("%(dealer)s is the nearest workshop with a free bay, %(km)s km away.",
                           dealer=dealer.name, km=km)
            return DealerChoice(dealer, reason, slots, distance)
    return DealerChoice(None, ngettext(
        "No workshop near you has a free bay in the next %(num)s day at the times you gave; please widen your "
        "availability or call your dealer.",
        "No workshop near you has a free bay in the next %(num)s days at the times you gave; please widen your "
        "availability or call your dealer.", within_days) if availability else ngettext(
        "No workshop near you has a free bay in the next %(num)s day; please widen your availability or call "
        "your dealer.",
        "No workshop near you has a free bay in the next %(num)s days; please widen your availability or call "
        "your dealer.", within_days), [])

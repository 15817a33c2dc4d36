"""Contact pressure: how often anyone may write to one driver, and when.

* **A cap per driver and channel**: at most the market's ``marketing_per_month`` marketing messages
  in any 30 days (2 unless the carmaker sets another for the market), or fewer if the driver chose so.
* **Legal messages** (a safety recall) are never held back by the cap, but they count toward it: a
  driver who was just told of a recall is not sent two offers the same week on top.
* **Quiet hours** in the driver's own time zone (21:00 to 08:00 unless told otherwise): nothing is
  sent then, legal or not; the message waits for the morning.
* **E-mail** only where the driver chose it (in-app messages wait quietly in the inbox).

``allowed`` and ``record_contact`` are what every sender of marketing (offers, surveys) asks and tells.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core.clock import as_utc
from forecourt.core.zones import wall_clock
from forecourt.customers import service as customers_service
from forecourt.engagement.models import Contact, ContactChoice
from forecourt.parties import markets as parties_markets

CHANNELS = ("in_app", "email")
QUIET_HOURS = (21, 8)  # from 21:00 until 08:00 on the driver's clock
WINDOW = timedelta(days=30)


def choice_of(*, session: Session, customer_id: int) -> ContactChoice:
    """The driver's choice of channels and frequency (not stored until they change it: e-mail on)."""
    return session.get(ContactChoice, customer_id) or ContactChoice(customer_id=customer_id, email=True,
                                                                     per_month=None)


def set_choice(*, session: Session, customer_id: int, email: bool, per_month: int | None) -> ContactChoice:
    choice = session.get(ContactChoice, customer_id)
    if choice is None:
        choice = ContactChoice(customer_id=customer_id)
        session.add(choice)
    choice.email, choice.per_month = email, per_month
    session.flush()
    return choice


def market_cap_of(*, session: Session, customer_id: int) -> int:
    """The cap of the driver's market (what "the usual limit" means to them)."""
    customer = customers_service.get(session=session, customer_id=customer_id)
    market = parties_markets.market_or_default(session=session, code=customer.market or customer.country)
    return market.marketing_per_month if market.marketing_per_month is not None else 2


def cap_of(*, session: Session, customer_id: int) -> int:
    """Marketing messages per channel in 30 days: the market's cap, or the driver's own if lower."""
    cap = market_cap_of(session=session, customer_id=customer_id)
    own = choice_of(session=session, customer_id=customer_id).per_month
    return min(cap, own) if own is not None else cap


def contacts_in_window(*, session: Session, customer_id: int, channel: str, at: datetime) -> int:
    at = as_utc(at)
    return session.scalar(select(func.count(Contact.id)).where(
        Contact.customer_id == customer_id, Contact.channel == channel,
        Contact.at > at - WINDOW, Contact.at <= at)) or 0


def in_quiet_hours(*, session: Session, customer_id: int, at: datetime, quiet: tuple[int, int] = QUIET_HOURS) -> bool:
    zone = customers_service.zone_of(customers_service.get(session=session, customer_id=customer_id))
    hour = as_utc(at).astimezone(zone).hour
    start, end = quiet
    return (hour >= start or hour < end) if start > end else (start <= hour < end)


def quiet_ends(*, session: Session, customer_id: int, at: datetime, quiet: tuple[int, int] = QUIET_HOURS) -> datetime:
    """The first moment after ``at`` outside quiet hours on the driver's clock."""
    if not in_quiet_hours(session=session, customer_id=customer_id, at=at, quiet=quiet):
        return as_utc(at)
    zone = customers_service.zone_of(customers_service.get(session=session, customer_id=customer_id))
    local = as_utc(at).astimezone(zone)
    day = local.date() if local.hour < quiet[1] else local.date() + timedelta(days=1)
    return as_utc(wall_clock(day, time(quiet[1]), zone))


def allowed(*, session: Session, customer_id: int, channel: str, at: datetime, legal: bool = False,
            quiet: tuple[int, int] = QUIET_HOURS) -> bool:
    """May a message reach this driver on this channel at this moment? Legal messages pass the cap
    (and the driver's choice of channels) but not quiet hours."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if in_quiet_hours(session=session, customer_id=customer_id, at=at, quiet=quiet):
        return False
    return legal or within_cap(session=session, customer_id=customer_id, channel=channel, at=at)


def within_cap(*, session: Session, customer_id: int, channel: str, at: datetime) -> bool:
    """The driver's choice of channels and the cap, whatever the hour: for senders (such as the NPS
    invitation) that wait out the quiet hours instead of giving up."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if channel == "email" and not choice_of(session=session, customer_id=customer_id).email:
        return False
    return contacts_in_window(session=session, customer_id=customer_id, channel=channel, at=at) < \
        cap_of(session=session, customer_id=customer_id)


def record_contact(*, session: Session, customer_id: int, channel: str, at: datetime, topic: str,
                   legal: bool = False) -> Contact:
    """A message reached the driver: it counts toward the cap from now on (legal ones too)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    contact = Contact(customer_id=customer_id, channel=channel, topic=topic[:32], legal=legal, at=as_utc(at))
    session.add(contact)
    session.flush()
    return contact


def set_market_cap(*, session: Session, market_code: str, per_month: int) -> None:
    """The carmaker's cap for one market (0 to 31 marketing messages per channel in 30 days)."""
    parties_markets.set_marketing_cap(session=session, code=market_code, per_month=per_month)

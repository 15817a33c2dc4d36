"""Time zones: whose clock a moment is read on.

Everything stored is UTC. Opening hours, slots, SLAs, quiet hours and "today" belong to someone (a
dealer's hours to the dealer, a driver's night to the driver) and are computed in that someone's
IANA zone, read with ``zoneinfo``. What a person reads is shown in the *viewer's* zone: a driver's
own (their market's when they chose none), a staff member's organization's. Like the language in
``core.i18n``, the viewer's zone is a context variable set once per request (or per job), so the
date and time filters of the templates ask ``current_zone()`` instead of having a zone threaded
through every call.

A wall-clock time on a local day is turned into UTC by ``wall_clock``: on the night clocks go
forward, a time that does not exist (02:30 in Berlin on the last Sunday of March) is read as the
same time after the jump, and on the night they go back, a time that happens twice is its first
occurrence (PEP 495, ``fold=0``). A local day therefore lasts 23, 24 or 25 hours (``day_bounds``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from forecourt.core.errors import Invalid
from forecourt.core.i18n import _

log = logging.getLogger("forecourt.zones")

DEFAULT_ZONE = "UTC"
_viewer: ContextVar[tzinfo | None] = ContextVar("forecourt_viewer_zone", default=None)


@lru_cache(maxsize=256)
def _load(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def known(name: str | None) -> bool:
    """Whether ``name`` is an IANA zone this machine's time-zone database has ("Asia/Seoul")."""
    if not name or not isinstance(name, str) or len(name) > 64:
        return False
    try:
        _load(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def zone_named(name: str, *, field: str = "time_zone") -> ZoneInfo:
    """The zone called ``name``, or ``Invalid`` saying so in words (for input: a form, a request body)."""
    if known(name):
        return _load(name)
    raise Invalid(_("%(name)s is not a time zone we know. Use an IANA name such as Europe/Berlin or "
                    "Asia/Seoul.", name=repr(str(name)[:64]) if name else _("An empty name")), field=field)


def check_zone(name: str, *, field: str = "time_zone") -> str:
    """A zone name fit to store, spelled as the database spells it."""
    return zone_named(name.strip() if isinstance(name, str) else name, field=field).key


def zone_or(name: str | None, fallback: tzinfo | str | None = None, *, whose: str = "") -> tzinfo:
    """The zone called ``name``, else ``fallback`` (else UTC) with a warning that says whose setting was wrong.

    For zones read from storage or settings: a page never fails because a row or a variable holds a
    name this machine does not know; it falls back and the log says what to fix."""
    if known(name):
        return _load(name)  # type: ignore[arg-type]
    chosen = fallback if isinstance(fallback, tzinfo) else _load(fallback) if known(fallback) else UTC
    if name:
        log.warning("%s time zone %r is not an IANA zone known here; using %s instead.", whose or "A",
                    name, getattr(chosen, "key", "UTC"))
    return chosen


def common_zones() -> list[str]:
    """Zone names for a form's list: the IANA regions people live in, alphabetical."""
    regions = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")
    return sorted(z for z in available_timezones() if z.startswith(regions)) + ["UTC"]


# --- the viewer ----------------------------------------------------------------------------------

def current_zone() -> tzinfo:
    """The zone the current reader sees times in (UTC outside a request or job that set one)."""
    return _viewer.get() or UTC


def viewer_or(fallback: tzinfo) -> tzinfo:
    """The reader's zone when a request or job named one, else ``fallback`` (a dealer's own clock in a
    message written by a background job)."""
    return _viewer.get() or fallback


def set_zone(zone: tzinfo) -> None:
    """For the rest of this request or task, show times in ``zone`` (a request learns who asks part-way)."""
    _viewer.set(zone)


@contextmanager
def use_zone(zone: tzinfo | str) -> Iterator[tzinfo]:
    """Show times in ``zone`` inside the block (an e-mail to one customer, a test)."""
    token = _viewer.set(zone_or(zone) if isinstance(zone, str) else zone)
    try:
        yield _viewer.get()
    finally:
        _viewer.reset(token)


def to_viewer(moment: datetime | None, zone: tzinfo | None = None) -> datetime | None:
    """A stored moment on the viewer's clock (or ``zone``'s). Naive moments are the UTC they were stored as."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone or current_zone())


def zone_label(zone: tzinfo | None = None, at: datetime | None = None) -> str:
    """What a clock in ``zone`` is called at ``at``: "KST", "CET" or "CEST" (an offset where there is no name)."""
    zone = zone or current_zone()
    moment = (at or datetime.now(UTC)).astimezone(zone)
    name = moment.tzname() or ""
    if not name or name[0] in "+-":
        offset = moment.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        name = f"UTC{'+' if minutes >= 0 else '−'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return name


# --- local days and wall clocks ------------------------------------------------------------------

def wall_clock(day: date, clock: time, zone: tzinfo) -> datetime:
    """``clock`` on the local ``day`` in ``zone``, as UTC (see the module's note on DST nights)."""
    return datetime.combine(day, clock.replace(tzinfo=None, fold=0), tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The local day as a UTC interval [start, end): 23, 24 or 25 hours long."""
    return wall_clock(day, time(0, 0), zone), wall_clock(day + timedelta(days=1), time(0, 0), zone)


def local_day(moment: datetime, zone: tzinfo | None = None) -> date:
    """The day ``moment`` falls on in ``zone`` (the viewer's by default)."""
    return to_viewer(moment, zone).date()  # type: ignore[union-attr]

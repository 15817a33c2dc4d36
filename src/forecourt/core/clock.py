"""Time is injected: services ask ``now()``, tests freeze or move it.

A context variable rather than a module global keeps one frozen clock from leaking into
another thread's request.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo

from forecourt.core.zones import current_zone

_frozen: ContextVar[datetime | None] = ContextVar("forecourt_frozen_now", default=None)


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    frozen = _frozen.get()
    return frozen if frozen is not None else datetime.now(UTC)


def today(zone: tzinfo | None = None):
    """Today's date on the viewer's clock (``core.zones``), or on ``zone``'s: a dealer's "today" is
    Seoul's in Seoul. Outside a request or job that set a zone, that is UTC's."""
    return now().astimezone(zone or current_zone()).date()


@contextmanager
def frozen_at(moment: datetime):
    token = _frozen.set(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    try:
        yield
    finally:
        _frozen.reset(token)


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward (only meaningful inside ``frozen_at``)."""
    current = _frozen.get()
    if current is None:
        raise RuntimeError("advance() needs a frozen clock")
    _frozen.set(current + delta)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; treat them as the UTC they were stored as."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

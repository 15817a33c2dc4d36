"""Delivering durable domain events: at once after commit, then by the worker until done or dead.

One delivery is one transaction: lock the event row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
single writer on SQLite), run every handler of its kind, mark it delivered, commit. So a handler's
work and "delivered" are committed together or not at all, and two deliverers (the fast lane and
the worker, or two workers) never both act on one event. A failure rolls the handlers' work back
and records the attempt in a transaction of its own, with the next try ``policy.delay`` later;
after ``policy.max_attempts`` the event is dead until an operator replays it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from forecourt.core import events
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.events import DEAD, DELIVERED, PENDING, DomainEvent
from forecourt.core.i18n import _

log = logging.getLogger(__name__)


def deliver(factory: Callable[[], Session], event_id: int, *, known: object | None = None,
            registry: events.Handlers | None = None) -> str:
    """One attempt at one event: ``delivered``, ``failed`` (to retry), ``dead`` or ``gone`` (someone
    else has it, or it was already delivered)."""
    registry = registry or events.handlers
    try:
        with transaction(factory, write=True) as session:
            row = session.scalars(select(DomainEvent).where(DomainEvent.id == event_id, DomainEvent.status == PENDING)
                                  .with_for_update(skip_locked=True)).first()
            if row is None:
                return "gone"
            kind = events.kind_named(row.name)
            if kind is None:
                raise LookupError(f"no event is declared durable as {row.name!r} in this process")
            event = known if known is not None else kind.decode(row.payload)
            for handler in registry.of(kind.event_type):
                handler.function(event, session=session)
            row.status, row.delivered_at, row.last_error = DELIVERED, now(), None
            row.attempts += 1
        return "delivered"
    except Exception as error:
        log.warning("event %s not delivered: %s: %s", event_id, type(error).__name__, error)
        return _record_failure(factory, event_id, error, registry.policy)


def _record_failure(factory, event_id: int, error: Exception, policy: events.RetryPolicy) -> str:
    with transaction(factory, write=True) as session:
        row = session.get(DomainEvent, event_id)
        if row is None or row.status != PENDING:
            return "gone"
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= policy.max_attempts:
            row.status = DEAD
            log.error("event %s (%s) is dead after %s attempts: %s", row.id, row.name, row.attempts, row.last_error)
            return "dead"
        row.next_attempt_at = now() + policy.delay(row.attempts)
        return "failed"


def due_ids(*, session: Session, limit: int = 200) -> list[int]:
    return list(session.scalars(select(DomainEvent.id).where(
        DomainEvent.status == PENDING, DomainEvent.next_attempt_at <= now())
        .order_by(DomainEvent.next_attempt_at, DomainEvent.id).limit(limit)))


def deliver_due(factory: Callable[[], Session], *, limit: int = 200,
                registry: events.Handlers | None = None) -> dict[str, int]:
    """What the worker runs: every event whose time has come, one transaction each."""
    with transaction(factory) as session:
        ids = due_ids(session=session, limit=limit)
    result = {"delivered": 0, "failed": 0, "dead": 0, "gone": 0}
    for event_id in ids:
        result[deliver(factory, event_id, registry=registry)] += 1
    return result


# --- for operators ------------------------------------------------------------------------------------

def list_events(*, session: Session, status: str = DEAD, limit: int = 200) -> list[DomainEvent]:
    if status not in (PENDING, DELIVERED, DEAD):
        raise Invalid(_("Status must be pending, delivered or dead."), field="status")
    order = DomainEvent.id.desc() if status != PENDING else DomainEvent.next_attempt_at
    return list(session.scalars(select(DomainEvent).where(DomainEvent.status == status).order_by(order).limit(limit)))


def replay(*, session: Session, event_id: int) -> DomainEvent:
    """A dead event goes back to the queue with fresh attempts (after its cause was fixed)."""
    row = session.get(DomainEvent, event_id)
    if row is None:
        raise NotFound("Event not found")
    if row.status != DEAD:
        raise Invalid(_("Only a dead event can be replayed."), field="event")
    row.status, row.attempts, row.next_attempt_at = PENDING, 0, now()
    session.flush()
    return row


def summary(*, session: Session) -> dict:
    """Counts by status, and how late the oldest pending event is (the event lag)."""
    counts = dict(session.execute(select(DomainEvent.status, func.count()).group_by(DomainEvent.status)).all())
    oldest: datetime | None = session.scalar(select(func.min(DomainEvent.created_at))
                                             .where(DomainEvent.status == PENDING))
    lag = max(0.0, (now() - oldest).total_seconds()) if oldest is not None else 0.0
    return {"pending": counts.get(PENDING, 0), "delivered": counts.get(DELIVERED, 0), "dead": counts.get(DEAD, 0),
            "lag_seconds": lag}


def forget_delivered(*, session: Session, older_than) -> int:
    """Delivered events are history once their handlers acted; they go after a while."""
    return session.execute(delete(DomainEvent).where(DomainEvent.status == DELIVERED,
                                                     DomainEvent.delivered_at < older_than)).rowcount

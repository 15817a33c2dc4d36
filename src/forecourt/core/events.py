"""Domain events, delivered only after the transaction that raised them commits.

A service calls ``publish(session, event)``; nothing runs until ``session.commit()``
succeeds, so a rolled-back request never tells the world something that did not happen.
Handlers receive the event (ids, not ORM objects) and open their own session.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "forecourt_pending_events"


@dataclass
class EventBus:
    handlers: dict[type, list[Callable]] = field(default_factory=lambda: defaultdict(list))

    def subscribe(self, event_type: type, handler: Callable) -> None:
        self.handlers[event_type].append(handler)

    def dispatch(self, event: object) -> None:
        for handler in self.handlers.get(type(event), []):
            try:
                handler(event)
            except Exception:  # a handler failing must not undo a committed request
                log.exception("event handler %s failed for %r", handler, event)


bus = EventBus()


@dataclass
class SessionSource:
    """Where a domain's after-commit handlers open their sessions. The web app and the ingest worker
    each subscribe at start-up and tests build many apps: a second subscription swaps the factory
    instead of adding the handlers twice."""

    factory: Callable[[], Session]


_sources: dict[tuple[int, str], SessionSource] = {}


def session_source(event_bus: EventBus, owner: str, factory: Callable[[], Session]) -> tuple[SessionSource, bool]:
    """The owner's source on this bus, and whether it is new (then the owner subscribes its handlers)."""
    existing = _sources.get((id(event_bus), owner))
    if existing is not None:
        existing.factory = factory
        return existing, False
    source = _sources[(id(event_bus), owner)] = SessionSource(factory)
    return source, True


def publish(session: Session, event: object) -> None:
    if not session.in_transaction():
        session.begin()  # so a rollback that follows is seen, even before any SQL ran
    session.info.setdefault(_PENDING, []).append(event)


@sa_event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    for pending in session.info.pop(_PENDING, []):
        bus.dispatch(pending)


@sa_event.listens_for(Session, "after_soft_rollback")
def _discard(session: Session, previous_transaction) -> None:
    # Fires on every rollback() call, even when no SQL ran yet; a savepoint's rollback keeps the
    # outer transaction's events (the savepoint's own may still be delivered: publish after it).
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)

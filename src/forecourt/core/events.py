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


def publish(session: Session, event: object) -> None:
    session.info.setdefault(_PENDING, []).append(event)


@sa_event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    for pending in session.info.pop(_PENDING, []):
        bus.dispatch(pending)


@sa_event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)

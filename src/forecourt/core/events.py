"""Domain events: notices in memory, and durable events that another domain acts on.

A service calls ``publish(session, event)``; nothing runs until ``session.commit()`` succeeds, so a
rolled-back request never tells the world something that did not happen.

Most events are **notices** (``TwinUpdated``, a tyre going low): handlers on ``bus`` receive them
after commit in the same process, and a crash in between forgets them, which costs nothing.

An event that another domain acts on — an SOS that must open an On Call case, a fault code that
must propose a workshop visit — is declared ``@durable``: ``publish`` writes it as a
``domain_events`` row in the cause's own transaction, so it exists exactly when its cause does.
After the commit the publishing process tries to deliver it at once (the fast lane: an alert opens
its case within milliseconds); whatever is still pending after ``GRACE`` — the process died, a
handler failed — is delivered by ``forecourt worker`` (``core.delivery``), with exponential
back-off, until it is delivered or its attempts are spent and it waits, dead, for an operator.
Handlers are idempotent and run in the transaction that marks the event delivered, so an event is
acted on once in effect however often it is tried.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import TypeAdapter
from sqlalchemy import Index, Integer, String, Text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, Session, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime, savepoint_released

log = logging.getLogger(__name__)

_PENDING = "forecourt_pending_events"
# How long the worker leaves a new event to the process that published it, before it delivers it
# itself: long enough that it never races a healthy fast lane, short enough for a dead one.
GRACE = timedelta(seconds=5)
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


class DomainEvent(Base):
    """A durable event: written with its cause, delivered at least once to every handler of its name."""

    __tablename__ = "domain_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    payload: Mapped[str] = mapped_column(Text)  # JSON of the event's fields
    status: Mapped[str] = mapped_column(String(12), default=PENDING)  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_domain_events_status_next", "status", "next_attempt_at"),)


# --- notices: in-memory, after commit ---------------------------------------------------------------

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
    """Where an owner's in-memory handlers open their sessions. The web app and the ingest worker each
    subscribe at start-up and tests build many apps: a second subscription swaps the factory instead
    of adding the handlers twice. (Durable handlers use ``handlers.configure`` instead.)"""

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


# --- durable events ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """What makes an event class durable: its stored name, and which of its events are worth a row."""

    name: str
    event_type: type
    when: Callable[[object], bool] | None

    def encode(self, event: object) -> str:
        return _adapter(self.event_type).dump_json(event).decode()

    def decode(self, payload: str) -> object:
        return _adapter(self.event_type).validate_json(payload)


_KINDS: dict[str, Kind] = {}
_ADAPTERS: dict[type, TypeAdapter] = {}


def _adapter(event_type: type) -> TypeAdapter:
    if event_type not in _ADAPTERS:
        _ADAPTERS[event_type] = TypeAdapter(event_type)
    return _ADAPTERS[event_type]


def durable(name: str, *, when: Callable[[object], bool] | None = None):
    """Declares an event class durable under ``name`` (stable: rows outlive releases). ``when``
    narrows it to the events some domain acts on; the others stay notices."""
    def declare(event_type: type) -> type:
        kind = Kind(name, event_type, when)
        _KINDS[name] = kind
        event_type.__durable__ = kind
        return event_type
    return declare


def kind_of(event: object) -> Kind | None:
    kind = getattr(type(event), "__durable__", None)
    if kind is None or (kind.when is not None and not kind.when(event)):
        return None
    return kind


def kind_named(name: str) -> Kind | None:
    return _KINDS.get(name)


@dataclass(frozen=True)
class Handler:
    name: str  # stable, shown to operators: "assist.open_case"
    event_type: type
    function: Callable  # function(event, *, session): idempotent, never commits


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    first_delay: float = 10.0  # seconds; doubled after each failure
    longest_delay: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.first_delay * 2 ** max(attempts - 1, 0), self.longest_delay))


@dataclass
class Handlers:
    """The durable handlers this process knows, and where it opens their sessions.

    Every process that publishes durable events subscribes all of them (``forecourt.handlers``), so
    whoever delivers an event runs every handler of its kind; a process without any (a CLI command)
    leaves its events to the worker.
    """

    by_type: dict[type, list[Handler]] = field(default_factory=lambda: defaultdict(list))
    factory: Callable[[], Session] | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    fast_lane: bool = True

    def subscribe(self, event_type: type, name: str, function: Callable) -> None:
        """Idempotent by name: the web app and the worker subscribe at start-up, tests build many apps."""
        existing = self.by_type[event_type]
        self.by_type[event_type] = [h for h in existing if h.name != name] + [Handler(name, event_type, function)]

    def configure(self, factory: Callable[[], Session], *, policy: RetryPolicy | None = None,
                  fast_lane: bool = True) -> None:
        self.factory, self.fast_lane = factory, fast_lane
        if policy is not None:
            self.policy = policy

    def of(self, event_type: type) -> list[Handler]:
        return list(self.by_type.get(event_type, ()))


handlers = Handlers()


def publish(session: Session, event: object) -> None:
    if not session.in_transaction():
        session.begin()  # so a rollback that follows is seen, even before any SQL ran
    kind = kind_of(event)
    row = None
    if kind is not None:
        moment = now()
        row = DomainEvent(name=kind.name, payload=kind.encode(event), status=PENDING, attempts=0, created_at=moment,
                          next_attempt_at=moment + GRACE)
        session.add(row)
    session.info.setdefault(_PENDING, []).append((event, row))


@sa_event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    if savepoint_released(session):
        return  # a handler opening its own session would wait for the outer transaction's write lock
    pending = session.info.pop(_PENDING, [])
    for event, _ in pending:
        bus.dispatch(event)
    durable_ids = [(event, row.id) for event, row in pending if row is not None and row.id is not None]
    if durable_ids and handlers.fast_lane and handlers.factory is not None:
        from forecourt.core import delivery  # delivery builds on this module

        for event, event_id in durable_ids:
            if not handlers.of(type(event)):
                continue
            try:
                delivery.deliver(handlers.factory, event_id, known=event)
            except Exception:  # the commit stands whatever happens here: the worker delivers it later
                log.exception("event %s could not be delivered at once; the worker will", event_id)


@sa_event.listens_for(Session, "after_soft_rollback")
def _discard(session: Session, previous_transaction) -> None:
    # Fires on every rollback() call, even when no SQL ran yet; a savepoint's rollback keeps the
    # outer transaction's events (the savepoint's own may still be delivered: publish after it).
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)

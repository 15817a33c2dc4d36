"""Telling open pages which cars changed, once per committed batch.

Pages that follow cars live (the owner's and staff's car pages, the hub's fleet map, the carmaker's
fleet health) are pushed, not polled: whoever writes a car's twin, positions or a changed health
judgement calls ``cars_changed`` in the same transaction, with every car of the batch at once, so a
fleet reporting 20,000 messages a second costs one notification per ingest flush (a few, when the
batch names thousands of cars), never one per message.

* **PostgreSQL**: ``SELECT pg_notify('forecourt_cars', '<ids>')`` inside the writing transaction. The
  database delivers it only if, and when, that transaction commits, to every web process listening
  (``web.live``), whichever process wrote.
* **SQLite** (one host, no notifications): the ids are kept on the session and handed to this
  process's subscribers after the commit; a web process's poller finds what other processes wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "forecourt_cars"
PAYLOAD_LIMIT = 7_900  # PostgreSQL refuses a payload of 8,000 bytes or more
_PENDING = "forecourt_cars_changed"
_subscribers: list[Callable[[frozenset[int]], None]] = []


def chunks(vehicle_ids: Iterable[int]) -> list[str]:
    """The ids as comma-separated payloads each under the limit."""
    out, current = [], ""
    for vehicle_id in sorted(set(vehicle_ids)):
        part = str(int(vehicle_id))
        if current and len(current) + 1 + len(part) > PAYLOAD_LIMIT:
            out.append(current)
            current = ""
        current = f"{current},{part}" if current else part
    if current:
        out.append(current)
    return out


def parse(payload: str | None) -> frozenset[int]:
    """The ids of a payload; anything unreadable is skipped (a listener never fails on input)."""
    ids = set()
    for part in (payload or "").split(","):
        part = part.strip()
        if part.isdigit():
            ids.add(int(part))
    return frozenset(ids)


def cars_changed(session: Session, vehicle_ids: Iterable[int]) -> None:
    """Announce, on commit, that these cars' live state changed. Never commits."""
    ids = frozenset(int(v) for v in vehicle_ids)
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        for payload in chunks(ids):
            session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})
        return
    session.info.setdefault(_PENDING, set()).update(ids)


def subscribe(callback: Callable[[frozenset[int]], None]) -> None:
    """In-process subscribers (SQLite): called after each commit that changed cars."""
    if callback not in _subscribers:
        _subscribers.append(callback)


def unsubscribe(callback: Callable[[frozenset[int]], None]) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


@sa_event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    ids = session.info.pop(_PENDING, None)
    if not ids:
        return
    for callback in list(_subscribers):
        try:
            callback(frozenset(ids))
        except Exception:  # a page's watcher must never undo or fail a commit
            log.exception("a live watcher failed on changed cars")


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)

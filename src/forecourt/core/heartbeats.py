"""Processes saying they are alive: the worker and the ingest processes write a row now and then.

``/api/health`` and ``/metrics`` run in the web process and cannot see the others, so each
long-running process beats into the database every ``FORECOURT_HEARTBEAT_SECONDS`` with what it
has counted since it started (messages, stored, rejected...). A process whose last beat is older
than three beats is taken for dead.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from forecourt.core.clock import as_utc, now
from forecourt.core.db import Base, UTCDateTime

ROLES = ("worker", "ingest")


class Heartbeat(Base):
    __tablename__ = "process_heartbeats"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)  # role@host:pid
    role: Mapped[str] = mapped_column(String(20), index=True)  # worker | ingest
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    counters: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what the process counted since it started


def process_name(role: str) -> str:
    return f"{role}@{socket.gethostname()}:{os.getpid()}"[:120]


def beat(*, session: Session, role: str, name: str, started_at: datetime, counters: dict | None = None) -> None:
    row = session.get(Heartbeat, name)
    if row is None:
        row = Heartbeat(name=name, role=role, started_at=started_at)
        session.add(row)
    row.beat_at, row.counters = now(), json.dumps(counters or {})
    session.flush()


def forget(*, session: Session, name: str) -> None:
    """A process stopping on purpose says so, rather than being taken for dead later."""
    session.execute(delete(Heartbeat).where(Heartbeat.name == name))


def status(*, session: Session, every_seconds: float) -> dict[str, dict]:
    """Per role: alive (a beat within three intervals), its processes, and when it was last heard of."""
    limit = now() - timedelta(seconds=3 * every_seconds)
    out: dict[str, dict] = {role: {"alive": False, "processes": 0, "last_beat": None} for role in ROLES}
    for row in session.scalars(select(Heartbeat).order_by(Heartbeat.beat_at)):
        entry = out.setdefault(row.role, {"alive": False, "processes": 0, "last_beat": None})
        beat_at = as_utc(row.beat_at)
        entry["last_beat"] = beat_at.isoformat()
        if beat_at >= limit:
            entry["alive"] = True
            entry["processes"] += 1
    return out


def live_counters(*, session: Session, every_seconds: float) -> list[tuple[str, str, dict]]:
    """(role, name, counters) of every process that beat recently."""
    limit = now() - timedelta(seconds=3 * every_seconds)
    return [(row.role, row.name, json.loads(row.counters or "{}"))
            for row in session.scalars(select(Heartbeat).where(Heartbeat.beat_at >= limit).order_by(Heartbeat.name))]


def forget_silent(*, session: Session, older_than: datetime) -> int:
    return session.execute(delete(Heartbeat).where(Heartbeat.beat_at < older_than)).rowcount


def keep_beating(sessions, *, role: str, every_seconds: float, counters=lambda: {}, stop=None):
    """Beats from a daemon thread until ``stop`` (a ``threading.Event``) is set; returns the thread.
    On SQLite a beat takes the write lock for a moment; every few seconds that costs nothing."""
    import logging
    import threading

    from forecourt.core.db import transaction

    stop = stop or threading.Event()
    name, started_at = process_name(role), now()

    def run() -> None:
        while True:
            try:
                with transaction(sessions, write=True) as session:
                    beat(session=session, role=role, name=name, started_at=started_at, counters=counters())
            except Exception:  # a missed beat is not a reason to stop working
                logging.getLogger(__name__).exception("the %s heartbeat could not be written", role)
            if stop.wait(every_seconds):
                break
        try:
            with transaction(sessions, write=True) as session:
                forget(session=session, name=name)
        except Exception:
            pass

    thread = threading.Thread(target=run, name=f"forecourt-{role}-heartbeat", daemon=True)
    thread.start()
    return thread

"""``forecourt worker``: Huey's consumer running Forecourt's background work.

What it runs:

* **Deliveries**, every ``FORECOURT_WORKER_POLL_SECONDS``: durable domain events the publishing
  process did not deliver (``core.delivery``) and due e-mails of the outbox
  (``messaging.notify.send_pending``). Both keep their retry state in their own rows (back-off,
  dead letters, replay), so an operator sees it and a lost queue loses nothing; Huey runs them on
  its worker threads, and a round is not queued again before the last one finished.
* **The schedule**, each a crontab line in the settings (``FORECOURT_SCHEDULE_*``): On Call renewal
  reminders, recall reminders, proposal expiry, raw-position retention, the exactly-once ledger's
  retention (hourly), NPS follow-ups escalated
  when overdue, the clean-up of delivered events and silent heartbeats, commands to cars past their
  deadline (timed out and reported), car sharing's lapsed holds and trips following their cars, and
  the day's occasions (detected, composed into one message per driver and sent after their hold), and
  on PostgreSQL the months of samples, positions and the ledger partitioned ahead.
  Huey retries a failed run with back-off.
* **A heartbeat** every ``FORECOURT_HEARTBEAT_SECONDS`` with what it counted and the queue's depth,
  which ``/api/health`` and ``/metrics`` read.

It sits beside the layers (like ``forecourt.handlers``) because its jobs call several domains.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from forecourt.core.config import Settings

log = logging.getLogger(__name__)


# --- the jobs: plain functions of a session factory and the settings -----------------------------

def deliver_events(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.core import delivery

    return delivery.deliver_due(sessions)


def send_outbox(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.messaging import notify

    return notify.send_pending(session_factory=sessions, settings=settings)


def oncall_reminders(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.assist import subscriptions
    from forecourt.core.clock import today
    from forecourt.core.db import transaction

    with transaction(sessions, write=True) as session:
        return {"reminded": len(subscriptions.remind_due(session=session, today=today()))}


def recall_reminders(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.core.db import transaction
    from forecourt.vehicles import recalls

    with transaction(sessions, write=True) as session:
        return recalls.remind_owners(session=session, every_days=settings.recall_reminder_days,
                                     at_most=settings.recall_reminders_max)


def proposal_expiry(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.core.db import transaction
    from forecourt.workshop import proposals

    with transaction(sessions, write=True) as session:
        return {"expired": proposals.expire_due(session=session)}


def position_retention(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.core import partitions
    from forecourt.core.db import transaction
    from forecourt.telematics import service as telematics_service

    with transaction(sessions, write=True) as session:
        removed = telematics_service.prune_positions(session=session, older_than_days=settings.position_retention_days)
    return removed | {"dropped": partitions.drop_all_detached(sessions, "telematics_positions")}


def ledger_retention(sessions: sessionmaker[Session], settings: Settings) -> dict:
    """The exactly-once ledger forgets keys received more than ``FORECOURT_LEDGER_KEEP_DAYS`` ago
    (``telematics.ledger``): whole months detached, then dropped, then the rest in batches, each
    step a transaction of its own."""
    from forecourt.core import partitions
    from forecourt.core.clock import now
    from forecourt.core.db import transaction
    from forecourt.telematics import ledger

    cutoff = now() - timedelta(days=settings.ledger_keep_days)
    with transaction(sessions, write=True) as session:
        months, keys = ledger.forget_months(session=session, cutoff=cutoff)
    dropped = partitions.drop_all_detached(sessions, ledger.LEDGER)
    while True:
        with transaction(sessions, write=True) as session:
            deleted = ledger.forget_some(session=session, cutoff=cutoff)
        keys += deleted
        if deleted < ledger.BATCH:
            return {"months": months, "dropped": dropped, "keys": keys}


def partitions_ahead(sessions: sessionmaker[Session], settings: Settings) -> dict:
    """PostgreSQL: this month's and the next three months' partitions of samples, positions and the
    exactly-once ledger exist long before their first reading (nothing to do on SQLite)."""
    from forecourt.core import partitions
    from forecourt.core.clock import now
    from forecourt.core.db import transaction

    with transaction(sessions, write=True) as session:
        return {f"{table}_created": count
                for table, count in partitions.ensure_ahead(session=session, moment=now()).items()}


def event_cleanup(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.core import delivery, heartbeats
    from forecourt.core.clock import now
    from forecourt.core.db import transaction

    with transaction(sessions, write=True) as session:
        return {"events": delivery.forget_delivered(session=session,
                                                    older_than=now() - timedelta(days=settings.event_keep_days)),
                "heartbeats": heartbeats.forget_silent(session=session, older_than=now() - timedelta(days=1))}


def nps_escalation(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.core.db import transaction
    from forecourt.engagement.nps import follow_ups

    with transaction(sessions, write=True) as session:
        return {"escalated": follow_ups.escalate_overdue(session=session)}


def command_timeouts(sessions: sessionmaker[Session], settings: Settings) -> dict:
    from forecourt.core.db import transaction
    from forecourt.telematics import commands

    with transaction(sessions, write=True) as session:
        return {"timed_out": commands.expire_due(session=session)}


def sharing_trips(sessions: sessionmaker[Session], settings: Settings) -> dict:
    """Holds nobody confirmed free their cars; active trips follow their cars between driving and parked."""
    from forecourt.core.db import transaction
    from forecourt.sharing import reservations, trips

    with transaction(sessions, write=True) as session:
        return {"holds_expired": reservations.expire_holds(session=session),
                "trips_switched": trips.follow(session=session)}


def occasions(sessions: sessionmaker[Session], settings: Settings) -> dict:
    """Finds today's occasions, composes what is pending and sends the messages whose hold has passed."""
    from forecourt.core.clock import now, today
    from forecourt.core.db import transaction
    from forecourt.engagement import compose, delivery
    from forecourt.engagement import occasions as engagement_occasions

    with transaction(sessions, write=True) as session:
        found = engagement_occasions.detect(session=session, today=today(),
                                            control_share=settings.engagement_control_share)
    with transaction(sessions, write=True) as session:
        composed = compose.compose(session=session, today=today(),
                                   hold=timedelta(hours=settings.engagement_hold_hours))
    with transaction(sessions, write=True) as session:
        queued = compose.queued_runs(session=session)
    for run_id in queued:  # compositions the carmaker started from its page or the API
        compose.run_in_slices(sessions, run_id=run_id, today=today(),
                              hold=timedelta(hours=settings.engagement_hold_hours))
    with transaction(sessions, write=True) as session:
        sent = delivery.deliver_due(session=session, at=now(),
                                    quiet=(settings.engagement_quiet_from, settings.engagement_quiet_until))
    return {"occasions": sum(found.values()), "messages": composed["messages"], "sent": sent.get("sent", 0)}


# name -> (the setting holding its crontab line, the job)
SCHEDULE: dict[str, tuple[str, Callable]] = {
    "oncall_reminders": ("schedule_oncall_reminders", oncall_reminders),
    "recall_reminders": ("schedule_recall_reminders", recall_reminders),
    "proposal_expiry": ("schedule_proposal_expiry", proposal_expiry),
    "position_retention": ("schedule_position_retention", position_retention),
    "ledger_retention": ("schedule_ledger_retention", ledger_retention),
    "event_cleanup": ("schedule_event_cleanup", event_cleanup),
    "nps_escalation": ("schedule_nps_escalation", nps_escalation),
    "command_timeouts": ("schedule_command_timeouts", command_timeouts),
    "sharing_trips": ("schedule_sharing_trips", sharing_trips),
    "occasions": ("schedule_occasions", occasions),
    "partitions": ("schedule_partitions", partitions_ahead),
}
PUMPS: dict[str, Callable] = {"deliver_events": deliver_events, "send_outbox": send_outbox}
# A delivery round not finished after this is taken to be lost and queued again. Far longer than a
# round takes: two rounds of one worker side by side would only hold each other up.
ROUND_LOST_AFTER = 900.0


# --- the worker -------------------------------------------------------------------------------------

@dataclass
class Worker:
    settings: Settings
    sessions: sessionmaker[Session]
    huey: object
    pumps: dict = field(default_factory=dict)  # name -> Huey task
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, job: str, result: dict) -> None:
        with self.lock:
            self.counts[f"{job}_runs"] += 1
            for key, value in (result or {}).items():
                if isinstance(value, int):
                    self.counts[f"{job}_{key}"] += value


def build(settings: Settings, *, sessions: sessionmaker[Session] | None = None, immediate: bool = False) -> Worker:
    """The Huey instance with every task and periodic task registered (nothing starts yet)."""
    from forecourt.core import jobs
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.handlers import subscribe_all

    sessions = sessions or make_sessionmaker(get_engine(settings.database_url))
    subscribe_all(sessions, settings)  # the worker runs every handler, and events its jobs raise go at once
    huey = jobs.make_huey(settings, immediate=immediate)
    worker = Worker(settings=settings, sessions=sessions, huey=huey)

    def wrap(name: str, job: Callable) -> Callable:
        def run() -> dict:
            result = job(worker.sessions, worker.settings) or {}
            worker.record(name, result)
            if name in SCHEDULE or any(result.values()):
                log.info("%s: %s", name, result)
            return result
        run.__name__ = name
        return run

    for name, job in PUMPS.items():
        worker.pumps[name] = huey.task(name=name)(wrap(name, job))
    for name, (setting, job) in SCHEDULE.items():
        when = jobs.schedule(getattr(settings, setting))
        if when is not None:
            huey.periodic_task(when, retries=3, retry_delay=30, retry_backoff=2, name=name)(wrap(name, job))
    return worker


WAL_CHECKPOINT_SECONDS = 10.0


class _Ticker:
    """Queues the delivery rounds every poll interval (never a second round of one kind before the
    first finished) and writes the heartbeat; stops the worker when the process that started it is gone."""

    def __init__(self, worker: Worker, *, parent_pid: int | None, stop: threading.Event):
        from forecourt.core import heartbeats

        self.worker, self.parent_pid, self.stop = worker, parent_pid, stop
        self.name = heartbeats.process_name("worker")
        self.started_at = None
        self.waiting: dict[str, tuple[object, float]] = {}

    def run(self) -> None:
        from forecourt.core.clock import now

        self.started_at = now()
        settings = self.worker.settings
        next_beat = next_checkpoint = 0.0
        while not self.stop.is_set():
            if self.parent_pid and os.getppid() != self.parent_pid:  # orphaned: the parent is gone
                log.info("the process that started the worker (pid %s) is gone: stopping", self.parent_pid)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            for name, task in self.worker.pumps.items():
                self._queue(name, task)
            if time.monotonic() >= next_beat:
                self._beat()
                next_beat = time.monotonic() + settings.heartbeat_seconds
            if time.monotonic() >= next_checkpoint:
                self._checkpoint()
                next_checkpoint = time.monotonic() + WAL_CHECKPOINT_SECONDS
            self.stop.wait(settings.worker_poll_seconds)

    def _checkpoint(self) -> None:
        """On SQLite, the write-ahead log is copied into the database and cut back every few seconds,
        so it stays small however busy ingest and the web are (``core.db.checkpoint_wal``)."""
        from forecourt.core.db import checkpoint_wal, get_engine

        try:
            checkpoint_wal(get_engine(self.worker.settings.database_url))
        except Exception:  # a checkpoint is housekeeping: the next one tries again
            log.exception("checkpointing the write-ahead log failed")

    def _queue(self, name: str, task) -> None:
        waiting = self.waiting.get(name)
        if waiting is not None:
            result, since = waiting
            try:
                done = result.get() is not None
            except Exception:  # the round failed (logged by Huey): the next one tries again
                done = True
            if not done and time.monotonic() - since < ROUND_LOST_AFTER:
                return
        self.waiting[name] = (task(), time.monotonic())

    def _beat(self) -> None:
        from forecourt.core import heartbeats
        from forecourt.core.db import transaction

        try:
            with self.worker.lock:
                counters = dict(self.worker.counts)
            counters["queue_depth"] = self.worker.huey.pending_count()
            counters["scheduled"] = self.worker.huey.scheduled_count()
            with transaction(self.worker.sessions, write=True) as session:
                heartbeats.beat(session=session, role="worker", name=self.name, started_at=self.started_at,
                                counters=counters)
        except Exception:  # a missed beat is not a reason to stop working
            log.exception("the worker's heartbeat could not be written")

    def farewell(self) -> None:
        from forecourt.core import heartbeats
        from forecourt.core.db import transaction

        try:
            with transaction(self.worker.sessions, write=True) as session:
                heartbeats.forget(session=session, name=self.name)
        except Exception:
            log.exception("the worker's heartbeat could not be removed")


def run(settings: Settings, *, parent_pid: int | None = None) -> None:
    """Runs until SIGTERM or SIGINT (finishing the jobs in hand), or until ``parent_pid`` exits."""
    from huey.consumer import Consumer

    logging.getLogger("huey").setLevel(logging.WARNING)  # not a line per delivery round; our jobs log their work
    worker = build(settings)
    stop = threading.Event()
    ticker = _Ticker(worker, parent_pid=parent_pid, stop=stop)
    consumer = Consumer(worker.huey, workers=settings.worker_threads, periodic=True, worker_type="thread",
                        graceful_signal="TERM", scheduler_interval=1)
    thread = threading.Thread(target=ticker.run, name="forecourt-ticker", daemon=True)
    thread.start()
    try:
        consumer.run()
    finally:
        stop.set()
        thread.join(10)
        ticker.farewell()

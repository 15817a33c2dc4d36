"""What operators watch: liveness, background work, dead letters, and the Prometheus figures.

Beside the layers (like ``forecourt.worker``) because it reads several domains. Nothing here is
counted in the web process alone: ingest and the worker run in other processes (and on other
machines), so every figure is read from the database at scrape time — the rows themselves (events,
e-mails, cases, rejections) or the counters each process writes with its heartbeat. Counters from
heartbeats start again at zero when a process restarts, which Prometheus' ``rate()`` expects.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.orm import Session

from forecourt.core import delivery, heartbeats, outbox
from forecourt.core.config import Settings
from forecourt.parties import service as parties_service

INGEST_COUNTERS = {"messages": "Messages received", "stored": "Readings stored",
                   "duplicates": "Redelivered messages already stored", "rejected": "Messages refused"}


def health(*, session: Session, settings: Settings) -> dict:
    """For ``/api/health``: the database answers, and whether the worker and ingest beat lately."""
    beats = heartbeats.status(session=session, every_seconds=settings.heartbeat_seconds)
    return {"status": "ok", "database": "ok", "worker": beats["worker"], "ingest": beats["ingest"]}


def overview(*, session: Session, settings: Settings) -> dict:
    """The admin page's picture: processes, event and e-mail queues, and what is dead."""
    return {"processes": heartbeats.status(session=session, every_seconds=settings.heartbeat_seconds),
            "events": delivery.summary(session=session),
            "outbox": outbox.summary(session=session),
            "dead_events": delivery.list_events(session=session, status="dead"),
            "dead_messages": outbox.dead_letters(session=session)}


def replay(*, session: Session, principal, what: str, ident: int):
    """Gives a dead event (``what="event"``) or e-mail (``"message"``) fresh attempts, audited."""
    if what == "event":
        row = delivery.replay(session=session, event_id=ident)
        details = {"name": row.name}
    else:
        row = outbox.replay(session=session, message_id=ident)
        details = {"topic": row.topic}
    parties_service.audit(session=session, actor=principal, action=f"{what}.replay", target=f"{what}:{row.id}",
                          details=details)
    return row


class DatabaseCollector(Collector):
    """Reads the figures when Prometheus scrapes, in a session of its own."""

    def __init__(self, sessions: Callable[[], Session], settings: Settings):
        self.sessions, self.settings = sessions, settings

    def collect(self):
        from forecourt.assist import cases
        from forecourt.telematics import service as telematics_service

        with self.sessions() as session:
            every = self.settings.heartbeat_seconds
            beats = heartbeats.status(session=session, every_seconds=every)
            live = heartbeats.live_counters(session=session, every_seconds=every)
            events = delivery.summary(session=session)
            mail = outbox.summary(session=session)
            rejections = telematics_service.rejection_counts(session=session)
            open_cases = cases.open_by_age(session=session)

        up = GaugeMetricFamily("forecourt_process_up", "1 when a process of the role beat in the last three "
                                                       "heartbeat intervals", labels=["role"])
        for role, entry in beats.items():
            up.add_metric([role], 1.0 if entry["alive"] else 0.0)
        yield up

        for key, text in INGEST_COUNTERS.items():
            family = CounterMetricFamily(f"forecourt_ingest_{key}", f"{text} by an ingest process since it started "
                                                                    "(rate() gives the ingest rate)",
                                         labels=["process"])
            for role, name, counters in live:
                if role == "ingest":
                    family.add_metric([name], float(counters.get(key, 0)))
            yield family
        refused = CounterMetricFamily("forecourt_telemetry_rejections", "Telemetry refused, by channel (all "
                                                                          "processes, from the database)",
                                      labels=["channel"])
        for channel, count in sorted(rejections.items()):
            refused.add_metric([channel], float(count))
        yield refused

        yield _gauge("forecourt_events_pending", "Durable domain events not delivered yet", events["pending"])
        yield _gauge("forecourt_events_dead", "Domain events whose attempts are spent (replay in /admin/background)",
                     events["dead"])
        yield _gauge("forecourt_event_lag_seconds", "Age of the oldest undelivered domain event", events["lag_seconds"])
        yield _gauge("forecourt_outbox_pending", "E-mails waiting to be sent", mail["pending"])
        yield _gauge("forecourt_outbox_dead", "E-mails whose attempts are spent", mail["dead"])
        yield _gauge("forecourt_outbox_oldest_seconds", "Age of the oldest e-mail waiting", mail["oldest_seconds"])
        sent_again = CounterMetricFamily("forecourt_outbox_uncertain_sends", "E-mails sent again because a sender "
                                                                             "died during the hand-over (possible "
                                                                             "duplicates)")
        sent_again.add_metric([], float(mail["uncertain_sends"]))
        yield sent_again

        depth = GaugeMetricFamily("forecourt_jobs_queued", "Jobs waiting in the worker's queue, as the worker last "
                                                           "reported", labels=["process", "state"])
        for role, name, counters in live:
            if role == "worker":
                depth.add_metric([name, "queued"], float(counters.get("queue_depth", 0)))
                depth.add_metric([name, "scheduled"], float(counters.get("scheduled", 0)))
        yield depth

        by_age = GaugeMetricFamily("forecourt_cases_open", "Open On Call cases by status and age",
                                   labels=["status", "age"])
        for (status, band), count in sorted(open_cases.items()):
            by_age.add_metric([status, band], float(count))
        yield by_age


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text)
    family.add_metric([], float(value))
    return family


def registry(sessions: Callable[[], Session], settings: Settings, *extra: Collector) -> CollectorRegistry:
    """A registry of its own per app (not the client's global one), so tests can build many apps.
    ``extra``: collectors of what the serving process itself counts (its refusals)."""
    out = CollectorRegistry(auto_describe=False)
    out.register(DatabaseCollector(sessions, settings))
    for collector in extra:
        out.register(collector)
    return out

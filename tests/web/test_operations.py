"""``/api/health`` and ``/metrics`` read what other processes wrote: heartbeats, events, e-mails, cases."""

from __future__ import annotations

import json
from datetime import timedelta

from forecourt.assist import intake
from forecourt.core.clock import now
from forecourt.core.heartbeats import Heartbeat
from forecourt.telematics.ingest import reject


def _beat(session, role: str, name: str, ago: timedelta, counters: dict) -> None:
    session.add(Heartbeat(name=name, role=role, started_at=now() - timedelta(hours=1), beat_at=now() - ago,
                          counters=json.dumps(counters)))


def test_health_says_which_processes_beat_lately(client, session):
    before = client.get("/api/health").json()
    assert before["status"] == "ok" and before["worker"]["alive"] is False and before["ingest"]["alive"] is False
    _beat(session, "worker", "worker@test:1", timedelta(seconds=5), {})
    _beat(session, "ingest", "ingest@test:2", timedelta(minutes=5), {})  # silent for 5 minutes: dead
    session.commit()
    health = client.get("/api/health").json()
    assert health["worker"]["alive"] is True and health["worker"]["processes"] == 1
    assert health["ingest"]["alive"] is False and health["ingest"]["last_beat"] is not None


def test_metrics_carry_ingest_counters_rejections_and_open_cases_by_age(client, session, make):
    _beat(session, "ingest", "ingest@test:3", timedelta(seconds=1),
          {"messages": 1200, "stored": 1100, "duplicates": 90, "rejected": 10})
    reject(session=session, channel="mqtt", device_id="WX", reason="bad json")
    car = make.vehicle(owner=make.customer())
    intake.raise_alert(session=session, vehicle_id=car.id, kind="sos", source="phone", at=now(),
                       latitude=52.5, longitude=13.4)
    session.commit()
    text = client.get("/metrics").text
    assert 'forecourt_ingest_messages_total{process="ingest@test:3"} 1200.0' in text
    assert 'forecourt_ingest_rejected_total{process="ingest@test:3"} 10.0' in text
    assert 'forecourt_telemetry_rejections_total{channel="mqtt"}' in text
    assert 'forecourt_cases_open{age="under_5m",status="open"}' in text
    assert 'forecourt_process_up{role="ingest"} 1.0' in text
    for name in ("forecourt_event_lag_seconds", "forecourt_outbox_pending", "forecourt_outbox_dead",
                 "forecourt_events_dead", "forecourt_outbox_uncertain_sends_total"):
        assert f"\n{name} " in text, name

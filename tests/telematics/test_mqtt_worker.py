"""The ingest worker against the machine's real Mosquitto: stores, rejects clearly, keeps going."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker
from forecourt.telematics.models import Rejection, Sample, TwinSignal
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import committed_fleet, publish_all, run_until_idle, sample

def test_the_worker_stores_what_cars_publish_and_refuses_the_rest_clearly(fresh_database_url, tmp_path):
    with private_mosquitto(tmp_path) as broker:  # counts every message: no other test's cars on this broker
        _stores_and_refuses(fresh_database_url("mqtt"), broker)


def test_every_qos_is_stored_and_nothing_stored_is_delivered_again(fresh_database_url, tmp_path):
    """QoS 1 messages are acknowledged by the worker itself, a batch's PUBACKs in one write after its
    commit; QoS 0 takes gmqtt's own path (a QoS 2 publish arrives at the subscription's QoS 1).
    All are stored, and the same session, reconnected, holds nothing more: every PUBACK arrived."""
    url = fresh_database_url("mqtt")
    vins = committed_fleet(url, cars=1)
    sessions = make_sessionmaker(get_engine(url))
    client_id = f"test-ingest-{uuid.uuid4().hex[:8]}"
    with private_mosquitto(tmp_path) as broker:
        def worker():
            return MqttIngestWorker(broker=BrokerAddress.parse(broker), sessions=sessions, client_id=client_id)

        finished = run_until_idle(worker(), idle_seconds=2.0)
        for qos, numbers in ((0, range(0, 5)), (1, range(5, 10)), (2, range(10, 15))):
            publish_all(broker, [(f"vehicles/{vins[0]}/telemetry", sample(i)) for i in numbers], qos=qos)
        stats = finished()
        assert (stats.messages, stats.stored, stats.duplicates) == (15, 15, 0)
        assert run_until_idle(worker(), idle_seconds=2.0)().messages == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Sample)
                              .where(Sample.path == "Vehicle.TraveledDistance")) == 15


def _stores_and_refuses(url: str, broker: str) -> None:
    vins = committed_fleet(url, cars=2)
    sessions = make_sessionmaker(get_engine(url))
    worker = MqttIngestWorker(broker=BrokerAddress.parse(broker), sessions=sessions,
                              client_id=f"test-ingest-{uuid.uuid4().hex[:8]}")
    finished = run_until_idle(worker, idle_seconds=3.0)
    publish_all(broker, [*((f"vehicles/{vins[i % 2]}/telemetry", sample(i)) for i in range(20)),
                         (f"vehicles/{vins[0]}/telemetry", b"{not json"),
                         (f"vehicles/{vins[0]}/telemetry", b'{"timestamp": 1763625600, "Vehicle.Nope": 1}'),
                         ("vehicles/WFC1A2B30RA999999/telemetry", sample(99))])
    stats = finished()
    assert (stats.messages, stats.stored, stats.rejected) == (23, 20, 3)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Sample)
                              .where(Sample.path == "Vehicle.TraveledDistance")) == 20
        reasons = list(session.scalars(select(Rejection.reason).where(Rejection.channel == "mqtt")))
        assert len(reasons) == 3
        assert any("Vehicle.Nope" in r for r in reasons)
        assert any("unknown embedded device" in r for r in reasons)
        newest = session.scalars(select(TwinSignal).where(TwinSignal.path == "Vehicle.TraveledDistance")
                                 .order_by(TwinSignal.measured_at.desc())).first()
        assert newest.value == 1_000_000 + 19

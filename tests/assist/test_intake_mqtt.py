"""eCall and SOS over the machine's real Mosquitto: the ingest worker with the assist topic handler (as
``forecourt ingest`` wires it) turns eCalls (JSON and a binary MSD) on ``vehicles/{VIN}/ecall`` and
an SOS event on the telemetry topic into cases; an eCall for an unknown VIN is recorded as a rejection."""

from __future__ import annotations

import json
import threading
import uuid

from sqlalchemy import select

from forecourt.assist import ecall, handlers, intake
from forecourt.assist.models import Case
from forecourt.handlers import subscribe_all
from forecourt.core.clock import now
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker
from forecourt.telematics.models import Rejection
from forecourt.vehicles.models import Vehicle
from tests.telematics.decoders.msd_bits import Msd
from tests.telematics.fleet import committed_fleet, publisher

BROKER = "mqtt://127.0.0.1:1883"


def test_an_ecall_and_an_sos_over_mqtt_open_cases(fresh_database_url):
    url = fresh_database_url("ecall")
    crashed, pressed = committed_fleet(url, cars=2)
    sessions = make_sessionmaker(get_engine(url))
    subscribe_all(sessions)
    worker = MqttIngestWorker(broker=BrokerAddress.parse(BROKER), sessions=sessions,
                              client_id=f"test-ecall-{uuid.uuid4().hex[:8]}",
                              topic_handlers={ecall.ECALL_TOPIC: ecall.from_mqtt})
    stop = threading.Event()
    thread = threading.Thread(target=lambda: worker.run(stop, idle_exit_seconds=2.0))
    thread.start()
    assert worker.connected.wait(10), "the worker did not connect to Mosquitto on 127.0.0.1:1883"
    cars = publisher(BROKER, f"test-car-{uuid.uuid4().hex[:8]}")
    fields = {"automatic_activation": True, "timestamp": int(now().timestamp()), "vin": crashed,
           "position": {"latitude": 48.137, "longitude": 11.575}, "number_of_passengers": "two"}
    sos = {"timestamp": now().isoformat(), "Vehicle.CurrentLocation.Latitude": 52.5,
           "Vehicle.CurrentLocation.Longitude": 13.4, "events": ["sos"]}
    try:
        infos = [cars.publish(f"vehicles/{crashed}/ecall", json.dumps(fields), qos=1),
                 cars.publish(f"vehicles/{pressed}/telemetry", json.dumps(sos), qos=1),
                 cars.publish(f"vehicles/{pressed}/ecall", Msd(vin=pressed, automatic=False,
                                                                timestamp=int(now().timestamp())).encoded(), qos=1),
                 cars.publish("vehicles/WFC1A2B30RA999999/ecall", json.dumps(fields), qos=1)]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        cars.loop_stop()
        cars.disconnect()
    thread.join(30)
    assert not thread.is_alive()
    with sessions() as session:
        vins = dict(session.execute(select(Vehicle.id, Vehicle.vin)).all())
        by_vin = {vins[c.vehicle_id]: c for c in session.scalars(select(Case))}
        assert by_vin[crashed].kind == "crash" and by_vin[crashed].latitude == 48.137
        assert by_vin[crashed].source == "ecall" and any("passengers" in p for p in by_vin[crashed].problems)
        reasons = list(session.scalars(select(Rejection.reason).where(Rejection.channel == "mqtt")))
        assert any("WFC1A2B30RA999999" in r for r in reasons)
        assert by_vin[pressed].kind == "sos" and by_vin[pressed].activation == "manual"
        assert by_vin[pressed].vehicle_data["vin"] == pressed  # the binary MSD joined the SOS's case
        assert len(by_vin) == 2

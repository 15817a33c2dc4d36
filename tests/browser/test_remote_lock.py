"""The owner unlocks and locks their car from its page on a phone, in a real Chromium: the command goes
out over a real Mosquitto, the car's answer comes back through the ingest worker, and the page shows
it without a reload; a car that stays silent reads as not acknowledged in time."""

from __future__ import annotations

import json
import queue
import threading
import uuid

import pytest
from playwright.sync_api import expect

from forecourt.core import events
from forecourt.core.config import get_settings
from forecourt.core.db import transaction
from forecourt.messaging import notify
from forecourt.telematics import commands, devices
from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import log_in
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import publisher

pytestmark = pytest.mark.browser

PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True,
             user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/120.0 Mobile Safari/537.36")


class Car:
    """The car's unit on the broker: it takes its commands and answers when the test says so."""

    def __init__(self, broker: str, vin: str):
        self.vin = vin
        self.received: queue.Queue = queue.Queue()
        self.client = publisher(broker, f"test-car-{uuid.uuid4().hex[:8]}")
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = lambda _c, _u, message: self.received.put(json.loads(message.payload))
        self.client.subscribe(f"vehicles/{vin}/commands", qos=1)
        assert subscribed.wait(10), "the car did not subscribe"

    def command(self) -> dict:
        return self.received.get(timeout=15)

    def answer(self, command: dict, result: str = "ok") -> None:
        self.client.publish(f"vehicles/{self.vin}/commands/ack", json.dumps({"id": command["id"], "result": result}),
                            qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_the_owner_unlocks_from_the_phone_sees_the_car_confirm_and_a_silent_lock_time_out(
        new_context, world, live_server, seed_sessions, tmp_path):
    with transaction(seed_sessions, write=True) as session:
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        devices.register(session=session, kind=Source.EMBEDDED, identifier=world.vin, vehicle_id=vehicle.id)
    original = live_server.app.state.settings
    factory = lambda: live_server.app.state.sessionmaker()  # noqa: E731 - the sender's session source
    with private_mosquitto(tmp_path) as broker:
        settings = get_settings(**(original.model_dump() | {"mqtt_url": broker, "command_deadline_seconds": 8}))
        live_server.app.state.settings = settings
        notify.subscribe_handlers(events.bus, factory, settings)  # commands leave for this broker
        worker = MqttIngestWorker(broker=BrokerAddress.parse(broker), sessions=seed_sessions,
                                  client_id=f"test-ingest-{uuid.uuid4().hex[:8]}",
                                  topic_handlers={commands.ACK_TOPIC: commands.from_mqtt})
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        car = None
        try:
            assert worker.connected.wait(10), "the ingest worker did not connect to the private Mosquitto"
            car = Car(broker, world.vin)
            page = new_context(**PHONE).new_page()
            violations: list[str] = []
            page.on("console", lambda message: violations.append(message.text)
                    if "Content Security Policy" in message.text else None)
            log_in(page, world.customer_email)
            page.goto(f"/me/vehicles/{world.vin}")
            expect(page.get_by_role("heading", name="Lock and unlock")).to_be_visible()
            unlock = page.get_by_role("button", name="Unlock")
            expect(unlock).to_be_visible()
            box = unlock.bounding_box()
            assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 390, box  # a thumb's target

            unlock.tap()
            page.wait_for_url(lambda url: "?command=" in url)
            status = page.locator("#command-status")
            expect(status).to_have_attribute("data-state", "waiting")
            expect(status).to_contain_text("Unlock")
            page.evaluate("window.__stillTheSamePage = true")
            sent = car.command()
            assert (sent["action"], str(sent["id"])) == ("unlock", page.url.split("?command=")[1].split("#")[0])
            car.answer(sent)
            expect(status).to_have_attribute("data-state", "done", timeout=15_000)
            expect(status).to_contain_text("Done: the car confirmed it is unlocked.")
            assert page.evaluate("window.__stillTheSamePage === true"), "the page was reloaded"

            page.get_by_role("button", name="Lock the car").tap()
            page.wait_for_url(lambda url: f"?command={sent['id']}" not in url)
            expect(status).to_contain_text("Lock the car")
            silent = car.command()  # it arrives, and the car never answers
            assert silent["action"] == "lock"
            expect(status).to_have_attribute("data-state", "waiting")
            expect(status).to_have_attribute("data-state", "failed", timeout=30_000)
            expect(status).to_contain_text("Not acknowledged in time")
            with seed_sessions() as session:
                assert commands.get(session=session, command_id=silent["id"]).status == "timed_out"
            assert violations == []
        finally:
            if car is not None:
                car.close()
            stop.set()
            thread.join(15)
            live_server.app.state.settings = original
            notify.subscribe_handlers(events.bus, factory, original)

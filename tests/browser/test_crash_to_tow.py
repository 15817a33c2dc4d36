"""A crash published through Mosquitto appears on an agent's open console without a reload; the agent
acknowledges it and dispatches a tow from the case page, and the receiving dealer sees the car coming.

Real pieces end to end: a private Mosquitto, the MQTT ingest worker (with On Call's handlers, as
``forecourt ingest`` runs them), the live server with its server-sent event stream, and Chromium.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.handlers import subscribe_all
from forecourt.assist.models import Case

from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from forecourt.telematics import devices
from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_live_trip import _carmaker
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import publisher

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
CRASH_AT = (53.5600, 10.0000)  # a kilometre from the owner's service dealer in Hamburg


@pytest.fixture
def on_call(world, seed_sessions) -> dict:
    """An agent at the carmaker, a towing partner near the crash, the world's car with an embedded unit."""
    tag = uuid.uuid4().hex[:6].upper()
    with transaction(seed_sessions) as session:
        carmaker = _carmaker(session)
        agent = parties_service.create_user(session=session, email=f"agent-{tag.lower()}@maker.example",
                                            password=PASSWORD, display_name="Alex Agent",
                                            role=Role.CALL_CENTRE_AGENT, organization_id=carmaker.id)
        tow = parties_service.create_organization(session=session, values=dict(
            kind="partner", partner_kind="roadside", code=f"TOW-{tag}", name=f"Abschleppdienst {tag}",
            city="Hamburg", latitude=53.5650, longitude=10.0050, opening_hours={}, service_bays=0))
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
        return {"agent_email": agent.email, "tow_name": tow.name, "vehicle_id": vehicle.id}


def _crash_payload() -> bytes:
    return json.dumps({"timestamp": now().isoformat(), "events": ["crash"], "Vehicle.Speed": 0.0,
                       "Vehicle.CurrentLocation.Latitude": CRASH_AT[0],
                       "Vehicle.CurrentLocation.Longitude": CRASH_AT[1]}).encode()


def _case_number(seed_sessions, vehicle_id: int, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with seed_sessions() as session:
            number = session.scalar(select(Case.number).where(Case.vehicle_id == vehicle_id))
        if number:
            return number
        time.sleep(0.1)
    pytest.fail("no case was opened for the crash within 15 s")


def test_a_crash_reaches_the_console_and_the_tow_reaches_the_dealer(new_context, world, on_call, seed_sessions,
                                                                    tmp_path):
    SHOTS.mkdir(exist_ok=True)
    violations: list[str] = []
    context = new_context()
    context.grant_permissions(["notifications"])
    # Count the browser notifications the page raises (headless Chromium shows none to look at).
    context.add_init_script("""(() => { const Real = window.Notification; window.__notes = [];
        function Counted(title, options) { window.__notes.push(title); return new Real(title, options); }
        Counted.permission = Real.permission; Counted.requestPermission = (...a) => Real.requestPermission(...a);
        window.Notification = Counted; })();""")
    agent = context.new_page()
    agent.on("console", lambda message: violations.append(message.text)
             if "Content Security Policy" in message.text else None)
    log_in(agent, on_call["agent_email"])
    agent.get_by_role("link", name="On Call console").click()
    expect(agent.get_by_role("heading", name="On Call console")).to_be_visible()
    expect(agent.locator("#live-state")).to_have_attribute("data-state", "live")
    agent.evaluate("window.__stillTheSamePage = true")
    alerts = agent.get_by_role("button", name="Turn on sound and notifications for new cases")
    alerts.click()
    expect(agent.locator("#alerts-toggle")).to_have_attribute("aria-pressed", "true")

    # the ingest worker, as `forecourt ingest` runs it: On Call's handlers open cases from its events
    subscribe_all(seed_sessions)
    with private_mosquitto(tmp_path) as broker:
        worker = MqttIngestWorker(broker=BrokerAddress.parse(broker), sessions=seed_sessions,
                                  client_id=f"test-ingest-{uuid.uuid4().hex[:8]}")
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        try:
            assert worker.connected.wait(10), "the ingest worker did not connect to the private Mosquitto"
            car = publisher(broker, f"test-car-{uuid.uuid4().hex[:8]}")
            try:
                car.publish(f"vehicles/{world.vin}/telemetry", _crash_payload(), qos=1).wait_for_publish(10)
            finally:
                car.loop_stop()
                car.disconnect()
            number = _case_number(seed_sessions, on_call["vehicle_id"])
        finally:
            stop.set()
            thread.join(15)

    # the case appears on the open console, pushed by the stream, without a reload
    row = agent.locator(f'#queue tr[data-case="{number}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text("Crash")
    expect(row).to_have_class(re.compile("p-crash"))
    assert agent.evaluate("window.__stillTheSamePage === true"), "the console was reloaded"
    # announced on the page, and as a browser notification, since the agent turned them on
    expect(agent.locator("#new-case-alert")).to_have_text(f"New case: Crash {number}")
    assert agent.evaluate("window.__notes") == [f"New case: Crash {number}"]
    agent.screenshot(path=str(SHOTS / "console-queue.png"), full_page=True)

    # the agent opens it: the customer card under vital interest, the car, the map, the providers
    row.get_by_role("link", name=number).click()
    expect(agent).to_have_url(re.compile(rf"/console/cases/{number}$"))
    expect(agent.locator("#customer-card")).to_contain_text("Mara")
    expect(agent.locator("#vehicle-card")).to_contain_text(world.vin)
    expect(agent.locator("#vehicle-card")).to_contain_text("high-voltage battery")
    expect(agent.locator("#case-map")).not_to_have_attribute("data-markers-placed", "0")
    # where the car is, in words an agent can say on the phone (the crash is in Hamburg's St. Georg)
    expect(agent.locator("#case-place")).to_have_text("1 km north-west of St. Georg (DE)")
    # the one obvious action: the nearest help a crash calls for (here no emergency service is nearby,
    # so the nearest tow)
    expect(agent.locator("#dispatch-nearest")).to_contain_text(on_call["tow_name"])
    agent.get_by_role("button", name="Acknowledge").click()
    expect(agent.locator("#case-status")).to_have_attribute("data-status", "acknowledged")

    tow_row = agent.locator('table[data-kind="towing"] tr', has_text=on_call["tow_name"])
    tow_row.get_by_role("button", name="Dispatch").click()
    expect(agent.locator("#case-status")).to_have_attribute("data-status", "dispatched")
    expect(agent.locator("#dispatched")).to_contain_text(on_call["tow_name"])
    expect(agent.locator("#dispatched")).to_contain_text(world.dealer_name)
    agent.screenshot(path=str(SHOTS / "console-case.png"), full_page=True)
    assert violations == []

    # the receiving dealer sees the car coming
    dealer = new_context().new_page()
    log_in(dealer, world.rep_email)
    dealer.get_by_role("link", name="Incoming").click()
    expect(dealer.get_by_text(world.vin)).to_be_visible()
    expect(dealer.locator("body")).to_contain_text(on_call["tow_name"])
    dealer.screenshot(path=str(SHOTS / "incoming-dealer.png"), full_page=True)

"""A live Forecourt on a free local port, a real Chromium, and a way to seed committed data.

The server runs in a background thread on its own fresh database (SQLite or PostgreSQL, whichever
the run uses), so a browser sees exactly what a person would.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import uvicorn

from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from forecourt.web.app import create_app

CHROMIUM = os.environ.get("FORECOURT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "browser-test-password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    database_url: str
    app: object = None  # for a test that must point one setting elsewhere (and restores it)


@pytest.fixture(scope="session")
def live_database_url(fresh_database_url) -> str:
    return fresh_database_url("browser")


@pytest.fixture(scope="session")
def live_server(live_database_url, tmp_path_factory):
    app = create_app(get_settings(database_url=live_database_url, photos_dir=str(tmp_path_factory.mktemp("photos"))))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, name="forecourt-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"The live server did not start on 127.0.0.1:{port}.")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", database_url=live_database_url, app=app)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def seed_sessions(live_database_url):
    """Sessions on the live server's database; seeding commits, so the server sees the rows."""
    return make_sessionmaker(get_engine(live_database_url))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; run 'make chromium' (Debian's chromium package).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser, live_server):
    """``new_context()`` opens a separate browser profile (own cookies) pointed at the live server."""
    opened = []

    def make(**options):
        """``options`` as Playwright takes them, e.g. a Korean browser: locale="ko-KR", timezone_id="Asia/Seoul"."""
        context = browser.new_context(base_url=live_server.url, accept_downloads=True, **options)
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@dataclass
class World:
    """What a scenario needs, by id: a dealer with a sales rep, and a driver who bought a car there."""

    dealer_id: int
    dealer_name: str
    rep_email: str
    customer_id: int
    customer_email: str
    customer_name: str
    vin: str


def _vin(tag: str) -> str:
    return vehicles_service.with_check_digit(f"WFC1B2C30RB{tag}")


@pytest.fixture
def world(seed_sessions) -> World:
    tag = uuid.uuid4().hex[:6].upper()
    digits = f"{int(tag, 16) % 1_000_000:06d}"
    with transaction(seed_sessions) as session:
        dealer = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"DLR-{tag}", name=f"Autohaus {tag}", city="Hamburg", latitude=53.55,
            longitude=9.99, opening_hours={}, service_bays=4))
        rep = parties_service.create_user(session=session, email=f"rep-{tag.lower()}@dealer.example",
                                          password=PASSWORD, display_name="Rita Rep", role=Role.DEALER_SALES,
                                          organization_id=dealer.id)
        customer = customers_service.sign_up(session=session, email=f"mara-{tag.lower()}@driver.example",
                                             password=PASSWORD,
                                             profile=dict(first_name="Mara", last_name=f"Lind{tag}", city="Kiel"))
        model = vehicles_service.create_model(session=session, code=f"M-{tag}", name="Aurora", body="hatchback",
                                              year_from=2020)
        trim = vehicles_service.create_trim(session=session, model_id=model.id, code=f"T-{tag}", name="Comfort",
                                            propulsion="electric", year_from=2020, base_price=35_000)
        vehicle = vehicles_service.register(session=session, vin=_vin(digits), trim_id=trim.id, model_year=2024)
        vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=customer.id,
                                  at=now() - timedelta(days=200), dealer_id=dealer.id)
        consent_service.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                             purpose_code="sales_contact", method="test")
        return World(dealer_id=dealer.id, dealer_name=dealer.name, rep_email=rep.email, customer_id=customer.id,
                     customer_email=customer.email, customer_name=f"{customer.last_name}, {customer.first_name}",
                     vin=vehicle.vin)

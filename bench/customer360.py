"""Customer 360 latency: what a dealer's service advisor waits for when opening one customer.

Three variants are timed in interleaved rounds (so a burst of noise on a shared machine hits
all of them alike), each for the same customer in a round:

* ``json``: ``GET /api/customers/{id}`` with a bearer token, through HTTP, auth, the consent
  door (grant check and access-log write) and serialisation;
* ``html``: ``GET /workspace/customers/{id}`` with a session cookie, the same plus the template;
* ``html_ko``: the same page read in Korean (``Accept-Language: ko``), so translating every text
  is priced against English in the same run (the budget: within 10 % of ``html``);
* ``baseline``: the customer row, current cars and their service history fetched with raw SQL
  through the same engine — no HTTP, no consent, no ORM — the floor the others are compared to.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from random import Random

import httpx
from rich.progress import Progress
from sqlalchemy import bindparam, func, select, text

from bench.report import summarise
from bench.server import serving
from forecourt.consent.models import Grant
from forecourt.core.config import Settings
from forecourt.core.db import get_engine
from forecourt.customers.models import Customer
from forecourt.demo.network import demo_logins
from forecourt.parties.models import User
from forecourt.vehicles.models import Vehicle

PURPOSE = "service_reminders"  # the dealer service advisor's usual purpose, and the widest 360
JSON_PATH = "/api/customers/{id}"
HTML_PATH = "/workspace/customers/{id}"
ENGLISH, KOREAN = {"Accept-Language": "en"}, {"Accept-Language": "ko-KR,ko;q=0.9"}

_CUSTOMER = text("SELECT id, first_name, last_name, email, phone, street, postcode, city, country, birth_date, "
                 "language, created_at FROM customers WHERE id = :id")
_CARS = text("SELECT v.id, v.vin, v.model_year, v.colour, v.registration, v.production_date, "
             "v.selling_dealer_id, v.service_dealer_id, t.name AS trim_name, t.propulsion, m.name AS model_name, "
             "o.started_at, o.ended_at FROM ownerships o JOIN vehicles v ON v.id = o.vehicle_id "
             "JOIN trims t ON t.id = v.trim_id JOIN vehicle_models m ON m.id = t.model_id "
             "WHERE o.customer_id = :id AND o.ended_at IS NULL ORDER BY o.started_at DESC")
_HISTORY = text("SELECT id, vehicle_id, dealer_id, performed_on, odometer_km, kind, summary, operations, "
                "total_cost FROM service_records WHERE vehicle_id IN :ids "
                "ORDER BY performed_on DESC, id DESC").bindparams(bindparam("ids", expanding=True))


@dataclass(frozen=True)
class Reader:
    email: str
    organization_id: int


def _reader(settings: Settings) -> Reader:
    """The first dealer's service advisor from the demo logins."""
    email = next(login.email for login in demo_logins() if login.role == "dealer service")
    with get_engine(settings.database_url).connect() as conn:
        organization_id = conn.scalar(select(User.organization_id).where(User.email == email))
    if organization_id is None:
        raise RuntimeError(f"{email} is missing; the benchmark needs a database built by the demo network")
    return Reader(email=email, organization_id=organization_id)


def sample_customers(settings: Settings, reader: Reader, count: int, seed: int = 1) -> list[int]:
    """Customers who allowed the reader's dealer the purpose, spread over the whole table."""
    with get_engine(settings.database_url).connect() as conn:
        ids = list(conn.scalars(select(Grant.customer_id).where(
            Grant.organization_id == reader.organization_id, Grant.purpose_code == PURPOSE,
            Grant.withdrawn_at.is_(None)).order_by(Grant.customer_id)))
    if not ids:
        raise RuntimeError("No customer has granted the benchmark dealer; is this a demo database?")
    return Random(seed).sample(ids, min(count, len(ids)))


def _baseline(engine, customer_id: int) -> None:
    with engine.connect() as conn:
        conn.execute(_CUSTOMER, {"id": customer_id}).one()
        cars = conn.execute(_CARS, {"id": customer_id}).all()
        if cars:
            conn.execute(_HISTORY, {"ids": [car.id for car in cars]}).all()


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:300]}")


def _log_in(base_url: str, reader: Reader, password: str) -> tuple[httpx.Client, httpx.Client]:
    api = httpx.Client(base_url=base_url, timeout=30)
    response = api.post("/api/auth/token", json={"email": reader.email, "password": password})
    _check(response, "POST /api/auth/token")
    api.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    pages = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
    form = re.search(r'name="form_token" value="([^"]+)"', pages.get("/login").text)
    response = pages.post("/login", data={"email": reader.email, "password": password,
                                          "form_token": form.group(1) if form else ""})
    if response.status_code != 303 or "fc_session" not in pages.cookies:
        raise RuntimeError(f"POST /login did not start a session ({response.status_code})")
    return api, pages


def _counts(settings: Settings) -> dict:
    with get_engine(settings.database_url).connect() as conn:
        return {"customers": conn.scalar(select(func.count(Customer.id))),
                "vehicles": conn.scalar(select(func.count(Vehicle.id)))}


def measure(settings: Settings, *, requests: int, warmup: int, progress: Progress | None = None,
            label: str = "") -> dict:
    """Times every variant ``requests`` times after ``warmup`` untimed rounds; returns the figures."""
    reader = _reader(settings)
    customers = sample_customers(settings, reader, count=max(requests, 1))
    engine = get_engine(settings.database_url)
    timings: dict[str, list[float]] = {"json": [], "html": [], "html_ko": [], "baseline": []}
    task = progress.add_task(f"{label} customer 360", total=warmup + requests) if progress else None
    with serving(settings) as (base_url, app):
        api, pages = _log_in(base_url, reader, settings.demo_password)
        # The same grant opens both; a 404 on the page alone means this build has no such page.
        _check(api.get(JSON_PATH.format(id=customers[0])), "JSON customer 360")
        has_html = pages.get(HTML_PATH.format(id=customers[0])).status_code != 404
        try:
            for round_number in range(warmup + requests):
                customer_id = customers[round_number % len(customers)]
                variants = {
                    "json": lambda: _check(api.get(JSON_PATH.format(id=customer_id)), "JSON customer 360"),
                    "baseline": lambda: _baseline(engine, customer_id),
                }
                if has_html:
                    variants["html"] = lambda: _check(pages.get(HTML_PATH.format(id=customer_id), headers=ENGLISH),
                                                      "HTML customer page")
                    variants["html_ko"] = lambda: _check(pages.get(HTML_PATH.format(id=customer_id), headers=KOREAN),
                                                         "HTML customer page in Korean")
                for name, call in variants.items():
                    started = time.perf_counter()
                    call()
                    elapsed = (time.perf_counter() - started) * 1000
                    if round_number >= warmup:
                        timings[name].append(elapsed)
                if task is not None:
                    progress.advance(task)
        finally:
            api.close()
            pages.close()
    figures: dict = {**_counts(settings), "reader": reader.email, "purpose": PURPOSE,
                     "distinct_customers": len(customers)}
    for name, values in timings.items():
        figures.update(summarise(name, values))
    english, korean = figures.get("html_p50_ms"), figures.get("html_ko_p50_ms")
    figures["korean_vs_english"] = round(korean / english, 3) if english and korean else None
    return figures

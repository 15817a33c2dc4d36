"""Car sharing's map search: the cars free around a point, with 500 hubs and 20,000 cars
(``python -m bench --only sharing``).

Per engine a fresh database gets ``--hubs`` dealers with a hub each, ``--shared-cars`` cars spread over
them (each with a charge or fuel reading), and a quarter of the cars booked for the next three hours
(their 15-minute slots held). Then, in interleaved rounds for the same random point near a hub:

* ``search``: ``sharing.offers.nearby`` — what ``GET /api/sharing/hubs`` answers: the hubs within
  25 km with the cars free for the next hour, their model, fuel or charge, range and prices;
* ``baseline``: the same hubs and free cars fetched with one raw SQL statement through the same
  engine — no ORM, no model names, readings or prices — the floor the search is compared to.

The target: the search's p95 under 50 ms.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text

from bench import datasets, report

DATA_DIR = datasets.DATA_DIR
RESULTS = Path(__file__).resolve().parent / "results" / "sharing.json"
PG_URL = os.environ.get("FORECOURT_BENCH_SHARING_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/forecourt_bench_sharing")
TARGET_P95_MS = 50.0
RADIUS_KM = 25.0
BOOKED_SHARE = 0.25
# Germany, roughly: where the hubs are spread.
SOUTH, NORTH, WEST, EAST = 47.5, 54.8, 6.0, 15.0
BASELINE = text(
    "SELECT h.id, h.name, h.latitude, h.longitude, c.id FROM sharing_hubs h "
    "JOIN sharing_cars c ON c.hub_id = h.id AND c.out_of_service = :off "
    "WHERE h.is_active = :on AND h.latitude BETWEEN :s AND :n AND h.longitude BETWEEN :w AND :e "
    "AND NOT EXISTS (SELECT 1 FROM sharing_car_slots s WHERE s.car_id = c.id AND s.starts_at >= :a "
    "AND s.starts_at < :b)")


def default_url(engine: str) -> str:
    return f"sqlite:///{DATA_DIR / 'sharing.db'}" if engine == "sqlite" else PG_URL


def prepare(engine: str, url: str, *, hubs_count: int, cars: int, console: Console, seed: int = 7) -> dict:
    """A fresh database with the hubs, their cars, readings and bookings."""
    from forecourt.bootstrap import prepare_database
    from forecourt.core.config import get_settings
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.parties.models import Organization
    from forecourt.sharing import hubs
    from forecourt.sharing.models import CarSlot, Hub, Reservation, SharedCar, Tariff
    from forecourt.telematics.models import TwinSignal
    from forecourt.vehicles import service as vehicles_service
    from forecourt.vehicles.models import Vehicle

    started = time.perf_counter()
    rng = Random(seed)
    datasets._recreate(engine, url)
    settings = get_settings(database_url=url)
    prepare_database(settings)
    db = get_engine(url)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with make_sessionmaker(db)() as session:
        trims = []
        for i, (name, propulsion) in enumerate((("Aurora", "electric"), ("Terra", "hybrid"), ("Vela", "petrol"))):
            model = vehicles_service.create_model(session=session, code=f"BM{i}", name=name, body="suv",
                                                  year_from=2020)
            trims.append(vehicles_service.create_trim(session=session, model_id=model.id, code=f"BT{i}",
                                                      name="Comfort", propulsion=propulsion, year_from=2020,
                                                      base_price=40000))
        dealers = [Organization(kind="dealer", code=f"BENCH-{i}", name=f"Bench dealer {i}", city="Somewhere",
                                latitude=rng.uniform(SOUTH, NORTH), longitude=rng.uniform(WEST, EAST))
                   for i in range(hubs_count)]
        session.add_all(dealers)
        session.flush()
        session.execute(insert(Hub), [dict(dealer_id=d.id, name=d.name, latitude=d.latitude, longitude=d.longitude,
                                           geofence=[], hold_minutes=15, low_energy_percent=25,
                                           outside_return="refuse", is_active=True, created_at=now)
                                      for d in dealers])
        hub_ids = list(session.scalars(text("SELECT id FROM sharing_hubs ORDER BY id")))
        session.execute(insert(Tariff), [dict(hub_id=h, kind=kind, currency="EUR", **hubs._amounts(
            hubs.DEFAULT_MINUTE["EUR"] if kind == "minute" else {"included_km": 400}))
            for h in hub_ids for kind in ("minute", "test_drive")])
        session.execute(insert(Vehicle), [dict(vin=f"BENCH{n:012d}", trim_id=trims[n % 3].id, model_year=2025,
                                               registration=f"B-SH {n}", created_at=now) for n in range(cars)])
        vehicles = list(session.execute(text("SELECT id, trim_id, registration FROM vehicles WHERE vin LIKE 'BENCH%' "
                                             "ORDER BY id")))
        names = {t.id: vehicles_service.get_trim(session=session, trim_id=t.id).model.name for t in trims}
        by_trim = {t.id: t for t in trims}
        session.execute(insert(SharedCar), [dict(hub_id=hub_ids[i % len(hub_ids)], vehicle_id=v.id,
                                                 model_id=by_trim[v.trim_id].model_id,
                                                 propulsion=by_trim[v.trim_id].propulsion,
                                                 model_name=names[v.trim_id], trim_name=by_trim[v.trim_id].name,
                                                 title=f"2025 {names[v.trim_id]} {by_trim[v.trim_id].name}",
                                                 registration=v.registration, out_of_service=False,
                                                 service_note="", needs="", added_at=now)
                                            for i, v in enumerate(vehicles)])
        session.execute(insert(TwinSignal), [dict(
            vehicle_id=v.id, path=("Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
                                   if by_trim[v.trim_id].propulsion == "electric"
                                   else "Vehicle.Powertrain.FuelSystem.RelativeLevel"),
            value=rng.randint(20, 100), measured_at=now) for v in vehicles])
        car_ids = list(session.scalars(text("SELECT id FROM sharing_cars ORDER BY id")))
        booked = rng.sample(car_ids, int(len(car_ids) * BOOKED_SHARE))
        hub_of = dict(session.execute(text("SELECT id, hub_id FROM sharing_cars")).all())
        session.execute(insert(Reservation), [dict(
            number=f"SH-B{n:08d}", customer_id=None, car_id=car_id, hub_id=hub_of[car_id], kind="minute",
            status="booked", starts_at=hubs.floor_slot(now), ends_at=hubs.floor_slot(now) + timedelta(hours=3),
            tariff={}, share_summary=False, car_unlocked=False, created_at=now) for n, car_id in enumerate(booked)])
        reservation_of = dict(session.execute(text("SELECT car_id, id FROM sharing_reservations")).all())
        session.execute(insert(CarSlot), [dict(car_id=car_id, starts_at=hubs.floor_slot(now) + step * timedelta(
            minutes=15), reservation_id=reservation_of[car_id]) for car_id in booked for step in range(12)])
        session.commit()
    with db.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
        counts = {"hubs": conn.scalar(text("SELECT COUNT(*) FROM sharing_hubs")),
                  "cars": conn.scalar(text("SELECT COUNT(*) FROM sharing_cars")),
                  "held_slots": conn.scalar(text("SELECT COUNT(*) FROM sharing_car_slots"))}
    seconds = round(time.perf_counter() - started, 1)
    console.print(f"[dim]{engine}: {counts['hubs']:,} hubs, {counts['cars']:,} cars, {counts['held_slots']:,} "
                  f"held slots in {seconds} s[/dim]")
    return {**counts, "built_seconds": seconds}


def measure(engine: str, url: str, *, requests: int, warmup: int, seed: int = 11) -> dict:
    import math

    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.sharing import hubs, offers

    db = get_engine(url)
    sessions = make_sessionmaker(db)
    rng = Random(seed)
    with db.connect() as conn:
        places = list(conn.execute(text("SELECT latitude, longitude FROM sharing_hubs")))
    timings: dict[str, list[float]] = {"search": [], "baseline": []}
    found_cars: list[int] = []
    for round_number in range(warmup + requests):
        lat0, lon0 = rng.choice(places)
        lat, lon = lat0 + rng.uniform(-0.1, 0.1), lon0 + rng.uniform(-0.1, 0.1)
        start = hubs.floor_slot(datetime.now(UTC))
        for variant in (("search", "baseline") if round_number % 2 else ("baseline", "search")):
            began = time.perf_counter()
            if variant == "search":
                with sessions() as session:
                    answer = offers.nearby(session=session, latitude=lat, longitude=lon, radius_km=RADIUS_KM,
                                           hours=1)
                cars = sum(len(h["cars"]) for h in answer)
            else:
                dlat = RADIUS_KM / 111.32
                dlon = RADIUS_KM / (111.32 * math.cos(math.radians(lat)))
                with db.connect() as conn:
                    rows = conn.execute(BASELINE, dict(off=False, on=True, s=lat - dlat, n=lat + dlat, w=lon - dlon,
                                                       e=lon + dlon, a=start, b=start + timedelta(hours=1))).all()
                cars = len(rows)
            elapsed = (time.perf_counter() - began) * 1000
            if round_number >= warmup:
                timings[variant].append(elapsed)
                if variant == "search":
                    found_cars.append(cars)
    figures = {}
    for variant, values in timings.items():
        figures |= report.summarise(variant, values)
    figures["cars_per_answer_mean"] = round(sum(found_cars) / len(found_cars), 1) if found_cars else 0
    figures["search_vs_baseline_p95"] = (round(figures["search_p95_ms"] / figures["baseline_p95_ms"], 2)
                                         if figures["baseline_p95_ms"] else None)
    figures["meets_target"] = figures["search_p95_ms"] is not None and figures["search_p95_ms"] < TARGET_P95_MS
    return figures


def table(document: dict) -> Table:
    grid = Table(title=f"Car sharing map search (p95 target {TARGET_P95_MS:g} ms)")
    for column in ("engine", "hubs", "cars", "search p50", "search p95", "baseline p50", "baseline p95",
                   "cars/answer", "meets"):
        grid.add_column(column)
    for engine, r in document["engines"].items():
        grid.add_row(engine, f"{r['hubs']:,}", f"{r['cars']:,}", f"{r['search_p50_ms']} ms", f"{r['search_p95_ms']} ms",
                     f"{r['baseline_p50_ms']} ms", f"{r['baseline_p95_ms']} ms", str(r["cars_per_answer_mean"]),
                     "yes" if r["meets_target"] else "no")
    return grid


def run(*, engines: list[str], hubs_count: int, cars: int, requests: int, warmup: int, output: Path | None,
        console: Console, urls: dict[str, str] | None = None, keep: bool = False) -> dict:
    from bench.telemetry import drop

    results: dict[str, dict] = {}
    for engine in engines:
        url = (urls or {}).get(engine) or default_url(engine)
        built = prepare(engine, url, hubs_count=hubs_count, cars=cars, console=console)
        load_before = [round(x, 2) for x in os.getloadavg()]
        figures = measure(engine, url, requests=requests, warmup=warmup)
        results[engine] = {**built, **figures, "load_average_before": load_before,
                           "load_average_after": [round(x, 2) for x in os.getloadavg()]}
        if not keep:
            drop(engine, url)
    document = {"benchmark": "sharing", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": report.machine(None), "hubs_requested": hubs_count, "cars_requested": cars,
                "requests": requests, "warmup": warmup, "radius_km": RADIUS_KM, "target_p95_ms": TARGET_P95_MS,
                "meets_target": {e: r["meets_target"] for e, r in results.items()}, "engines": results}
    console.print(table(document))
    if output is not None:
        report.write(output, document)
        console.print(f"Written to {output}")
    return document

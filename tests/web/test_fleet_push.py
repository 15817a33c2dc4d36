"""The carmaker's fleet health page is pushed, not polled: a car's report that changes its health,
stored through one web process, reaches the fleet stream of another (the database's notification on
PostgreSQL, the poller on SQLite, are all the two share); a judgement stored after its report is
announced when it commits; and however often cars report, each web process reads the fleet at most
once per gap and sends only what changed. The stream, like the page, is the carmaker admins' alone."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx

from forecourt.core import i18n, zones
from forecourt.core.auth import Role
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics import devices, insights
from forecourt.telematics.health import FleetHealth, FleetVehicle
from forecourt.telematics.readings import Source
from forecourt.web.fleet_stream import FleetBoard, fleet_events
from forecourt.web.live import CarFeed, CaseWatch
from forecourt.web.views.fleet import shown
from tests.factories import PASSWORD, Factory, submit_login
from tests.web_processes import wait_until, web_processes
from tests.telematics.test_trips import reading, send

OVERHEATING = "P0217"  # stop safely


def _world(url: str) -> dict:
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        admin = make.staff(make.carmaker(), Role.CARMAKER_ADMIN)
        rep = make.staff(make.dealer(), Role.DEALER_SALES)
        owner = make.customer()
        vehicle = make.vehicle(owner=owner)
        _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin,
                                     vehicle_id=vehicle.id)
        return {"admin": admin.email, "rep": rep.email, "owner": owner.email, "vin": vehicle.vin,
                "vehicle_id": vehicle.id, "secret": secret}


def _client(port: int, email: str) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    assert submit_login(client, email, PASSWORD).status_code in (200, 303)
    return client


def _follow(client: httpx.Client, out: list[tuple[str, dict]], opened: threading.Event, until, seconds: float,
            last_seen: str | None = None) -> threading.Thread:
    """Reads the fleet stream in a thread, keeping (id, data) of each ``fleet`` event, until ``until(out)``."""

    def run() -> None:
        headers = {"Last-Event-ID": last_seen} if last_seen else {}
        with client.stream("GET", "/admin/fleet/stream", params={"seconds": seconds}, headers=headers) as stream:
            event = mark = None
            for line in stream.iter_lines():
                opened.set()
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("id: "):
                    mark = line.removeprefix("id: ")
                elif line.startswith("data: ") and event == "fleet":
                    out.append((mark, json.loads(line.removeprefix("data: "))))
                    if until(out):
                        return

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    return reader


def _count(board: dict, status: str) -> int:
    return next(bar["count"] for bar in board["bars"] if bar["status"] == status)


def test_a_car_turning_unsafe_reaches_the_fleet_page_streamed_from_another_web_process(fresh_database_url, tmp_path):
    url = fresh_database_url("fleetpush")
    world = _world(url)
    with web_processes(url, 2, tmp_path / "web.log") as ports:
        for email in (world["rep"], world["owner"]):  # a dealer's staff and a driver find neither
            other = _client(ports[1], email)
            assert other.get("/admin/fleet/stream", params={"seconds": 0.3}).status_code == 404
            assert other.get("/admin/fleet").status_code == 404
        admin = _client(ports[1], world["admin"])
        page = admin.get("/admin/fleet")
        assert page.status_code == 200 and 'data-stream-url="/admin/fleet/stream"' in page.text

        def unsafe(out) -> bool:
            return any(car["vin"] == world["vin"] and car["status"] == "stop_safely"
                       for car in out[-1][1]["cars"])

        pushed: list[tuple[str, dict]] = []
        opened = threading.Event()
        reader = _follow(admin, pushed, opened, unsafe, 40)
        assert opened.wait(20), "the fleet stream did not open"
        wait_until(lambda: pushed, 20, "the fleet stream's first state")
        first = pushed[0][1]
        assert _count(first, "unknown") == 1 and _count(first, "stop_safely") == 0  # paired, never judged
        assert first["cars"] == []

        report = httpx.post(f"http://127.0.0.1:{ports[0]}/api/telemetry/{world['vin']}", timeout=30,
                            headers={"Authorization": f"Bearer {world['secret']}"},
                            content=json.dumps({"timestamp": datetime.now(UTC).isoformat(),
                                                "Vehicle.Diagnostics.DTCList": [OVERHEATING]}))
        assert report.status_code in (200, 202), report.text
        reader.join(20)
        assert unsafe(pushed), (pushed, (tmp_path / "web.log").read_text()[-3000:])
        mark, latest = pushed[-1]
        assert _count(latest, "stop_safely") == 1 and _count(latest, "unknown") == 0
        [car] = latest["cars"]
        assert car["label"] == "Stop safely" and "Engine overheating" in car["summary"]
        assert "Stop safely: 1" in latest["announcement"]

        # the page reconnecting with the version it has is sent nothing until the fleet changes again;
        # one naming a version it cannot have been sent gets the fleet at once
        again: list[tuple[str, dict]] = []
        _follow(admin, again, threading.Event(), lambda out: True, 5, last_seen=mark).join(10)
        assert again == []
        _follow(admin, again, threading.Event(), lambda out: True, 5, last_seen="elsewhere-1").join(10)
        assert [(data["bars"], data["cars"]) for _, data in again] == [(latest["bars"], latest["cars"])]


def test_a_judgement_stored_after_its_report_is_announced_when_it_commits(fresh_database_url):
    """An ingest worker judges health in a transaction of its own, after the report's: the pages
    following cars hear of a changed judgement then, and of an unchanged one never."""
    url = fresh_database_url("fleetjudge")
    world = _world(url)
    sessions = make_sessionmaker(get_engine(url))
    watch = CaseWatch(url).start()
    try:
        car = type("Car", (), {"vin": world["vin"]})
        time.sleep(0.5)  # the listener's first "anything may have changed" (PostgreSQL) is behind us
        start = watch.cars.number
        with transaction(sessions) as session:
            send(session, [reading(car, datetime.now(UTC), Vehicle__Diagnostics__DTCList=[OVERHEATING])])
        wait_until(lambda: watch.cars.since(start)[1] == {world["vehicle_id"]}, 5, "the report's batch")
        time.sleep(1.0)  # the SQLite poller's next look finds the same samples: nothing new
        before = watch.cars.number
        refresher = insights.Refresher(sessions, health_every=0)
        refresher.after_batch([world["vehicle_id"]])  # judged stop safely: a change
        wait_until(lambda: watch.cars.number > before, 5, "the changed judgement's announcement")
        assert watch.cars.since(before)[1] == {world["vehicle_id"]}
        judged = watch.cars.number
        refresher.after_batch([world["vehicle_id"]])  # judged again, the same: nothing to tell
        time.sleep(1.5)
        assert watch.cars.number == judged
    finally:
        watch.stop()


# --- one read per gap, one push per change ----------------------------------------------------------

T0 = datetime(2026, 12, 7, 9, 30, 5, tzinfo=UTC)


def _fleet(stop: int, checked: datetime = T0) -> FleetHealth:
    cars = [FleetVehicle(n, f"VIN{n}", "2024 Aurora Comfort", "stop_safely", "Stop.", checked) for n in range(stop)]
    return FleetHealth({"ok": 5 - stop, "info": 0, "service_soon": 0, "stop_safely": stop, "unknown": 0}, cars)


class Clock:
    def __init__(self):
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


def test_the_board_reads_at_most_once_per_gap_and_keeps_a_version_per_visible_change():
    feed, clock, answers = CarFeed(), Clock(), [_fleet(0)]
    board = FleetBoard(feed, lambda: answers[-1], gap=2.0, clock=clock)
    assert board.due()
    board.refresh()
    assert board.reads == 1 and board.latest[0] == 1 and not board.due()  # nothing changed since

    for car in range(50):  # a burst of batches within the gap: no read until it is over
        feed.add(frozenset({car}))
        clock.at += 0.01
        board.refresh()
    assert board.reads == 1
    answers.append(_fleet(1))
    clock.at += 2.0
    board.refresh()
    assert board.reads == 2 and board.latest[0] == 2 and board.latest[1] == _fleet(1)

    # a gap later the board reads once more (a judgement stored after its report), then rests
    clock.at += 2.0
    board.refresh()
    assert board.reads == 3 and not board.due()

    # the car checked again within the same minute looks the same: no new version; a minute later it does
    feed.add(frozenset({0}))
    answers.append(_fleet(1, T0 + timedelta(seconds=40)))
    clock.at += 2.0
    board.refresh()
    assert board.reads == 4 and board.latest[0] == 2
    feed.add(frozenset({0}))
    answers.append(_fleet(1, T0 + timedelta(seconds=70)))
    clock.at += 2.0
    board.refresh()
    assert board.latest[0] == 3 and board.latest[1].needing_attention[0].checked_at == T0 + timedelta(seconds=70)


def test_a_slow_read_spaces_the_next_so_reading_takes_a_quarter_of_the_time_at_most():
    feed, clock = CarFeed(), Clock()

    def read() -> FleetHealth:  # a million cars: a read takes a second
        clock.at += 1.0
        return _fleet(0)

    board = FleetBoard(feed, read, gap=2.0, clock=clock)
    board.refresh()
    feed.add(frozenset({1}))
    clock.at += 2.0  # two seconds after the read ended: the gap alone would allow the next
    assert not board.due() and board.wait_for_read() == 1.0
    clock.at += 1.0
    board.refresh()
    assert board.reads == 2


def _sent(board: FleetBoard, *, changes, last_seen: str | None = None) -> list[tuple[str, dict]]:
    """The ``fleet`` events a stream sends while ``changes()`` runs between its polls."""

    async def run() -> list[str]:
        out = []
        stream = fleet_events(board, render=lambda fleet: {"stop": fleet.counts["stop_safely"]},
                              last_seen=last_seen, lifetime=0.6)
        async for text in stream:
            out.append(text)
            changes()
        return out

    with ThreadPoolExecutor(max_workers=1) as pool:  # an event loop of its own, whatever the suite left running
        texts = pool.submit(lambda: asyncio.run(run())).result(timeout=30)
    sent = []
    for text in texts:
        lines = dict(line.split(": ", 1) for line in text.strip().splitlines() if ": " in line)
        if lines.get("event") == "fleet":
            sent.append((lines["id"], json.loads(lines["data"])))
    return sent


def test_a_stream_sends_each_version_once_and_nothing_to_a_page_that_has_it():
    feed, answers = CarFeed(), [_fleet(0)]
    board = FleetBoard(feed, lambda: answers[-1], gap=0.05)
    sent = _sent(board, changes=lambda: None)
    assert sent == [(board.mark(1), {"stop": 0})]  # the page's first state, at once

    assert _sent(board, changes=lambda: None, last_seen=board.mark(1)) == []  # reconnected, up to date

    def a_car_turns_unsafe() -> None:
        if len(answers) == 1:
            answers.append(_fleet(1))
            feed.add(frozenset({0}))

    assert _sent(board, changes=a_car_turns_unsafe, last_seen=board.mark(1)) == [(board.mark(2), {"stop": 1})]
    other = FleetBoard(feed, lambda: replace(answers[-1]), gap=0.05)  # another process: another epoch
    assert _sent(other, changes=lambda: None, last_seen=board.mark(2)) == [(other.mark(1), {"stop": 1})]


def test_the_page_and_its_pushes_speak_the_readers_language_on_the_readers_clock():
    with i18n.use_locale("de"), zones.use_zone("Asia/Seoul"):
        german = shown(_fleet(1), T0)
    assert german["updated"] == "Aktualisiert um 18:30:05"  # 09:30:05 UTC is 18:30:05 in Seoul
    assert german["cars"][0]["label"] == "Sicher anhalten" and "18:30" in german["cars"][0]["checked"]
    assert german["announcement"].startswith("Flottenzustand aktualisiert um 18:30:05: Alles in Ordnung: 4;")
    with i18n.use_locale("ko"), zones.use_zone("Europe/Berlin"):
        korean = shown(_fleet(1), T0)
    assert korean["cars"][0]["label"] == "안전하게 정차" and "10:30" in korean["cars"][0]["checked"]
    assert korean["total"] == "(보고 중 5대)"


def test_two_pages_share_one_read_per_change():
    feed, answers = CarFeed(), [_fleet(0)]
    board = FleetBoard(feed, lambda: answers[-1], gap=0.3)

    async def run():
        async def follow() -> list[str]:
            stream = fleet_events(board, render=lambda fleet: fleet.counts["stop_safely"], lifetime=1.5)
            return [text.split("data: ")[1].strip() async for text in stream if text.startswith("event: fleet")]

        async def turn_unsafe() -> None:  # within the gap after the first read: the pages are asleep
            await asyncio.sleep(0.1)
            answers.append(_fleet(1))
            feed.add(frozenset({0}))

        return await asyncio.gather(follow(), follow(), turn_unsafe())

    with ThreadPoolExecutor(max_workers=1) as pool:
        first, second, _ = pool.submit(lambda: asyncio.run(run())).result(timeout=30)
    assert first == second == ["0", "1"]
    assert board.reads == 3  # the first state, the change, and the one read a gap after it: not one per page

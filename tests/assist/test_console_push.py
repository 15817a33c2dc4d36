"""Open consoles cost the database nothing at rest: each web process has one watcher of the case
timeline (PostgreSQL LISTEN/NOTIFY; one poller on SQLite), and a case opened through one web
process reaches a console connected to another."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import httpx

from forecourt.assist import cases, intake
from forecourt.core.auth import Role
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from forecourt.web.live import CaseWatch
from tests.factories import PASSWORD, Factory, submit_login
from tests.web_processes import wait_until, web_processes


def _world(url: str) -> dict:
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        agent = make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)
        vehicle = make.vehicle(owner=make.customer())
        _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin,
                                     vehicle_id=vehicle.id)
        return {"agent": agent.email, "vin": vehicle.vin, "vehicle_id": vehicle.id, "secret": secret}


def test_one_watcher_follows_the_timeline_without_asking_per_change(fresh_database_url):
    url = fresh_database_url("watch")
    world = _world(url)
    watch = CaseWatch(url).start()
    try:
        start = watch.current
        asked = watch.queries
        sessions = make_sessionmaker(get_engine(url))
        for kind in ("sos", "crash"):
            with transaction(sessions) as session:
                intake.raise_alert(session=session, vehicle_id=world["vehicle_id"], kind=kind, source="mqtt",
                                   latitude=52.5, longitude=13.4)
            with sessions() as session:
                newest = cases.last_event_id(session=session)
            wait_until(lambda: watch.current == newest, 5, "the watcher to see the new case")  # noqa: B023
        assert newest > start
        if watch.listens:  # told by the database, never asking again
            assert watch.queries == asked and watch.notifications >= 2
    finally:
        watch.stop()


def test_a_case_opened_through_one_web_process_reaches_a_console_on_another(fresh_database_url, tmp_path):
    url = fresh_database_url("push")
    world = _world(url)
    with web_processes(url, 2, tmp_path / "web.log") as ports:
        console = httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30)
        assert submit_login(console, world["agent"], PASSWORD).status_code in (200, 303)
        events: list[str] = []
        listening = threading.Event()

        def follow() -> None:
            with console.stream("GET", "/console/stream", params={"seconds": 20}) as stream:
                for line in stream.iter_lines():
                    listening.set()
                    if line.startswith("event: cases"):
                        events.append(line)
                        return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        assert listening.wait(20), "the console's stream did not open"
        car = httpx.post(f"http://127.0.0.1:{ports[0]}/api/telemetry/{world['vin']}", timeout=30,
                         headers={"Authorization": f"Bearer {world['secret']}"},
                         content=json.dumps({"timestamp": datetime.now(UTC).isoformat(), "events": ["sos"],
                                             "Vehicle.CurrentLocation.Latitude": 52.52,
                                             "Vehicle.CurrentLocation.Longitude": 13.4}))
        assert car.status_code in (200, 202), car.text
        reader.join(15)
        assert events == ["event: cases"], (tmp_path / "web.log").read_text()[-3000:]
        queue = console.get("/console/queue")
        assert queue.status_code == 200 and "SOS" in queue.text


def test_a_burst_of_consoles_opened_at_once_is_served_and_each_hears_the_next_case(fresh_database_url, tmp_path):
    """More streams at once than the process has pooled connections and worker threads: each waits for
    its turn at the database on the event loop, so none is starved and every one hears the SOS."""
    import asyncio

    url = fresh_database_url("burst")
    world = _world(url)
    consoles = 80
    with web_processes(url, 1, tmp_path / "web.log") as (port,):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as login:
            assert submit_login(login, world["agent"], PASSWORD).status_code in (200, 303)
            cookies = dict(login.cookies)

        async def burst() -> list[bool]:
            opened = [asyncio.Event() for _ in range(consoles)]
            heard = [False] * consoles
            limits = httpx.Limits(max_connections=consoles + 5)
            async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits,
                                         timeout=httpx.Timeout(60, read=None)) as client:
                async def follow(i: int) -> None:
                    async with client.stream("GET", "/console/stream", params={"seconds": 40}) as stream:
                        assert stream.status_code == 200
                        async for line in stream.aiter_lines():
                            opened[i].set()
                            if line.startswith("event: cases"):
                                heard[i] = True
                                return

                tasks = [asyncio.create_task(follow(i)) for i in range(consoles)]
                await asyncio.wait_for(asyncio.gather(*(event.wait() for event in opened)), 60)
                car = await client.post(f"/api/telemetry/{world['vin']}",
                                        headers={"Authorization": f"Bearer {world['secret']}"},
                                        content=json.dumps({"timestamp": datetime.now(UTC).isoformat(),
                                                            "events": ["sos"]}))
                assert car.status_code in (200, 202), car.text
                await asyncio.wait_for(asyncio.gather(*tasks), 30)
            return heard

        heard = asyncio.run(burst())
        assert heard == [True] * consoles, (tmp_path / "web.log").read_text()[-3000:]


def test_a_watcher_nobody_follows_stops_and_the_next_stream_starts_it_with_what_it_missed(fresh_database_url,
                                                                                        monkeypatch):
    from forecourt.web import live

    monkeypatch.setattr(live, "IDLE_SECONDS", 0.3)
    url = fresh_database_url("idle")
    world = _world(url)
    watch = CaseWatch(url).start()
    try:
        first = watch._thread
        wait_until(lambda: not first.is_alive(), 10, "the idle watcher to stop")
        with transaction(make_sessionmaker(get_engine(url))) as session:  # while nobody watched
            intake.raise_alert(session=session, vehicle_id=world["vehicle_id"], kind="sos", source="mqtt",
                               latitude=52.5, longitude=13.4)
        with make_sessionmaker(get_engine(url))() as session:
            newest = cases.last_event_id(session=session)
        number = watch.cars.number
        watch.start()
        assert watch._thread is not first and watch._thread.is_alive()
        assert watch.current == newest  # start returned with the id it missed, not the one it had
        wait_until(lambda: watch.cars.since(number)[1] is None, 5, "the feed to say anything may have changed")
    finally:
        watch.stop()

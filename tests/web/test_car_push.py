"""A car's report through one web process reaches the owner's car page streamed from another: the
database's notification (PostgreSQL) or the poller (SQLite) is the only thing both processes share."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import httpx

from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from tests.factories import PASSWORD, Factory, submit_login
from tests.web_processes import web_processes


def _world(url: str) -> dict:
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        owner, stranger = make.customer(), make.customer()
        vehicle = make.vehicle(owner=owner)
        make.on_call(vehicle)
        carmaker = make.carmaker()
        make.grant(owner, carmaker, "location_services")
        _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin,
                                     vehicle_id=vehicle.id)
        return {"owner": owner.email, "stranger": stranger.email, "vin": vehicle.vin, "secret": secret}


def test_a_cars_report_through_one_web_process_is_pushed_to_its_page_on_another(fresh_database_url, tmp_path):
    url = fresh_database_url("carpush")
    world = _world(url)
    with web_processes(url, 2, tmp_path / "web.log") as ports:
        owner = httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30)
        assert submit_login(owner, world["owner"], PASSWORD).status_code in (200, 303)
        stranger = httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30)
        assert submit_login(stranger, world["stranger"], PASSWORD).status_code in (200, 303)
        assert stranger.get(f"/me/vehicles/{world['vin']}/stream").status_code == 404
        page = owner.get(f"/me/vehicles/{world['vin']}")
        assert f'data-stream-url="/me/vehicles/{world["vin"]}/stream"' in page.text
        pushed: list[dict] = []
        listening = threading.Event()

        def follow() -> None:
            with owner.stream("GET", f"/me/vehicles/{world['vin']}/stream") as stream:
                event = None
                for line in stream.iter_lines():
                    listening.set()
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "car":
                        pushed.append(json.loads(line.removeprefix("data: ")))
                        return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        assert listening.wait(20), "the car page's stream did not open"
        report = httpx.post(f"http://127.0.0.1:{ports[0]}/api/telemetry/{world['vin']}", timeout=30,
                            headers={"Authorization": f"Bearer {world['secret']}"},
                            content=json.dumps({"timestamp": datetime.now(UTC).isoformat(),
                                                "Vehicle.Speed": 42.0,
                                                "Vehicle.CurrentLocation.Latitude": 53.55,
                                                "Vehicle.CurrentLocation.Longitude": 9.99}))
        assert report.status_code in (200, 202), report.text
        reader.join(15)
        assert pushed, (tmp_path / "web.log").read_text()[-3000:]
        assert pushed[0]["position"] == [53.55, 9.99]
        assert any(row["key"] == "speed" and row["value"] == "42 km/h" for row in pushed[0]["signals"])

"""The hub's fleet map is pushed, and a push never carries a car the desk may not see: a renter's
position only while the trip is late or with the renter's permission, as on the page itself."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.sharing import desk, positions
from forecourt.sharing.models import Reservation
from forecourt.web.car_stream import car_events
from forecourt.web.live import CarFeed
from tests.sharing.scene import hub_with_cars, ready_driver, report

RENTED_LAT, RENTED_LON = 48.1372, 11.5756


def _events(feed: CarFeed, cars: frozenset[int], read, batches: list[frozenset[int]]) -> list[tuple[str, dict]]:
    """What a stream sends while ``batches`` of changed cars arrive (in the order given)."""

    async def run() -> list[str]:
        out = []
        stream = car_events(feed, cars=cars, read=read, event="positions", lifetime=0.5, gap=0.0)
        out.append(await stream.__anext__())
        for batch in batches:
            feed.add(batch)
            try:
                out.append(await stream.__anext__())
            except StopAsyncIteration:  # nothing to send before the stream's end
                break
        await stream.aclose()
        return out

    sent = []
    # in a thread of its own: a browser test earlier in the suite may leave an event loop running here
    with ThreadPoolExecutor(max_workers=1) as pool:
        texts = pool.submit(lambda: asyncio.run(run())).result(timeout=30)
    for text in texts:
        lines = dict(line.split(": ", 1) for line in text.strip().splitlines() if ": " in line)
        if "event" in lines:
            sent.append((lines["event"], json.loads(lines["data"])))
    return sent


def test_a_renters_position_reaches_the_fleet_stream_only_when_the_desk_may_see_it(make, session):
    dealer, hub, (free, rented) = hub_with_cars(make)
    advisor = make.principal(make.staff(dealer, Role.DEALER_SERVICE))
    renter = ready_driver(make)
    booking = Reservation(number="SH-STREAM1", customer_id=renter.id, car_id=rented.id, hub_id=hub.id,
                          kind="minute", status="active", starts_at=now() - timedelta(minutes=30),
                          ends_at=now() + timedelta(hours=1))
    session.add(booking)
    report(session, free.vehicle_id, lat=hub.latitude, lon=hub.longitude)
    report(session, rented.vehicle_id, lat=RENTED_LAT, lon=RENTED_LON)
    session.commit()
    hub_id, vehicles = desk.fleet_cars(session=session, principal=advisor)
    assert hub_id == hub.id and vehicles == {free.vehicle_id, rented.vehicle_id}

    def read(changed):
        return desk.live_positions(session=session, principal=advisor, hub_id=hub_id,
                                   vehicle_ids=changed)

    feed = CarFeed()
    both = frozenset({free.vehicle_id, rented.vehicle_id})
    sent = _events(feed, vehicles, read, [both])
    assert [name for name, _ in sent] == ["positions"]
    update = sent[0][1]
    assert [c["car_id"] for c in update["shown"]] == [free.id] and update["hidden"] == [rented.id]
    assert str(RENTED_LAT) not in json.dumps(sent)  # nowhere in what was sent

    # a car of another hub changing sends nothing at all
    other_dealer, other_hub, (elsewhere, _) = hub_with_cars(make)
    session.commit()
    assert _events(CarFeed(), vehicles, read, [frozenset({elsewhere.vehicle_id})]) == []

    # the renter allows it: now the desk sees where the car is, and why
    positions.set_allowed(session=session, reservation=booking, allowed=True)
    session.commit()
    update = _events(CarFeed(), vehicles, read, [frozenset({rented.vehicle_id})])[0][1]
    assert update["shown"] == [{"car_id": rented.id, "latitude": RENTED_LAT, "longitude": RENTED_LON,
                                "name": update["shown"][0]["name"], "why": "consent"}]

    # withdrawn, and the trip not late: hidden again; once late, shown as late
    positions.set_allowed(session=session, reservation=booking, allowed=False)
    session.commit()
    assert _events(CarFeed(), vehicles, read, [frozenset({rented.vehicle_id})])[0][1]["hidden"] == [rented.id]
    booking.ends_at = now() - timedelta(minutes=5)
    session.commit()
    assert _events(CarFeed(), vehicles, read, [frozenset({rented.vehicle_id})])[0][1]["shown"][0]["why"] == "late"


def test_the_fleet_stream_and_page_are_the_hub_staffs_alone(make, session, client):
    from tests.factories import browser_for

    dealer, hub, _cars = hub_with_cars(make)
    session.commit()
    page = browser_for(make, make.staff(dealer, Role.DEALER_SERVICE)).get("/workspace/hub")
    assert page.status_code == 200 and 'data-stream-url="/workspace/hub/stream"' in page.text
    # a salesperson of the same dealer, and another dealer's service staff, find no stream
    assert browser_for(make, make.staff(dealer)).get("/workspace/hub/stream").status_code == 404
    other = make.staff(make.dealer(), Role.DEALER_SERVICE)
    session.commit()
    assert browser_for(make, other).get("/workspace/hub/stream").status_code == 404


def test_a_feed_remembers_batches_and_says_when_a_stream_must_read_everything():
    feed = CarFeed(keep=3)
    feed.add(frozenset({1}))
    feed.add(frozenset({2, 3}))
    assert feed.since(0) == (2, {1, 2, 3}) and feed.since(1) == (2, {2, 3}) and feed.since(2) == (2, set())
    feed.add(frozenset())  # an empty batch is no batch
    assert feed.number == 2
    for car in (4, 5, 6):
        feed.add(frozenset({car}))
    assert feed.since(0) == (5, None)  # fallen out of memory: read all
    feed.add(None)  # the listener lost its connection: anything may have changed
    assert feed.since(5) == (6, None)
    assert feed.knows(feed.mark(4)) == 4 and feed.knows("other-4") is None and feed.knows(feed.mark(99)) is None

"""The owner's live map and remote status follow the car's On Call subscription; the history the owner
keeps (trips, health, service book, export) and the staff pages (consent only) do not."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest

from forecourt.assist import subscriptions
from forecourt.payments import desk
from forecourt.payments.providers import Gateway
from forecourt.core.auth import Role
from forecourt.core.clock import now, today
from forecourt.telematics import devices, insights
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.telematics.test_trips import NORTH, send
from tests.web.test_vehicle_pages import HOT_ENGINE, car_state, drive, trip_of

NO_SUBSCRIPTION = "Live map and remote status come with On Call. This car has no On Call subscription."


def _car_that_drove(make, session, *, on_call_since=None):
    """A car bought 300 days ago that drove and reported a fault, its owner allowing location services;
    ``on_call_since``: the day its included On Call started (``None``: it has none)."""
    carmaker = make.carmaker()
    owner = make.customer(first_name="Oskar", last_name=f"Onkall{make.n()}")
    vehicle = make.vehicle(owner=owner, since=now() - timedelta(days=300))
    if on_call_since is not None:
        make.on_call(vehicle, sold_on=on_call_since)
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    make.grant(owner, carmaker, "location_services")
    start = now() - timedelta(hours=2)
    drive(session, vehicle, start)
    send(session, car_state(vehicle, start + timedelta(seconds=700)))
    insights.refresh_now(session=session, vehicle_ids=[vehicle.id])
    return owner, vehicle


@pytest.fixture
def current(make, session):
    return _car_that_drove(make, session, on_call_since=today() - timedelta(days=300))


@pytest.fixture
def lapsed(make, session):
    """Included On Call (three years) that ended 20 days ago."""
    return _car_that_drove(make, session, on_call_since=today() - timedelta(days=3 * 365 + 21))


@pytest.fixture
def never(make, session):
    return _car_that_drove(make, session)


def _ended_words(session, vehicle) -> str:
    ends_on = subscriptions.latest(session=session, vehicle_id=vehicle.id).ends_on
    assert ends_on < today()
    return ("Live map and remote status come with On Call. "
            f"Your subscription ended on {ends_on.day} {ends_on:%B %Y}.")


def test_with_a_current_subscription_the_live_map_and_signals_work(current, visit):
    owner, vehicle = current
    me = visit(owner.email)
    page = me.get(f"/me/vehicles/{vehicle.vin}")
    assert page.status_code == 200
    assert trip_of(page)["route"][-1] == list(NORTH)
    assert f'data-live-url="/me/vehicles/{vehicle.vin}/live"' in page.text and 'id="live-signals"' in page.text
    assert 'id="on-call-needed"' not in page.text
    live = me.get(f"/me/vehicles/{vehicle.vin}/live")
    assert live.status_code == 200 and live.json()["position"] == list(NORTH)
    assert {s["key"] for s in live.json()["signals"]} >= {"odometer", "battery", "charge", "tyres"}


def _assert_panel_instead_of_live(page, vehicle, words: str) -> None:
    assert page.status_code == 200
    panel = page.text.split('id="on-call-needed"', 1)
    assert len(panel) == 2, "the page does not say why the live map is missing"
    assert html.escape(words) in panel[1].split("</section>", 1)[0]
    assert f'href="/me/on-call#car-{vehicle.vin}"' in page.text
    assert 'id="vehicle-map"' not in page.text and 'id="live-signals"' not in page.text
    assert "data-live-url" not in page.text and "data-position" not in page.text
    assert "Live from the car" not in page.text and "23\u202f456 km" not in page.text  # no remote status
    # what the owner keeps: the trips, the car's health, the driving score
    assert "11.1 km" in page.text and 'id="trips-title"' in page.text
    assert HOT_ENGINE in page.text and "Driving score, last 30 days" in page.text


@pytest.mark.parametrize("which", ["lapsed", "never"])
def test_without_a_current_subscription_a_panel_replaces_the_live_map_and_the_refresh_is_refused(
        which, request, visit, session):
    owner, vehicle = request.getfixturevalue(which)
    words = _ended_words(session, vehicle) if which == "lapsed" else NO_SUBSCRIPTION
    me = visit(owner.email)
    _assert_panel_instead_of_live(me.get(f"/me/vehicles/{vehicle.vin}"), vehicle, words)

    live = me.get(f"/me/vehicles/{vehicle.vin}/live")
    assert live.status_code == 403 and live.headers["cache-control"] == "no-store"
    assert live.json() == {"detail": words}
    assert "position" not in live.text and "signals" not in live.text

    # the owner's history stays theirs: service book and export
    assert me.get(f"/me/vehicles/{vehicle.vin}/service-book").status_code == 200
    exported = me.get("/me/data/export")
    assert exported.status_code == 200 and vehicle.vin in exported.text
    assert json.loads(exported.text)["telemetry"], "the export lost the car's trips"


def test_a_stranger_still_gets_a_404_not_the_reason(lapsed, make, visit):
    _, vehicle = lapsed
    stranger = visit(make.customer().email)
    assert stranger.get(f"/me/vehicles/{vehicle.vin}").status_code == 404
    live = stranger.get(f"/me/vehicles/{vehicle.vin}/live")
    assert live.status_code == 404 and "subscription" not in live.text


def test_renewing_brings_the_live_map_back(lapsed, visit, session, make):
    owner, vehicle = lapsed
    _, payment = subscriptions.renew(session=session, gateway=Gateway(), customer_id=owner.id, vehicle_id=vehicle.id,
                                     years=1)
    me = visit(owner.email)  # commits the renewal
    assert 'id="on-call-needed"' in me.get(f"/me/vehicles/{vehicle.vin}").text  # asked for, not paid yet
    desk.desk_receipt(session=session, principal=make.principal(make.staff(make.carmaker())),
                                  reference=payment.reference, amount=payment.amount, method="transfer",
                                  key=f"bank-{payment.reference}")
    session.commit()
    page = me.get(f"/me/vehicles/{vehicle.vin}")
    assert 'id="on-call-needed"' not in page.text and 'id="vehicle-map"' in page.text
    assert me.get(f"/me/vehicles/{vehicle.vin}/live").status_code == 200


def test_a_former_owner_sees_no_panel_about_the_new_owners_subscription(make, session, visit):
    seller, buyer = make.customer(), make.customer()
    vehicle = make.vehicle(owner=seller, since=now() - timedelta(days=100))
    vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=buyer.id,
                              at=now() - timedelta(days=3))
    page = visit(seller.email).get(f"/me/vehicles/{vehicle.vin}")
    assert page.status_code == 200 and "You sold this car" in page.text
    assert 'id="on-call-needed"' not in page.text


def test_staff_pages_follow_consent_not_the_subscription(never, make, visit):
    owner, vehicle = never
    dealer = make.dealer()
    make.grant(owner, dealer, "location_services")
    rep = visit(make.staff(dealer, Role.DEALER_SERVICE).email)
    page = rep.get(f"/workspace/vehicles/{vehicle.vin}?purpose=location_services")
    assert page.status_code == 200 and 'id="on-call-needed"' not in page.text
    assert trip_of(page)["route"][-1] == list(NORTH)
    live = rep.get(f"/workspace/vehicles/{vehicle.vin}/live?purpose=location_services")
    assert live.status_code == 200 and live.json()["position"] == list(NORTH)

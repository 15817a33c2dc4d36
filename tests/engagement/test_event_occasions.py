"""Occasions opened by events after commit, once per car, owner and window however often the event
comes and whatever the daily job finds later."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forecourt.core import events
from forecourt.core.clock import today
from forecourt.engagement import occasions
from forecourt.engagement.models import Occasion
from forecourt.handlers import subscribe_all
from forecourt.sales.events import CarDelivered
from forecourt.telematics.health import ServiceDue
from forecourt.vehicles import recalls
from forecourt.vehicles.events import RecallMatched
from tests.engagement.scene import build


def _occasions(session, vehicle_id, kind) -> list[Occasion]:
    session.expire_all()
    return list(session.scalars(select(Occasion).where(Occasion.vehicle_id == vehicle_id, Occasion.kind == kind)))


def _publish(session_factory, event) -> None:
    writer = session_factory()
    events.publish(writer, event)
    writer.commit()
    writer.close()


def test_a_recall_opens_its_occasion_at_once_and_the_daily_job_adds_none(session_factory, session, make):
    scene = build(make, session)
    subscribe_all(session_factory)
    admin = make.principal(make.staff(make.carmaker()))
    writer = session_factory()
    opened = recalls.open_campaign(session=writer, principal=admin, code=f"RC-EV-{make.n()}", title="Brake hose",
                                   remedy="Replace the hose", severity="high", notify=False,
                                   scopes=[{"vin_from": scene.vehicle.vin, "vin_to": scene.vehicle.vin}])
    code = opened["campaign"].code
    writer.commit()
    writer.close()
    [occasion] = _occasions(session, scene.vehicle.id, "recall_open")
    assert occasion.customer_id == scene.customer.id and occasion.legal and occasion.detail == code
    assert occasion.window_starts_on <= today() <= occasion.window_ends_on
    # the same event again, then the daily job: still the one occasion
    campaign = recalls.get_campaign(session=session, code=code)
    _publish(session_factory, RecallMatched(campaign_id=campaign.id, code=code, added=1))
    found = occasions.detect(session=session, today=today(), vehicle_ids=[scene.vehicle.id])
    assert "recall_open" not in found
    found = occasions.detect(session=session, today=today() + timedelta(days=1), vehicle_ids=[scene.vehicle.id])
    assert "recall_open" not in found  # the next day's run finds the same window, not a new one
    assert len(_occasions(session, scene.vehicle.id, "recall_open")) == 1


def test_a_car_reporting_its_service_due_opens_one_occasion_the_calendar_does_not_repeat(
        session_factory, session, make):
    scene = build(make, session)
    subscribe_all(session_factory)
    # the calendar's own service window for this car (a year after delivery) closed long ago
    assert "service_due" not in occasions.detect(session=session, today=today(), vehicle_ids=[scene.vehicle.id])
    for _attempt in range(2):  # redelivered
        _publish(session_factory, ServiceDue(vehicle_id=scene.vehicle.id, level="due", reason="Oil service due"))
    [occasion] = _occasions(session, scene.vehicle.id, "service_due")
    assert (occasion.window_starts_on, occasion.detail) == (today(), "reported due")
    # the car says so again a week later, and the daily job runs: the open window is the same occasion
    later = today() + timedelta(days=7)
    assert "service_due" not in occasions.detect(session=session, today=later, vehicle_ids=[scene.vehicle.id])
    _publish(session_factory, ServiceDue(vehicle_id=scene.vehicle.id, level="overdue", reason="Overdue"))
    assert len(_occasions(session, scene.vehicle.id, "service_due")) == 1


def test_a_service_the_calendar_already_found_is_not_opened_again_by_the_car(session_factory, session, make):
    scene = build(make, session)
    make.service_record(scene.vehicle, scene.dealer, on=today() - timedelta(days=350))
    subscribe_all(session_factory)
    assert occasions.detect(session=session, today=today(), vehicle_ids=[scene.vehicle.id]).get("service_due") == 1
    _publish(session_factory, ServiceDue(vehicle_id=scene.vehicle.id, level="due", reason="Oil service due"))
    [occasion] = _occasions(session, scene.vehicle.id, "service_due")
    assert occasion.detail != "reported due"  # the calendar's window, found first, stands


def test_a_delivery_finds_what_is_open_for_the_new_owner_at_once(session_factory, session, make):
    scene = build(make, session)  # its warranty ends in 40 days
    subscribe_all(session_factory)
    _publish(session_factory, CarDelivered(order_id=1, vehicle_id=scene.vehicle.id, dealer_id=scene.dealer.id,
                                           customer_id=scene.customer.id))
    [occasion] = _occasions(session, scene.vehicle.id, "warranty_ends_60")
    assert occasion.customer_id == scene.customer.id
    assert occasions.detect(session=session, today=today(), vehicle_ids=[scene.vehicle.id]).get(
        "warranty_ends_60") is None
    assert len(_occasions(session, scene.vehicle.id, "warranty_ends_60")) == 1

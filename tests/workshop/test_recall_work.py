"""Recall work: the owner books the remedy in one click (the campaign's labour time holds the bay), a
critical recall says "stop driving" everywhere on the car page, and dealers record the remedy on a page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core.auth import Principal, Role
from forecourt.core.clock import frozen_at
from forecourt.telematics import health
from forecourt.telematics.models import TwinSignal
from forecourt.vehicles import recalls
from forecourt.vehicles.models import RecallVehicle
from forecourt.workshop import booking, proposals, recall_work
from forecourt.workshop.models import Appointment, BaySlot
from tests.factories import admin_login, browser_for, csrf_token_of
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc


@pytest.fixture(autouse=True)
def sunday_noon():
    with frozen_at(SUNDAY_NOON):
        yield


def _scene(make, session, severity: str):
    shop = make.dealer(name="Autohaus Elbe", opening_hours=WEEKDAYS, service_bays=1)
    owner = make.customer()
    car = make.vehicle(owner=owner, dealer=shop)
    admin = admin_login(make)
    principal = Principal(user_id=admin.user_id, role=Role.CARMAKER_ADMIN, display_name="Admin",
                          organization_id=admin.organization_id)
    campaign = recalls.open_campaign(session=session, principal=principal, code=f"RC-BK-{make.n()}",
                                     title="Brake hose may chafe", remedy="Fit a new brake hose.", severity=severity,
                                     labour_minutes=90, scopes=[{"vin_from": car.vin, "vin_to": car.vin}],
                                     notify=False)["campaign"]
    # the owner can come on Tuesday afternoons only
    proposals.set_availability(session=session, customer_id=owner.id, windows=[(1, "14:00", "18:00")])
    session.commit()
    return shop, owner, car, campaign, make.customer_login(owner)


def _book(browser, session, car, campaign, slot_of_offer: dict, index: int = 0):
    slot = slot_of_offer["slots"][index]
    return browser.post(f"/me/vehicles/{car.vin}/recalls/{campaign.code}/booking", follow_redirects=False,
                        data={"csrf_token": csrf_token_of(session, browser), "dealer_id": slot_of_offer["dealer"].id,
                              "bay": slot.bay, "starts_at": slot.starts_at.isoformat()})


def test_the_owner_books_the_remedy_in_one_click_for_its_labour_time(make, session):
    shop, owner, car, campaign, me = _scene(make, session, "high")
    offer = recall_work.remedy_offer(session=session, customer_id=owner.id, vehicle=car, campaign=campaign)
    assert offer["dealer"].id == shop.id and not offer["critical"]
    first = offer["slots"][0]
    assert (first.starts_at, first.ends_at) == (utc(3, 14), utc(3, 15, 30))  # Tuesday, the owner's window
    browser = browser_for(make, me)
    page = browser.get(f"/me/vehicles/{car.vin}")
    assert f'id="book-{campaign.code}-1"' in page.text and "one click books it" in page.text
    assert 'id="critical-recall-banner"' not in page.text
    done = _book(browser, session, car, campaign, offer)
    assert done.status_code == 303 and "flash=Booked" in done.headers["location"]
    appointment = session.scalars(select(Appointment).where(Appointment.vehicle_id == car.id)).one()
    assert (appointment.job, appointment.source, appointment.recall_campaign_ids) == ("recall", "owner", [campaign.id])
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=90)
    assert session.scalar(select(func.count()).select_from(BaySlot)
                          .where(BaySlot.appointment_id == appointment.id)) == 3  # the bay for the whole job
    page = browser.get(f"/me/vehicles/{car.vin}")
    assert f'id="recall-booked-{campaign.code}"' in page.text and "Autohaus Elbe" in page.text
    assert f'id="book-{campaign.code}-1"' not in page.text
    again = _book(browser, session, car, campaign, offer, index=1)
    assert again.status_code == 303 and "already+booked" in again.headers["location"]
    assert session.scalar(select(func.count(Appointment.id)).where(Appointment.vehicle_id == car.id)) == 1
    # an open recall is never "all good"
    judged = health.health_of(session=session, vehicle_id=car.id)
    assert judged.status == "service_soon" and judged.summary.startswith(f"Open safety recall {campaign.code}")


def test_someone_else_cannot_book_the_remedy(make, session):
    shop, owner, car, campaign, me = _scene(make, session, "high")
    offer = recall_work.remedy_offer(session=session, customer_id=owner.id, vehicle=car, campaign=campaign)
    stranger = browser_for(make, make.customer_login(make.customer()))
    refused = _book(stranger, session, car, campaign, offer)
    assert refused.status_code == 404
    mine = browser_for(make, me)
    slot = offer["slots"][0]
    unknown = mine.post(f"/me/vehicles/{car.vin}/recalls/RC-NOPE/booking", follow_redirects=False,
                        data={"csrf_token": csrf_token_of(session, mine), "dealer_id": shop.id, "bay": slot.bay,
                              "starts_at": slot.starts_at.isoformat()})
    assert unknown.status_code == 404
    assert session.scalar(select(func.count(Appointment.id)).where(Appointment.vehicle_id == car.id)) == 0


def test_a_critical_recall_says_stop_driving_and_offers_the_earliest_slot(make, session):
    shop, owner, car, campaign, me = _scene(make, session, "critical")
    # the car also reports a fault whose own advice would be "safe to drive carefully"
    session.add(TwinSignal(vehicle_id=car.id, path="Vehicle.OBD.DTCList", value=["P0171"], measured_at=SUNDAY_NOON))
    session.commit()
    offer = recall_work.remedy_offer(session=session, customer_id=owner.id, vehicle=car, campaign=campaign)
    assert offer["critical"] and offer["slots"][0].starts_at == utc(2, 8)  # Monday 08:00, not the owner's Tuesday
    page = browser_for(make, me).get(f"/me/vehicles/{car.vin}").text
    banner, heading = page.index('id="critical-recall-banner"'), page.index("<h1>")
    assert banner < heading  # the advice comes first
    assert "Critical: stop driving until fixed." in page and "Book the earliest:" in page
    assert "All good" not in page and "Safe to drive" not in page
    assert "Do not drive this car until it is fixed" in page  # the health card says the same
    assert "P0171" in page and "The workshop checks this as well when it fixes the recall." in page
    judged = health.health_of(session=session, vehicle_id=car.id)
    assert judged.status == "stop_safely"
    owner.language = "ko"
    session.commit()
    korean = browser_for(make, me).get(f"/me/vehicles/{car.vin}").text
    assert "긴급: 수리될 때까지 운전을 멈춰 주세요." in korean


def test_the_remedy_is_recorded_on_a_page_by_a_dealer_with_the_car(make, session):
    shop, owner, car, campaign, me = _scene(make, session, "high")
    outsider = browser_for(make, make.staff(make.dealer(), Role.DEALER_SERVICE))
    assert outsider.get(f"/workspace/vehicles/{car.vin}/recalls").status_code == 404
    form = {"csrf_token": csrf_token_of(session, outsider), "code": campaign.code,
            "performed_on": SUNDAY_NOON.date().isoformat(), "odometer_km": "23000"}
    assert outsider.post(f"/workspace/vehicles/{car.vin}/recalls", data=form).status_code == 404
    row = session.scalars(select(RecallVehicle).where(RecallVehicle.vehicle_id == car.id)).one()
    assert row.state != "remedied"

    # the owner books the fix at another dealer of the network: that dealer may now record it
    other = make.dealer(name="Autohaus Alster", opening_hours=WEEKDAYS, service_bays=2)
    slot = recall_work.remedy_offer(session=session, customer_id=owner.id, vehicle=car, campaign=campaign)["slots"][0]
    recall_work.book_remedy(session=session, customer_id=owner.id, vin=car.vin, code=campaign.code,
                            dealer_id=other.id, bay=1, starts_at=slot.starts_at)
    session.commit()
    advisor = browser_for(make, make.staff(other, Role.DEALER_SERVICE))
    page = advisor.get(f"/workspace/vehicles/{car.vin}/recalls")
    assert page.status_code == 200 and campaign.code in page.text and "Booked here for" in page.text
    token = csrf_token_of(session, advisor)
    bad = advisor.post(f"/workspace/vehicles/{car.vin}/recalls", data=form | {"csrf_token": token,
                                                                               "odometer_km": "lots"})
    assert bad.status_code == 422 and "whole kilometres" in bad.text
    done = advisor.post(f"/workspace/vehicles/{car.vin}/recalls", data=form | {"csrf_token": token},
                        follow_redirects=False)
    assert done.status_code == 303, done.text[-3000:]
    session.expire_all()
    row = session.scalars(select(RecallVehicle).where(RecallVehicle.vehicle_id == car.id)).one()
    assert (row.state, row.remedied_by_dealer_id) == ("remedied", other.id)
    after = advisor.get(done.headers["location"])
    assert 'id="no-open-recalls"' in after.text and "Remedy recorded" in after.text
    # the selling dealer may record remedies on the car too (nothing left to do here now)
    assert browser_for(make, make.staff(shop, Role.DEALER_SERVICE)).get(
        f"/workspace/vehicles/{car.vin}/recalls").status_code == 200


def test_the_recall_notice_in_the_inbox_books_the_fix_in_one_click(make, session):
    shop, owner, car, campaign, me = _scene(make, session, "critical")
    admin = admin_login(make)
    recalls.notify_owners(session=session, principal=Principal(
        user_id=admin.user_id, role=Role.CARMAKER_ADMIN, display_name="Admin", organization_id=admin.organization_id),
        campaign=campaign)
    session.commit()
    browser = browser_for(make, me)
    inbox = browser.get("/me/messages").text
    assert "Book the fix: " in inbox and "Autohaus Elbe" in inbox
    action = f'action="/me/vehicles/{car.vin}/recalls/{campaign.code}/booking"'
    assert inbox.count(action) == 1
    starts = inbox.split('name="starts_at" value="')[1].split('"')[0]
    done = browser.post(f"/me/vehicles/{car.vin}/recalls/{campaign.code}/booking", follow_redirects=False,
                        data={"csrf_token": csrf_token_of(session, browser), "dealer_id": shop.id, "bay": 1,
                              "starts_at": starts})
    assert done.status_code == 303
    appointment = session.scalars(select(Appointment).where(Appointment.vehicle_id == car.id)).one()
    assert appointment.starts_at.isoformat().startswith(utc(2, 8).isoformat()[:16])  # the earliest: Monday 08:00
    inbox = browser.get("/me/messages").text
    assert action not in inbox and "The bay is held for the whole job." in inbox


def test_a_car_booked_for_the_fix_is_not_reminded_until_the_booking_is_cancelled(make, session):
    shop, owner, car, campaign, me = _scene(make, session, "high")
    admin = admin_login(make)
    recalls.notify_owners(session=session, principal=Principal(
        user_id=admin.user_id, role=Role.CARMAKER_ADMIN, display_name="Admin", organization_id=admin.organization_id),
        campaign=campaign)
    slot = recall_work.remedy_offer(session=session, customer_id=owner.id, vehicle=car, campaign=campaign)["slots"][0]
    appointment = recall_work.book_remedy(session=session, customer_id=owner.id, vin=car.vin, code=campaign.code,
                                          dealer_id=shop.id, bay=slot.bay, starts_at=slot.starts_at)
    session.commit()
    row = session.scalars(select(RecallVehicle).where(RecallVehicle.vehicle_id == car.id)).one()
    assert row.state == "booked"
    assert [c.code for c in recalls.open_recalls_for(session=session, vehicle_id=car.id)] == [campaign.code]
    with frozen_at(SUNDAY_NOON + timedelta(days=40)):
        assert recalls.remind_owners(session=session)["reminded"] == 0
    booking.cancel(session=session, appointment=appointment, by="owner")
    session.commit()
    session.refresh(row)
    assert row.state == "notified"
    with frozen_at(SUNDAY_NOON + timedelta(days=40)):
        assert recalls.remind_owners(session=session)["reminded"] == 1

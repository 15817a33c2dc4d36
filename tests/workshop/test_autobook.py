"""The car books its own service: with the owner's standing permission (a consent in the ledger, withdrawable)
a proposal at that dealer books its earliest time and the owner is told after, with one-click move and
cancel; without it, proposals wait as before. A red warning proposes the earliest time and says why."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forecourt.consent.models import ConsentReceipt
from forecourt.core.clock import frozen_at
from forecourt.core.outbox import OutboxMessage
from forecourt.telematics.health import DtcAppeared
from forecourt.workshop import autobook, booking, handlers, proposals
from forecourt.workshop.models import Appointment, Proposal
from tests.factories import browser_for, csrf_token_of
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc


@pytest.fixture(autouse=True)
def sunday_noon():
    with frozen_at(SUNDAY_NOON):
        yield


@pytest.fixture
def shop(make):
    return make.dealer(name="Autohaus Hafen", opening_hours=WEEKDAYS, service_bays=2)


@pytest.fixture
def owner(make):
    return make.customer()


@pytest.fixture
def car(make, shop, owner):
    return make.vehicle(owner=owner, dealer=shop)


def _messages(session, customer_id, topic) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer_id,
                                                            OutboxMessage.topic == topic)))


def _propose(session, car, cause="service_due"):
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="oil_service", reason="Service due",
                                 cause=cause)
    session.commit()
    return proposal


def test_without_the_permission_a_proposal_waits_for_the_owner(session, make, shop, owner, car):
    proposal = _propose(session, car)
    assert proposal.status == "open" and not proposal.auto_booked
    assert booking.upcoming_of(session=session, customer_id=owner.id) == []
    assert len(_messages(session, owner.id, "service_proposal")) == 1


def test_with_it_the_earliest_time_in_the_availability_is_booked_and_the_owner_told(session, make, shop, owner, car):
    proposals.set_availability(session=session, customer_id=owner.id, windows=[(1, "14:00", "18:00")])  # Tuesdays
    autobook.give(session=session, customer_id=owner.id, dealer_id=shop.id)
    session.commit()
    receipt = session.scalars(select(ConsentReceipt).where(ConsentReceipt.customer_id == owner.id)).one()
    assert (receipt.purpose_code, receipt.state, receipt.organization_id) == ("automatic_booking", "granted", shop.id)
    proposal = _propose(session, car)
    assert proposal.status == "booked" and proposal.auto_booked
    appointment = session.get(Appointment, proposal.appointment_id)
    assert appointment.starts_at == utc(3, 14)  # Tuesday 3 June 14:00 Berlin: the earliest inside the window
    [told] = _messages(session, owner.id, "service_booked")
    assert told.channel == "in_app" and told.link == f"/me/service#booking-{appointment.id}"
    assert "move it to another time or cancel it" in told.body and "14:00" in told.body
    assert _messages(session, owner.id, "service_proposal") == []
    view = proposals.overview(session=session, customer_id=owner.id)
    [booked] = view["appointments"]
    assert booked["auto_booked"] and booked["move_to"] and view["automatic_dealers"] == [shop.id]


def test_a_proposal_at_another_workshop_is_not_booked_by_the_permission(session, make, shop, owner, car):
    other = make.dealer(opening_hours=WEEKDAYS, service_bays=1)
    autobook.give(session=session, customer_id=owner.id, dealer_id=other.id)
    session.commit()
    assert _propose(session, car).status == "open"


def test_withdrawn_the_permission_no_longer_books_and_the_ledger_says_so(session, make, shop, owner, car, client):
    me = make.customer_login(owner)
    assert client.put(f"/api/me/service/automatic-booking/{shop.id}", headers=me.headers).json()["granted"]
    gone = client.delete(f"/api/me/service/automatic-booking/{shop.id}", headers=me.headers)
    assert gone.status_code == 200 and gone.json() == {"dealer_id": shop.id, "granted": False}
    states = [r.state for r in session.scalars(select(ConsentReceipt).where(
        ConsentReceipt.customer_id == owner.id).order_by(ConsentReceipt.id))]
    assert states == ["granted", "withdrawn"]
    assert _propose(session, car).status == "open"
    not_a_dealer = client.put(f"/api/me/service/automatic-booking/{make.partner('insurance').id}",
                              headers=me.headers)
    assert not_a_dealer.status_code == 422


def test_one_click_moves_or_cancels_an_automatic_booking(session, make, shop, owner, car, client):
    autobook.give(session=session, customer_id=owner.id, dealer_id=shop.id)
    session.commit()
    proposal = _propose(session, car)
    page = browser_for(make, make.customer_login(owner))
    service = page.get("/me/service")
    assert "Booked for you automatically" in service.text and "Move to" in service.text
    appointment = session.get(Appointment, proposal.appointment_id)
    target = proposals.overview(session=session, customer_id=owner.id)["appointments"][0]["move_to"][0]
    moved = page.post(f"/me/service/bookings/{appointment.id}/move", follow_redirects=True,
                      data={"csrf_token": csrf_token_of(session, page),
                            "slot": f"{target['bay']}|{target['starts_at'].isoformat()}"})
    assert "Moved:" in moved.text
    session.expire_all()
    assert session.get(Appointment, appointment.id).starts_at == target["starts_at"]
    me = make.customer_login(owner)
    cancelled = client.post(f"/api/me/service/bookings/{appointment.id}/cancel", headers=me.headers)
    assert cancelled.json()["status"] == "cancelled"


def test_the_owner_gives_and_withdraws_it_on_the_service_page(session, make, shop, owner, car):
    page = browser_for(make, make.customer_login(owner))
    token = csrf_token_of(session, page)
    given = page.post("/me/service/automatic-booking", data={"csrf_token": token, "dealer_id": shop.id,
                                                             "allow": "yes"}, follow_redirects=True)
    assert "books automatically" in given.text
    assert autobook.permitted(session=session, customer_id=owner.id, dealer_id=shop.id)
    page.post("/me/service/automatic-booking", data={"csrf_token": token, "dealer_id": shop.id, "allow": "no"})
    session.expire_all()
    assert not autobook.permitted(session=session, customer_id=owner.id, dealer_id=shop.id)
    owner.language = "ko"  # a customer reads in the language they chose
    session.commit()
    korean = page.get("/me/service")
    assert "자동으로" in korean.text


def test_a_red_warning_proposes_the_earliest_time_and_says_why(session, make, shop, owner, car):
    handlers.on_dtc_appeared(DtcAppeared(vehicle_id=car.id, code="P0524", description="Engine oil pressure too low",
                                         severity="stop_safely", needs_workshop=True), session=session)
    session.commit()
    proposal = session.scalars(select(Proposal).where(Proposal.vehicle_id == car.id)).one()
    assert proposal.urgent and proposal.reason.startswith("Urgent: Engine oil pressure too low")
    assert "earliest free time" in proposal.reason
    starts = [proposals.slots_of(proposal)[i].starts_at for i in range(2)]
    assert starts[0] == utc(2, 8) and starts[1] == utc(2, 8, 30)  # Monday from opening, not spread over days

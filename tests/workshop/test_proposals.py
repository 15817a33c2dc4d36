"""Proactive service: a health event after commit proposes times to the owner; one click books one."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from datetime import timedelta

import pytest
from sqlalchemy import select

from forecourt.core import events
from forecourt.core.clock import advance, frozen_at
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.outbox import OutboxMessage
from forecourt.telematics.health import DtcAppeared, ServiceDue
from forecourt.workshop import booking, proposals
from forecourt.handlers import subscribe_all
from forecourt.workshop.models import Proposal
from forecourt.workshop.slots import Slot
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc

LOCAL = ZoneInfo("Europe/Berlin")  # the test dealers' clock (their market's)


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


def _messages(session, customer_id) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer_id,
                                                            OutboxMessage.topic == "service_proposal")))


def _fault(car, code="P0301", needs_workshop=True) -> DtcAppeared:
    return DtcAppeared(vehicle_id=car.id, code=code, description="Cylinder 1 misfire", severity="service_soon",
                       needs_workshop=needs_workshop)


def test_a_fault_published_in_a_committed_transaction_becomes_a_proposal_with_messages(
        session_factory, session, make, shop, owner, car):
    make.grant(owner, shop, "vehicle_health_sharing")
    subscribe_all(session_factory)
    writer = session_factory()
    events.publish(writer, _fault(car))
    assert session.scalars(select(Proposal).where(Proposal.vehicle_id == car.id)).first() is None
    writer.commit()  # delivered only now, with ids; the handler opened its own session
    writer.close()
    proposal = session.scalars(select(Proposal).where(Proposal.vehicle_id == car.id)).one()
    assert (proposal.customer_id, proposal.dealer_id, proposal.job, proposal.cause) == (
        owner.id, shop.id, "diagnosis", "dtc:P0301")
    assert proposal.dtc_codes == ["P0301"] and "P0301" in proposal.reason
    assert proposal.expires_at == SUNDAY_NOON + timedelta(days=7)
    slots = proposals.slots_of(proposal)
    assert slots and slots[0].starts_at == utc(2, 8)
    messages = _messages(session, owner.id)
    assert sorted(m.channel for m in messages) == ["email", "in_app"]
    assert {m.basis for m in messages} == {"vehicle_health_sharing"}
    assert all(m.link == f"/me/service#proposal-{proposal.id}" for m in messages)
    # the e-mail names whose grant it rests on: its unsubscribe link withdraws exactly that one
    assert [m.consent_organization_id for m in messages if m.channel == "email"] == [shop.id]


def test_a_rolled_back_event_proposes_nothing_and_a_harmless_code_neither(session_factory, session, car):
    subscribe_all(session_factory)
    writer = session_factory()
    events.publish(writer, _fault(car))
    writer.rollback()
    writer.close()
    writer = session_factory()
    events.publish(writer, _fault(car, code="P0456", needs_workshop=False))
    writer.commit()
    writer.close()
    assert session.scalars(select(Proposal).where(Proposal.vehicle_id == car.id)).first() is None


def test_without_consent_only_the_portal_message_is_written(session, owner, car):
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Misfire",
                                 cause="dtc:P0301", dtc_codes=("P0301",))
    messages = _messages(session, owner.id)
    assert [(m.channel, m.basis) for m in messages] == [("in_app", proposals.OWN_PORTAL)]
    assert proposal.status == "open"


def test_service_reminders_granted_to_the_carmaker_allows_the_email(session, make, owner, car):
    carmaker = make.carmaker()
    make.grant(owner, carmaker, "service_reminders")
    proposals.propose(session=session, vehicle_id=car.id, job="inspection", reason="Service due",
                      cause="service_due")
    assert sorted((m.channel, m.basis, m.consent_organization_id) for m in _messages(session, owner.id)) == [
        ("email", "service_reminders", carmaker.id), ("in_app", "service_reminders", None)]


def test_one_open_proposal_per_car_and_cause(session_factory, session, owner, car):
    subscribe_all(session_factory)
    for _ in range(3):
        writer = session_factory()
        events.publish(writer, _fault(car))
        events.publish(writer, ServiceDue(vehicle_id=car.id, level="due", reason="Service due in 900 km"))
        writer.commit()
        writer.close()
    found = list(session.scalars(select(Proposal).where(Proposal.vehicle_id == car.id)))
    assert sorted(p.cause for p in found) == ["dtc:P0301", "service_due"]
    assert len(_messages(session, owner.id)) == 2  # one in-app message each
    service = next(p for p in found if p.cause == "service_due")
    assert service.job == "inspection" and service.reason == "Service due in 900 km"  # an electric car


def test_a_car_without_owner_or_already_booked_in_gets_no_proposal(session, make, shop, owner, car):
    stock = make.vehicle()
    assert proposals.propose(session=session, vehicle_id=stock.id, job="diagnosis", reason="x", cause="dtc:P1") is None
    coming = booking.book(session=session, dealer_id=shop.id, vehicle_id=car.id, customer_id=owner.id, bay=1,
                          starts_at=utc(3, 9), job="inspection", source="owner")
    assert proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Misfire",
                             cause="dtc:P0301", dtc_codes=("P0301",)) is None
    assert coming.dtc_codes == ["P0301"], "the advisor sees the new fault on the coming appointment"


def test_slots_stay_within_the_owners_availability(session, owner, car):
    proposals.set_availability(session=session, customer_id=owner.id, windows=[(3, "13:00", "18:00")])
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Misfire",
                                 cause="dtc:P0301")
    local = [s.starts_at.astimezone(LOCAL) for s in proposals.slots_of(proposal)]
    assert local and all(t.weekday() == 3 and t.hour >= 13 for t in local)


def test_accept_books_the_slot_in_one_click(session, owner, car, shop):
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Misfire",
                                 cause="dtc:P0301", dtc_codes=("P0301",))
    chosen = proposals.slots_of(proposal)[1]
    appointment = proposals.accept(session=session, customer_id=owner.id, proposal_id=proposal.id, slot_index=1)
    assert (appointment.starts_at, appointment.bay, appointment.status, appointment.source) == (
        chosen.starts_at, chosen.bay, "confirmed", "proactive")
    assert appointment.dtc_codes == ["P0301"] and appointment.customer_id == owner.id
    assert (proposal.status, proposal.appointment_id) == ("booked", appointment.id)
    with pytest.raises(Conflict, match="already booked"):
        proposals.accept(session=session, customer_id=owner.id, proposal_id=proposal.id, slot_index=0)


def test_accepting_a_time_just_taken_offers_fresh_times(session, make, owner, car, shop):
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Misfire",
                                 cause="dtc:P0301")
    first = proposals.slots_of(proposal)[0]
    booking.book(session=session, dealer_id=shop.id, vehicle_id=make.vehicle().id, customer_id=None, bay=first.bay,
                 starts_at=first.starts_at, job="diagnosis", source="advisor")
    with pytest.raises(booking.SlotTaken, match="That time was just taken"):
        proposals.accept(session=session, customer_id=owner.id, proposal_id=proposal.id, slot_index=0)
    assert proposal.status == "open"
    fresh = proposals.slots_of(proposal)
    assert fresh and Slot(first.starts_at, first.ends_at, first.bay) not in fresh
    assert proposals.accept(session=session, customer_id=owner.id, proposal_id=proposal.id,
                            slot_index=0).status == "confirmed"


def test_bad_index_other_owner_declined_and_expired(session, make, owner, car):
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Misfire",
                                 cause="dtc:P0301")
    with pytest.raises(Invalid, match="Choose one of the offered times"):
        proposals.accept(session=session, customer_id=owner.id, proposal_id=proposal.id, slot_index=99)
    with pytest.raises(NotFound):
        proposals.accept(session=session, customer_id=make.customer().id, proposal_id=proposal.id, slot_index=0)
    proposals.decline(session=session, customer_id=owner.id, proposal_id=proposal.id)
    with pytest.raises(Conflict, match="declined"):
        proposals.accept(session=session, customer_id=owner.id, proposal_id=proposal.id, slot_index=0)
    assert proposals.open_of(session=session, customer_id=owner.id) == []

    again = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Misfire",
                              cause="dtc:P0301")
    assert again.id != proposal.id, "a declined proposal no longer holds the cause"
    advance(timedelta(days=7, minutes=1))
    with pytest.raises(Conflict, match="expired"):
        proposals.accept(session=session, customer_id=owner.id, proposal_id=again.id, slot_index=0)
    assert proposals.open_of(session=session, customer_id=owner.id) == []
    assert proposals.expire_due(session=session) == 1 and again.status == "expired"


def test_a_resold_car_proposes_to_the_new_owner_only(session, make, owner, car):
    from forecourt.vehicles import service as vehicles_service

    buyer = make.customer()
    vehicles_service.transfer(session=session, vehicle_id=car.id, customer_id=buyer.id)
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Misfire",
                                 cause="dtc:P0301")
    assert proposal.customer_id == buyer.id
    assert _messages(session, owner.id) == []


def test_availability_is_checked_in_words(session, owner):
    with pytest.raises(Invalid, match="ends before it begins"):
        proposals.set_availability(session=session, customer_id=owner.id, windows=[(0, "12:00", "09:00")])
    with pytest.raises(Invalid, match="Monday to Sunday"):
        proposals.set_availability(session=session, customer_id=owner.id, windows=[(7, "08:00", "09:00")])
    rows = proposals.set_availability(session=session, customer_id=owner.id,
                                      windows=[(4, "08:00", "12:00"), (0, "16:00", "19:00")])
    assert [(r.weekday, r.from_time) for r in rows] == [(0, "16:00"), (4, "08:00")]

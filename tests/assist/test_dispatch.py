"""Finding and sending help: nearest first by road distance, open dealers only, ETAs, the tow's dealer, e-mails."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from forecourt.assist import dispatch as dispatch_service
from forecourt.assist.models import Case, CaseEvent
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.geo import distance_km
from forecourt.core.outbox import OutboxMessage
from forecourt.messaging import notify
from forecourt.parties import service as parties_service
from forecourt.parties.models import User
from tests.customers.test_notify import _settings, smtp  # noqa: F401 - the real SMTP server fixture

MONDAY_11_BERLIN = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # CET = UTC+1
SUNDAY_11_BERLIN = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WEEKDAYS = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
# A quiet corner far from the other tests' organizations (which default to Berlin).
HERE = (50.00, 8.00)


def agent(make):
    login = make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)
    return parties_service.principal_for(make.session.get(User, login.user_id))


def new_case(make, *, position=HERE, vehicle=None, status="open"):
    vehicle = vehicle or make.vehicle(owner=make.customer())
    lat, lon = position if position else (None, None)
    case = Case(number=f"OC-T{make.n():05d}", vehicle_id=vehicle.id, customer_id=None, kind="crash", priority=1,
                source="http", latitude=lat, longitude=lon, status=status)
    make.session.add(case)
    make.session.flush()
    return case


def at(km_north: float) -> dict:
    """A place ``km_north`` straight-line km north of HERE."""
    return {"latitude": HERE[0] + km_north / 111.2, "longitude": HERE[1]}


def road(organization) -> float:
    return distance_km(*HERE, organization.latitude, organization.longitude) * 1.3


def test_providers_are_nearest_first_with_road_distance_and_eta(make, session):
    far, near, middle = (make.partner("roadside", **at(km)) for km in (40, 3, 12))
    sirens = make.partner("emergency", **at(8))
    dealer = make.dealer(opening_hours=WEEKDAYS, **at(20))
    make.partner("insurance", **at(1))  # not help on the road
    case = new_case(make)
    found = dispatch_service.providers_for(session=session, case_id=case.id, now=MONDAY_11_BERLIN)
    mine = {o.id for o in (far, near, middle)}
    assert [p["provider_id"] for p in found["towing"] if p["provider_id"] in mine] == [near.id, middle.id, far.id]
    first = next(p for p in found["towing"] if p["provider_id"] == near.id)
    assert first["distance_km"] == round(road(near), 1)
    assert first["eta_minutes"] == math.ceil(10 + road(near) / 60 * 60)  # 10 min to set off, 60 km/h
    assert first["eta"] == f"about {first['eta_minutes']} min"
    ambulance = next(p for p in found["emergency"] if p["provider_id"] == sirens.id)
    assert ambulance["eta_minutes"] == math.ceil(2 + road(sirens) / 80 * 60)
    mobile = next(p for p in found["dealers"] if p["provider_id"] == dealer.id)
    assert mobile["eta_minutes"] == math.ceil(15 + road(dealer) / 50 * 60)
    assert {p["kind"] for p in found["towing"]} == {"tow"} and found["problem"] is None


def test_eta_in_words():
    assert dispatch_service.eta_minutes("tow", 60) == 70
    assert dispatch_service.in_words(70) == "about 1 h 10 min"
    assert dispatch_service.in_words(120) == "about 2 h"
    assert dispatch_service.in_words(0) == "any minute now"


def test_only_dealers_open_now_with_service_bays_are_offered(make, session):
    weekdays = make.dealer(opening_hours=WEEKDAYS, **at(5))
    sundays = make.dealer(opening_hours={"sun": [["10:00", "14:00"]]}, **at(9))
    no_bays = make.dealer(opening_hours=WEEKDAYS, service_bays=0, **at(2))
    case = new_case(make)

    def offered(moment):
        found = dispatch_service.providers_for(session=session, case_id=case.id, now=moment)
        return [p["provider_id"] for p in found["dealers"] if p["provider_id"] in {weekdays.id, sundays.id, no_bays.id}]

    assert offered(MONDAY_11_BERLIN) == [weekdays.id]
    assert offered(SUNDAY_11_BERLIN) == [sundays.id]
    assert offered(datetime(2026, 11, 23, 17, 30, tzinfo=UTC)) == []  # 18:30 in Berlin: closed
    # and a closed dealer cannot be sent either
    with frozen_at(SUNDAY_11_BERLIN), pytest.raises(Invalid, match="closed now"):
        dispatch_service.dispatch(session=session, principal=agent(make), case_id=case.id,
                                  provider_id=weekdays.id, kind="dealer")


def test_a_case_without_position_says_so(make, session):
    case = new_case(make, position=None)
    found = dispatch_service.providers_for(session=session, case_id=case.id, now=MONDAY_11_BERLIN)
    assert found["towing"] == [] and "has no position yet" in found["problem"]
    tow = make.partner("roadside", **at(3))
    with pytest.raises(Invalid, match="no position"):
        dispatch_service.dispatch(session=session, principal=agent(make), case_id=case.id, provider_id=tow.id,
                                  kind="tow")


def test_wrong_kinds_and_finished_cases_are_refused_in_words(make, session):
    sirens = make.partner("emergency", **at(3))
    make.dealer(**at(4))
    case = new_case(make)
    who = agent(make)
    with pytest.raises(Invalid, match="is not a tow truck"):
        dispatch_service.dispatch(session=session, principal=who, case_id=case.id, provider_id=sirens.id, kind="tow")
    with pytest.raises(Invalid, match="not 'helicopter'"):
        dispatch_service.dispatch(session=session, principal=who, case_id=case.id, provider_id=sirens.id,
                                  kind="helicopter")
    for status in ("resolved", "closed"):
        done = new_case(make, status=status)
        with pytest.raises(Conflict, match=f"is {status}"):
            dispatch_service.dispatch(session=session, principal=who, case_id=done.id, provider_id=sirens.id,
                                      kind="emergency")


def test_a_tow_goes_to_the_owners_service_dealer_within_30_km_else_the_nearest_with_bays(make, session):
    nearest = make.dealer(opening_hours={}, **at(5))  # closed all week: a tow arrives later anyway
    make.dealer(service_bays=0, **at(1))  # no bays: never a destination
    own_close = make.dealer(**at(20))  # 26 road km
    own_far = make.dealer(**at(25))  # 32.5 road km
    tow = make.partner("roadside", **at(2))
    vehicle = make.vehicle(owner=make.customer())
    who = agent(make)

    vehicle.service_dealer_id = own_close.id
    sent = dispatch_service.dispatch(session=session, principal=who, case_id=new_case(make, vehicle=vehicle).id,
                                     provider_id=tow.id, kind="tow")
    assert sent.destination_dealer_id == own_close.id

    vehicle.service_dealer_id = own_far.id
    sent = dispatch_service.dispatch(session=session, principal=who, case_id=new_case(make, vehicle=vehicle).id,
                                     provider_id=tow.id, kind="tow")
    assert sent.destination_dealer_id == nearest.id


def test_dispatch_records_the_timeline_and_notifies_provider_and_dealer(make, session):
    tow = make.partner("roadside", email="dispatch@tow.example", **at(6))
    sirens = make.partner("emergency", **at(3))
    dealer = make.dealer(email="service@dealer.example", **at(10))
    case = new_case(make)
    who = agent(make)
    moment = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
    with frozen_at(moment):
        sent = dispatch_service.dispatch(session=session, principal=who, case_id=case.id, provider_id=tow.id,
                                         kind="tow")
    assert (sent.kind, sent.status, sent.dispatched_by, sent.destination_dealer_id) == (
        "tow", "on_the_way", who.user_id, dealer.id)
    assert sent.distance_km == round(road(tow), 1)
    assert (case.status, case.dispatched_at) == ("dispatched", moment)
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
    assert event.kind == "dispatched" and tow.name in event.text and dealer.name in event.text
    assert event.details["dispatch_id"] == sent.id
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"dispatch:{sent.id}:%"))
                               .order_by(OutboxMessage.id)).all()
    assert [(m.organization_id, m.topic, m.channel, m.basis, m.customer_id) for m in messages] == [
        (tow.id, "dispatch", "email", "vital_interest", None),
        (dealer.id, "incoming_car", "email", "vital_interest", None)]
    assert case.number in messages[0].body and "VIN" in messages[0].body and dealer.name in messages[0].body
    # a second dispatch: the first dispatch time stays, the emergency service gets its own message
    later = dispatch_service.dispatch(session=session, principal=who, case_id=case.id, provider_id=sirens.id,
                                      kind="emergency")
    assert case.dispatched_at == moment and later.destination_dealer_id is None
    assert session.scalars(select(OutboxMessage.topic).where(OutboxMessage.organization_id == sirens.id)).all() == [
        "dispatch"]


def test_the_sender_delivers_an_organization_message(make, session, session_factory, settings, smtp):  # noqa: F811
    tow = make.partner("roadside", email="night.desk@tow.example", **at(6))
    make.dealer(email=None, **at(10))  # no address: the dealer's message is marked and skipped
    case = new_case(make)
    dispatch_service.dispatch(session=session, principal=agent(make), case_id=case.id, provider_id=tow.id,
                              kind="tow")
    session.commit()  # the app's own sender tried at once, at a mail server this test does not run
    with frozen_at(datetime.now(UTC) + timedelta(hours=1)):  # the next round, past that attempt's back-off
        result = notify.send_pending(session_factory=session_factory,
                                     settings=_settings(settings.database_url, smtp.port))
    assert result["sent"] >= 1
    delivered = [(r, m) for r, m in smtp.received if r == ["night.desk@tow.example"]]
    assert len(delivered) == 1
    assert case.number in delivered[0][1]["Subject"] and "Abschleppwagen" in delivered[0][1].get_content()  # in its market's language
    skipped = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "incoming_car",
                                                          OutboxMessage.dedupe_key.like("dispatch:%"))).all()
    session.expire_all()
    assert all(m.sent_at is not None and m.last_error == notify.NO_ADDRESS for m in skipped)

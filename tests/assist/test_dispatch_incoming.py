"""The receiving dealer: the cars towed to it (its own only), the owner only with consent, "arrived"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.assist import dispatch as dispatch_service
from forecourt.assist.models import CaseEvent
from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Conflict, NotFound
from forecourt.parties import service as parties_service
from forecourt.parties.models import User
from tests.assist.test_dispatch import agent, at, new_case
from tests.factories import browser_for, csrf_token_of

MOMENT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def principal(make, login):
    return parties_service.principal_for(make.session.get(User, login.user_id))


@pytest.fixture
def towed(make, session):
    """Customer Ada's car towed to dealer ``receiving``; another dealer further away."""
    receiving = make.dealer(**at(10))
    other = make.dealer(**at(60))
    tow = make.partner("roadside", **at(4))
    owner = make.customer(first_name="Ada", last_name=f"Towed{make.n()}", phone="+49 30 555")
    vehicle = make.vehicle(owner=owner, colour="Lava red")
    case = new_case(make, vehicle=vehicle)
    case.customer_id = owner.id
    with frozen_at(MOMENT):
        sent = dispatch_service.dispatch(session=session, principal=agent(make), case_id=case.id,
                                         provider_id=tow.id, kind="tow")
    session.commit()
    return dict(receiving=receiving, other=other, owner=owner, vehicle=vehicle, case=case, sent=sent, tow=tow)


def test_the_dealer_sees_the_car_coming_without_the_owner_unless_allowed(make, session, towed):
    rep = principal(make, make.staff(towed["receiving"], Role.DEALER_SERVICE))
    (car,) = dispatch_service.incoming_for(session=session, principal=rep, now=MOMENT + timedelta(minutes=5))
    assert (car["vin"], car["colour"], car["case_kind"], car["towed_by"]) == (
        towed["vehicle"].vin, "Lava red", "crash", towed["tow"].name)
    # ETA: the truck's own ETA, 20 min loading, the drive to the dealer at 60 km/h, minus the 5 min gone
    km = dispatch_service.road_km(50.0, 8.0, towed["receiving"].latitude, towed["receiving"].longitude)
    assert car["eta_minutes"] == towed["sent"].eta_minutes + 20 + round(km) - 5
    assert car["from"].endswith("km away") and car["customer_id"] is None
    logged = select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == towed["owner"].id)
    assert session.scalar(logged) == 0
    # the owner allows this dealer service reminders: now the owner is shown, and the read is logged
    make.grant(towed["owner"], towed["receiving"], "service_reminders")
    (car,) = dispatch_service.incoming_for(session=session, principal=rep, now=MOMENT)
    assert car["customer_id"] == towed["owner"].id and session.scalar(logged) == 1
    # another dealer sees nothing of it
    other = principal(make, make.staff(towed["other"], Role.DEALER_SERVICE))
    assert dispatch_service.incoming_for(session=session, principal=other, now=MOMENT) == []
    with pytest.raises(NotFound):
        dispatch_service.mark_arrived(session=session, principal=other, dispatch_id=towed["sent"].id, now=MOMENT)


def test_arrived_takes_it_off_the_list_and_onto_the_timeline(make, session, towed):
    rep = principal(make, make.staff(towed["receiving"], Role.DEALER_SALES))
    done = dispatch_service.mark_arrived(session=session, principal=rep, dispatch_id=towed["sent"].id,
                                         now=MOMENT + timedelta(hours=1))
    assert (done.status, done.arrived_at) == ("arrived", MOMENT + timedelta(hours=1))
    assert dispatch_service.incoming_for(session=session, principal=rep, now=MOMENT) == []
    kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == towed["case"].id)
                            .order_by(CaseEvent.id)).all()
    assert kinds == ["dispatched", "arrived"]
    with pytest.raises(Conflict, match="already marked “arrived”"):
        dispatch_service.mark_arrived(session=session, principal=rep, dispatch_id=towed["sent"].id, now=MOMENT)


def test_api_and_page(make, session, client, towed):
    login = make.staff(towed["receiving"], Role.DEALER_SERVICE)
    body = client.get("/api/dealer/incoming", headers=login.headers).json()
    assert [(c["vin"], c["customer"]) for c in body] == [(towed["vehicle"].vin, None)]
    assert "from" in body[0] and towed["owner"].last_name not in str(body)
    make.grant(towed["owner"], towed["receiving"], "service_reminders")
    body = client.get("/api/dealer/incoming", headers=login.headers).json()
    assert body[0]["customer"]["name"] == f"Ada {towed['owner'].last_name}"
    browser = browser_for(make, login)
    page = browser.get("/workspace/incoming")
    assert page.status_code == 200 and towed["vehicle"].vin in page.text and towed["owner"].last_name in page.text
    done = browser.post(f"/workspace/incoming/{towed['sent'].id}/arrived", follow_redirects=False,
                        data={"csrf_token": csrf_token_of(session, browser)})
    assert done.status_code == 303
    page = browser.get(done.headers["location"])
    assert "No cars on their way to you" in page.text and "Marked as arrived" in page.text


def test_the_agent_api_finds_and_sends_help_and_refuses_in_words(make, session, client):
    tow = make.partner("roadside", **at(4))
    make.dealer(**at(10))
    sirens = make.partner("emergency", **at(2))
    case = new_case(make)
    session.commit()
    login = make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)
    found = client.get(f"/api/cases/{case.number}/providers", headers=login.headers).json()
    assert tow.id in [p["provider_id"] for p in found["towing"]]
    wrong = client.post(f"/api/cases/{case.number}/dispatches", headers=login.headers,
                        json={"provider_id": sirens.id, "kind": "tow"})
    assert wrong.status_code in (400, 422) and "is not a tow truck" in wrong.text
    sent = client.post(f"/api/cases/{case.number}/dispatches", headers=login.headers,
                       json={"provider_id": tow.id, "kind": "tow"})
    assert sent.status_code == 201 and sent.json()["status"] == "on_the_way"
    rep = make.staff(make.dealer())
    assert client.get(f"/api/cases/{case.number}/providers", headers=rep.headers).status_code == 404
    assert client.get("/api/cases/OC-NOPE/providers", headers=login.headers).status_code == 404

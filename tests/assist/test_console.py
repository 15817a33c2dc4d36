"""The On Call console: agents only, a live stream that moves when an alert arrives, the case page
reading the customer under vital interest (logged, with the case number), and emergency contacts."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from forecourt.assist import cases, contacts, intake
from forecourt.assist.models import EmergencyContact
from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.errors import Invalid
from forecourt.web.views.console import case_changes
from tests.factories import admin_login, browser_for, csrf_token_of


@pytest.fixture
def agent(make):
    return make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)


def _crash(make, session, **profile):
    owner = make.customer(first_name="Ilse", phone="+49 40 5556677", **profile)
    vehicle = make.vehicle(owner=owner, colour="Crystal White")
    case = intake.raise_alert(session=session, vehicle_id=vehicle.id, kind="crash", source="mqtt",
                              latitude=53.55, longitude=9.99)
    session.commit()
    return owner, vehicle, case


def test_the_console_is_for_agents_only(make, session, agent):
    _, _, case = _crash(make, session)
    page = browser_for(make, agent).get("/console")
    assert page.status_code == 200 and case.number in page.text and 'data-stream-url="/console/stream' in page.text
    assert "<script>" not in page.text  # the CSP forbids inline scripts
    fragment = browser_for(make, agent).get("/console/queue")
    assert fragment.status_code == 200 and case.number in fragment.text and "<html" not in fragment.text
    rep = make.staff(make.dealer(), Role.DEALER_SERVICE)
    for login in (rep, admin_login(make), make.customer_login(make.customer())):
        browser = browser_for(make, login)
        for url in ("/console", "/console/queue", f"/console/cases/{case.number}", "/console/stream?seconds=0.1"):
            assert browser.get(url).status_code == 404, (login.email, url)


def test_the_stream_sends_a_small_event_after_a_new_alert(make, session, session_factory):
    after = cases.last_event_id(session=session)

    async def collect(lifetime: float) -> list[str]:
        return [chunk async for chunk in case_changes(session_factory, after=after, lifetime=lifetime, poll=0.05,
                                                      heartbeat=0.2)]

    quiet = asyncio.run(collect(0.3))
    assert quiet[0].startswith("retry:") and not any(c.startswith("event:") for c in quiet)
    assert ": heartbeat\n\n" in quiet  # idle streams are kept open with comments

    _, _, case = _crash(make, session)
    chunks = asyncio.run(collect(0.3))
    events = [c for c in chunks if c.startswith("event: cases")]
    newest = cases.last_event_id(session=session)
    assert events == [f"event: cases\nid: {newest}\ndata: {newest}\n\n"]  # one tiny event, no customer data
    assert case.number not in "".join(chunks)


def test_the_stream_ends_when_the_client_goes(session_factory):
    async def gone() -> bool:
        return True

    async def collect() -> list[str]:
        return [chunk async for chunk in case_changes(session_factory, after=0, lifetime=30, disconnected=gone)]

    assert asyncio.run(collect()) == ["retry: 1000\n\n"]


def test_the_case_page_shows_the_customer_without_consent_and_logs_it(make, session, agent):
    owner, vehicle, case = _crash(make, session)
    contacts.replace(session=session, customer_id=owner.id,
                     contacts=[{"name": "Jonas Nachbar", "phone": "+49 40 9998877", "relation": "neighbour"}])
    session.commit()

    def logged() -> list[AccessLogEntry]:
        return list(session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == owner.id)))

    assert logged() == []
    page = browser_for(make, agent).get(f"/console/cases/{case.number}")
    assert page.status_code == 200
    for shown in (owner.last_name, "040 5556677", "Jonas Nachbar", "040 9998877", vehicle.vin, "Crystal White",
                  vehicle.propulsion.replace("_", " "), "No On Call subscription", "Acknowledge"):
        assert shown in page.text, shown
    assert 'data-map="' in page.text and "<script>" not in page.text
    rows = logged()
    assert len(rows) == 1
    assert (rows[0].purpose_code, rows[0].legal_basis, rows[0].reference, rows[0].user_id) == (
        "emergency_assistance", "vital_interest", case.number, agent.user_id)


def test_agent_actions_move_the_case_and_come_back_to_it(make, session, agent):
    _, _, case = _crash(make, session)
    tow = make.partner("roadside", latitude=53.56, longitude=10.0)
    dealer = make.dealer(latitude=53.57, longitude=10.02)
    session.commit()
    browser = browser_for(make, agent)
    url = f"/console/cases/{case.number}"

    def post(action: str, **form):
        return browser.post(f"{url}/{action}", data=form | {"csrf_token": csrf_token_of(session, browser)},
                            follow_redirects=False)

    refused = post("close")
    assert refused.status_code == 303 and "error=" in refused.headers["location"]
    assert post("acknowledge").status_code == 303
    assert post("notes", text="Driver answers, shaken").status_code == 303
    sent = post("dispatch", provider_id=str(tow.id), kind="tow")
    assert sent.status_code == 303 and "flash=" in sent.headers["location"], sent.headers["location"]
    session.expire_all()
    assert cases.get(session=session, case_id=case.id).status == "dispatched"
    page = browser.get(url)
    assert tow.name in page.text and f"to {dealer.name}" in page.text and "Driver answers, shaken" in page.text
    assert post("resolve", resolution="help_arrived").status_code == 303
    assert post("close").status_code == 303
    session.expire_all()
    assert cases.get(session=session, case_id=case.id).status == "closed"
    assert case.number not in browser.get("/console/queue").text


def test_emergency_contacts_are_checked_and_replaced(make, session):
    owner = make.customer()
    saved = contacts.replace(session=session, customer_id=owner.id, contacts=[
        {"name": "Ana", "phone": "+49 170 1234567", "relation": "sister"}, {"name": "", "phone": "", "relation": ""},
        {"name": "Ben", "phone": "040 / 123 456 78"}])
    assert [(c.name, c.position) for c in saved] == [("Ana", 0), ("Ben", 1)]
    with pytest.raises(Invalid, match="not a phone number"):
        contacts.replace(session=session, customer_id=owner.id, contacts=[{"name": "Cleo", "phone": "call me"}])
    with pytest.raises(Invalid, match="give a phone number"):
        contacts.replace(session=session, customer_id=owner.id, contacts=[{"name": "Cleo", "phone": ""}])
    with pytest.raises(Invalid, match="give a name"):
        contacts.replace(session=session, customer_id=owner.id, contacts=[{"name": "", "phone": "+49 1234"}])
    with pytest.raises(Invalid, match="At most 3"):
        contacts.replace(session=session, customer_id=owner.id,
                         contacts=[{"name": f"C{i}", "phone": f"+49 40 {i}000"} for i in range(4)])
    assert [c.name for c in contacts.list_for(session=session, customer_id=owner.id)] == ["Ana", "Ben"]


def test_the_owner_keeps_their_contacts_on_the_portal(make, session):
    owner = make.customer()
    browser = browser_for(make, make.customer_login(owner))
    page = browser.get("/me/on-call/contacts")
    assert page.status_code == 200 and page.text.count('name="contact_name"') == 3
    token = csrf_token_of(session, browser)
    bad = browser.post("/me/on-call/contacts", data={"csrf_token": token, "contact_name": ["Ana"],
                                                      "contact_phone": ["not a number"], "contact_relation": [""]})
    assert bad.status_code == 400 and "not a phone number" in bad.text and 'value="Ana"' in bad.text
    good = browser.post("/me/on-call/contacts", follow_redirects=False,
                        data={"csrf_token": token, "contact_name": ["Ana", ""],
                              "contact_phone": ["+49 170 1234567", ""], "contact_relation": ["sister", ""]})
    assert good.status_code == 303
    session.expire_all()
    assert [(c.name, c.phone) for c in session.scalars(select(EmergencyContact).where(
        EmergencyContact.customer_id == owner.id))] == [("Ana", "+491701234567")]  # E.164


def test_a_handled_case_leaves_the_queue_for_the_recently_handled_list(make, session, agent):
    _, _, case = _crash(make, session)
    browser = browser_for(make, agent)
    assert 'id="closed-cases"' not in browser.get("/console").text  # nothing handled yet: no empty table
    principal = make.principal(agent)
    cases.acknowledge(session=session, principal=principal, case_id=case.id)
    cases.resolve(session=session, principal=principal, case_id=case.id, resolution="help_arrived")
    session.commit()
    page = browser.get("/console").text
    handled = page.split('id="closed-cases"')[1]
    assert f'<a href="/console/cases/{case.number}">{case.number}</a>' in handled and "Help arrived" in handled
    assert browser.get(f"/console/cases/{case.number}").status_code == 200

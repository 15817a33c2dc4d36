"""The case lifecycle: queue order, forward-only states, SLA timers on a frozen clock, the timeline and
the agent's JSON API, whose customer reads are logged under emergency assistance with the case number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from forecourt.assist import cases, intake
from forecourt.assist.models import EmergencyContact
from forecourt.consent.models import AccessLogEntry, Grant
from forecourt.core.auth import Role
from forecourt.core.clock import advance, frozen_at
from forecourt.core.errors import Conflict, Invalid

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def noon():
    with frozen_at(NOON):
        yield


@pytest.fixture
def owner(make):
    return make.customer(first_name="Mira", last_name="Notfallstein", email="mira.notfall@owner.example",
                         phone="+49 170 5550123")


@pytest.fixture
def agent(make):
    return make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)


def alert(session, make, kind="sos", owner=None, **values):
    vehicle = make.vehicle(owner=owner)
    return intake.raise_alert(session=session, vehicle_id=vehicle.id, kind=kind, source="mqtt", at=NOON,
                              latitude=52.5, longitude=13.4, **values)


def principal_of(login):
    from forecourt.core.auth import Principal

    return Principal(user_id=login.user_id, role=Role.CALL_CENTRE_AGENT, display_name="Agent",
                     organization_id=login.organization_id)


def test_the_queue_puts_untaken_cases_first_then_priority_then_age(session, make, agent):
    breakdown = alert(session, make, "breakdown")
    advance(timedelta(seconds=10))
    sos = alert(session, make, "sos")
    advance(timedelta(seconds=10))
    crash = alert(session, make, "crash")
    older_crash_taken = alert(session, make, "crash")
    cases.acknowledge(session=session, principal=principal_of(agent), case_id=older_crash_taken.id)
    done = alert(session, make, "crash")
    cases.acknowledge(session=session, principal=principal_of(agent), case_id=done.id)
    cases.resolve(session=session, principal=principal_of(agent), case_id=done.id, resolution="false_alarm")
    assert [c.id for c in cases.queue(session=session)] == [crash.id, sos.id, breakdown.id, older_crash_taken.id]


def test_states_move_forward_only_and_say_why_not(session, make, agent):
    me = principal_of(agent)
    case = alert(session, make)
    with pytest.raises(Conflict, match="must be acknowledged or dispatched before it can be resolved"):
        cases.resolve(session=session, principal=me, case_id=case.id, resolution="driver_ok")
    with pytest.raises(Conflict, match="must be resolved before it can be closed"):
        cases.close(session=session, principal=me, case_id=case.id)
    cases.acknowledge(session=session, principal=me, case_id=case.id)
    assert (case.status, case.agent_user_id) == ("acknowledged", agent.user_id)
    with pytest.raises(Conflict, match="already acknowledged"):
        cases.acknowledge(session=session, principal=me, case_id=case.id)
    cases.mark_dispatched(session=session, principal=me, case=case, text="Tow truck sent")
    with pytest.raises(Invalid, match="Unknown resolution"):
        cases.resolve(session=session, principal=me, case_id=case.id, resolution="vanished")
    cases.resolve(session=session, principal=me, case_id=case.id, resolution="towed", note="to Autohaus Hafen")
    with pytest.raises(Conflict, match="already resolved; it cannot be acknowledged any more"):
        cases.acknowledge(session=session, principal=me, case_id=case.id)
    with pytest.raises(Conflict, match="already resolved"):
        cases.mark_dispatched(session=session, principal=me, case=case, text="again")
    cases.close(session=session, principal=me, case_id=case.id)
    with pytest.raises(Conflict, match="closed"):
        cases.add_note(session=session, principal=me, case_id=case.id, text="late")
    assert [e.kind for e in cases.timeline(session=session, case=case)] == [
        "alert", "acknowledged", "dispatched", "resolved", "closed"]
    assert case.resolution == "towed"


def test_sla_timers_run_until_their_step_and_flag_overdue(session, make, agent):
    me = principal_of(agent)
    case = alert(session, make, "crash")
    advance(timedelta(seconds=45))
    timers = cases.sla(case)
    assert timers["acknowledge"] == {"seconds": 45, "target_seconds": 60, "running": True, "overdue": False}
    advance(timedelta(seconds=30))
    assert cases.sla(case)["acknowledge"]["overdue"] is True
    cases.acknowledge(session=session, principal=me, case_id=case.id)
    advance(timedelta(minutes=10))
    timers = cases.sla(case)
    assert timers["acknowledge"] == {"seconds": 75, "target_seconds": 60, "running": False, "overdue": True}
    assert timers["dispatch"]["seconds"] == 675 and timers["dispatch"]["overdue"] and timers["dispatch"]["running"]
    quick = alert(session, make, "sos")
    advance(timedelta(seconds=20))
    cases.mark_dispatched(session=session, principal=me, case=quick, text="Police informed")
    advance(timedelta(hours=1))
    assert cases.sla(quick)["dispatch"] == {"seconds": 20, "target_seconds": 300, "running": False,
                                            "overdue": False}


def test_changes_since_hands_the_console_only_new_events(session, make, agent):
    start = cases.last_event_id(session=session)
    case = alert(session, make)
    new, last = cases.changes_since(session=session, after_event_id=start)
    assert [e.kind for e in new] == ["alert"] and last == new[-1].id
    cases.add_note(session=session, principal=principal_of(agent), case_id=case.id, text="Driver answers, shaken")
    new, again = cases.changes_since(session=session, after_event_id=last)
    assert [e.text for e in new] == ["Driver answers, shaken"]
    assert cases.changes_since(session=session, after_event_id=again) == ([], again)


# --- the JSON API --------------------------------------------------------------------------------

def test_an_agent_reads_the_case_with_customer_vehicle_and_timeline_logged_without_consent(
        client, session, make, owner, agent):
    case = alert(session, make, "crash", owner=owner)
    session.add(EmergencyContact(customer_id=owner.id, name="Jonas Notfallstein", phone="+49 170 5550999",
                                 relation="partner"))
    session.commit()
    assert session.scalars(select(Grant).where(Grant.customer_id == owner.id)).first() is None
    queue = client.get("/api/cases", headers=agent.headers)
    assert queue.status_code == 200 and [c["number"] for c in queue.json()] == [case.number]
    assert "Notfallstein" not in queue.text  # the queue carries no customer data
    response = client.get(f"/api/cases/{case.number}", headers=agent.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["vehicle"]["colour"] == "Glacier white" and body["vehicle"]["propulsion"]
    assert body["customer"]["phone"] == "+491705550123"  # stored as E.164; pages show it as the reader dials it
    assert body["customer"]["emergency_contacts"][0]["name"] == "Jonas Notfallstein"
    assert body["case"]["sla"]["acknowledge"]["running"] is True
    assert [e["kind"] for e in body["timeline"]] == ["alert"]
    session.expire_all()
    [entry] = session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == owner.id))
    assert (entry.purpose_code, entry.legal_basis, entry.reference, entry.user_id) == (
        "emergency_assistance", "vital_interest", case.number, agent.user_id)


def test_the_agent_acts_through_the_api(client, session, make, agent):
    case = alert(session, make)
    session.commit()
    url = f"/api/cases/{case.number}"
    early = client.post(f"{url}/resolve", json={"resolution": "driver_ok"}, headers=agent.headers)
    assert early.status_code == 409 and "acknowledged" in early.text
    assert client.post(f"{url}/acknowledge", headers=agent.headers).json()["status"] == "acknowledged"
    note = client.post(f"{url}/notes", json={"text": "Driver says she is fine"}, headers=agent.headers)
    assert note.status_code == 201 and note.json()["kind"] == "note"
    assert client.post(f"{url}/notes", json={"text": "x", "owner": 1}, headers=agent.headers).status_code == 422
    resolved = client.post(f"{url}/resolve", json={"resolution": "driver_ok"}, headers=agent.headers)
    assert resolved.json()["resolution"] == "driver_ok"
    assert client.post(f"{url}/close", headers=agent.headers).json()["status"] == "closed"
    assert client.get("/api/cases/OC-00000", headers=agent.headers).status_code == 404


def test_nobody_but_agents_sees_a_case(client, session, make, owner):
    case = alert(session, make, owner=owner)
    session.commit()
    dealer = make.dealer()
    callers = [make.staff(dealer, Role.DEALER_SALES), make.staff(dealer, Role.DEALER_SERVICE),
               make.staff(make.carmaker(), Role.CARMAKER_ADMIN), make.staff(make.partner("roadside"),
                                                                            Role.PARTNER_ANALYST),
               make.customer_login(owner)]
    for caller in callers:
        for method, path in (("GET", "/api/cases"), ("GET", f"/api/cases/{case.number}"),
                             ("POST", f"/api/cases/{case.number}/acknowledge")):
            assert client.request(method, path, headers=caller.headers).status_code == 404, (caller.email, path)
    session.expire_all()
    assert session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == owner.id)).first() is None
    assert client.get("/api/cases").status_code == 401

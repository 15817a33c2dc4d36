"""The advisor's calendar: the dealer's own bays by time, week navigation, check-in with recall flags."""

from __future__ import annotations

from datetime import date

from forecourt.core.auth import Role
from forecourt.workshop import booking
from tests.factories import browser_for
from tests.workshop.booking_scene import utc
from tests.workshop.test_brief import advisor_scene, frozen  # noqa: F401 - the fixture


def test_calendar_lists_only_the_own_dealers_appointments_by_bay(make, session, client, frozen):  # noqa: F811
    mine = advisor_scene(make, session, bay=2)
    theirs = advisor_scene(make, session)  # another dealer, same morning
    response = client.get("/api/advisor/calendar", params={"day": "2025-06-02"}, headers=mine.advisor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bays"] == [1, 2] and body["opening_hours"] == [["08:00", "18:00"]]
    assert [(a["id"], a["bay"], a["job"], a["status"]) for a in body["appointments"]] == [
        (mine.appointment.id, 2, "Fault diagnosis", "confirmed")]
    assert body["appointments"][0]["starts_at"].startswith("2025-06-02T09:00:00+02:00")
    assert body["appointments"][0]["brief_url"] == f"/workspace/service/appointments/{mine.appointment.id}"
    assert theirs.appointment.id not in [a["id"] for a in body["appointments"]]
    # no customer appears in the calendar: it is the dealer's book of bays
    assert mine.customer.last_name not in response.text and mine.customer.email not in response.text
    # another day is empty
    assert client.get("/api/advisor/calendar", params={"day": "2025-06-03"},
                      headers=mine.advisor.headers).json()["appointments"] == []


def test_calendar_page_draws_the_grid_and_links_the_brief(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    second = booking.book(session=session, dealer_id=scene.dealer.id, vehicle_id=make.vehicle().id, customer_id=None,
                          bay=2, starts_at=utc(2, 10, 30), job="tyres", source="advisor", reason="Summer tyres")
    session.commit()
    browser = browser_for(make, scene.advisor)
    page = browser.get("/workspace/service/calendar", params={"day": "2025-06-02"})
    assert page.status_code == 200
    assert f'href="/workspace/service/appointments/{scene.appointment.id}"' in page.text
    assert f'data-appointment="{second.id}"' in page.text
    assert 'rowspan="2"' in page.text  # the 60-minute diagnosis spans two 30-minute rows
    assert "Bay 1" in page.text and "Bay 2" in page.text and "Tyres" in page.text
    assert "Mon 02 Jun · 2" in page.text  # the week strip counts Monday's bookings
    # default: today (Sunday, closed) with an empty state; a bad date falls back to today
    today = browser.get("/workspace/service/calendar")
    assert "No appointments on this day" in today.text and "Closed on Sundays" in today.text
    assert "is not a date" in browser.get("/workspace/service/calendar", params={"day": "soon"}).text


def test_calendar_is_for_dealer_staff_only(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    me = make.customer_login(scene.customer)
    agent = make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)
    for login in (me, agent):
        assert client.get("/api/advisor/calendar", headers=login.headers).status_code == 404
    assert client.get("/api/advisor/calendar").status_code == 401


def test_check_in_sets_the_status_and_flags_open_recalls(make, session, client, frozen):  # noqa: F811
    from forecourt.vehicles.models import RecallCampaign, RecallVehicle

    scene = advisor_scene(make, session)
    campaign = RecallCampaign(code=f"RC-{make.n()}", title="Brake hose may chafe", remedy="Replace the hose",
                              severity="high", labour_minutes=45)
    session.add(campaign)
    session.flush()
    session.add(RecallVehicle(campaign_id=campaign.id, vehicle_id=scene.vehicle.id, state="notified"))
    session.commit()
    brief = client.get(f"/api/advisor/appointments/{scene.appointment.id}/brief", headers=scene.advisor.headers)
    assert [r["code"] for r in brief.json()["recalls"]] == [campaign.code]  # shown without any grant: the car's
    response = client.post(f"/api/advisor/appointments/{scene.appointment.id}/check-in", headers=scene.advisor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "checked_in" and [r["code"] for r in body["recalls"]] == [campaign.code]
    assert campaign.code in body["message"]
    other = make.staff(make.dealer(), Role.DEALER_SERVICE)
    assert client.post(f"/api/advisor/appointments/{scene.appointment.id}/check-in",
                       headers=other.headers).status_code == 404


def test_a_cancelled_appointment_cannot_be_checked_in(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    booking.cancel(session=session, appointment=scene.appointment, by="owner")
    session.commit()
    response = client.post(f"/api/advisor/appointments/{scene.appointment.id}/check-in",
                           headers=scene.advisor.headers)
    assert response.status_code == 409 and "cancelled" in response.text
    day = client.get("/api/advisor/calendar", params={"day": date(2025, 6, 2).isoformat()},
                     headers=scene.advisor.headers).json()
    assert day["appointments"] == []  # cancelled bookings leave the calendar

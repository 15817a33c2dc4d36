"""Courtesy cars going out and coming back: the hand-over and the return with their condition, late minutes
and extra kilometres worked out, the car free for the next booking at once, and its history — all for the
loaner's own dealer's service staff only."""

from __future__ import annotations

from forecourt.core.auth import Role
from forecourt.core.clock import advance
from forecourt.workshop import booking, loaners
from tests.factories import browser_for, csrf_token_of
from tests.workshop.booking_scene import utc
from tests.workshop.test_brief import advisor_scene, frozen  # noqa: F401 - the fixture
from tests.workshop.test_loaners import _fleet, _model, _offer

CONDITION = {"odometer_km": 1200, "energy_percent": 80, "damage_notes": "Scratch on the rear bumper",
             "photos": ["https://photos.example/loaner/1.jpg"]}


def _lent(make, session, client, scene):
    _, electric = _model(make, "Volta", "electric")
    [loaner_id] = _fleet(make, client, scene, electric)
    offered = _offer(client, scene)
    assert offered.status_code == 201, offered.text
    return loaner_id, offered.json()["id"]


def test_hand_over_and_return_work_out_late_minutes_and_extra_km(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    loaner_id, booking_id = _lent(make, session, client, scene)
    base = f"/api/advisor/loaner-bookings/{booking_id}"
    early = client.post(f"{base}/return", json=CONDITION, headers=scene.advisor.headers)
    assert early.status_code == 409 and "hand-over first" in early.text
    bad = client.post(f"{base}/handover", json=CONDITION | {"photos": ["file:///etc/passwd"]},
                      headers=scene.advisor.headers)
    assert bad.status_code == 422 and "https://" in bad.text
    out = client.post(f"{base}/handover", json=CONDITION, headers=scene.advisor.headers)
    assert out.status_code == 201, out.text
    assert out.json()["kind"] == "handover" and out.json()["photos"] == CONDITION["photos"]
    again = client.post(f"{base}/handover", json=CONDITION, headers=scene.advisor.headers)
    assert again.status_code == 409
    # booked for Monday 09:00-10:00 Berlin; back on Monday 11:30, 1.5 h late, 137 km further
    advance(utc(2, 11, 30) - frozen)
    advisor = make.staff(scene.dealer, Role.DEALER_SERVICE)  # a fresh login on Monday
    backwards = client.post(f"{base}/return", json=CONDITION | {"odometer_km": 1100}, headers=advisor.headers)
    assert backwards.status_code == 422 and "1200" in backwards.text.replace(",", "")
    back = client.post(f"{base}/return", json=CONDITION | {"odometer_km": 1337, "energy_percent": 35, "photos": []},
                       headers=advisor.headers)
    assert back.status_code == 201, back.text
    assert (back.json()["late_minutes"], back.json()["extra_km"]) == (90, 137)
    history = client.get(f"/api/advisor/loaners/{loaner_id}/history", headers=advisor.headers).json()
    [row] = history["bookings"]
    assert row["state"] == "returned" and row["handover"]["odometer_km"] == 1200
    assert row["returned"]["extra_km"] == 137 and row["returned"]["energy_percent"] == 35


def test_a_car_out_is_never_lent_again_until_returned_and_free_at_once_after(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    loaner_id, booking_id = _lent(make, session, client, scene)
    # a second appointment after the first one's planned end
    later = booking.book(session=session, dealer_id=scene.dealer.id, vehicle_id=scene.vehicle.id,
                         customer_id=scene.customer.id, bay=2, starts_at=utc(2, 14), job="tyres", source="advisor")
    session.commit()
    client.post(f"/api/advisor/loaner-bookings/{booking_id}/handover", json=CONDITION,
                headers=scene.advisor.headers).raise_for_status()
    session.expire_all()
    assert loaners.free_loaners(session=session, dealer_id=scene.dealer.id, start=utc(2, 14), end=utc(2, 15)) == []
    refused = _offer(client, scene, later.id)
    assert refused.status_code == 409  # still out with the first driver, however late
    client.post(f"/api/advisor/loaner-bookings/{booking_id}/return", json=CONDITION | {"odometer_km": 1250},
                headers=scene.advisor.headers).raise_for_status()
    lent = _offer(client, scene, later.id)
    assert lent.status_code == 201 and lent.json()["loaner_id"] == loaner_id


def test_only_the_loaners_own_service_staff_may_record_or_read(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    loaner_id, booking_id = _lent(make, session, client, scene)
    other_dealer = make.dealer()
    for caller in (make.staff(scene.dealer, Role.DEALER_SALES), make.staff(other_dealer, Role.DEALER_SERVICE),
                   make.staff(make.carmaker() if hasattr(make, "carmaker") else other_dealer)):
        assert client.post(f"/api/advisor/loaner-bookings/{booking_id}/handover", json=CONDITION,
                           headers=caller.headers).status_code == 404
        assert client.get(f"/api/advisor/loaners/{loaner_id}/history", headers=caller.headers).status_code == 404
    page = browser_for(make, make.staff(scene.dealer, Role.DEALER_SALES))
    assert page.get(f"/workspace/service/loaners/{loaner_id}").status_code == 404


def test_the_pages_record_a_hand_over_and_a_return_and_list_them(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    loaner_id, booking_id = _lent(make, session, client, scene)
    page = browser_for(make, scene.advisor)
    brief = page.get(f"/workspace/service/appointments/{scene.appointment.id}")
    assert 'id="handover-form"' in brief.text
    token = csrf_token_of(session, page)
    wrong = page.post(f"/workspace/service/loaner-bookings/{booking_id}/handover",
                      data={"csrf_token": token, "odometer_km": "lots", "energy_percent": "50"}, follow_redirects=False)
    assert wrong.status_code == 303 and "error=" in wrong.headers["location"]
    out = page.post(f"/workspace/service/loaner-bookings/{booking_id}/handover", follow_redirects=True,
                    data={"csrf_token": token, "odometer_km": "5000", "energy_percent": "90",
                          "damage_notes": "Dent, left door", "photos": "https://photos.example/a.jpg\n"})
    assert "Handed over at 5000 km" in out.text and 'id="return-form"' in out.text
    back = page.post(f"/workspace/service/loaner-bookings/{booking_id}/return", follow_redirects=True,
                     data={"csrf_token": token, "odometer_km": "5042", "energy_percent": "60", "from": "history"})
    assert "42 km driven" in back.text and "Dent, left door" in back.text
    assert back.url.path == f"/workspace/service/loaners/{loaner_id}"
    german = page.get(f"/workspace/service/loaners/{loaner_id}", headers={"Accept-Language": "de"})
    assert "Übergaben und Rückgaben" in german.text

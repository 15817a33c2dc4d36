"""What the driver noticed: picked and described when booking (proposal, portal, the app's API), refused
in words when unknown or too long, shown in the brief only beside a section the owner shares, and the
advisor's findings beside it."""

from __future__ import annotations

import pytest

from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid
from forecourt.workshop import booking, proposals, symptoms
from tests.factories import browser_for, csrf_token_of
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc
from tests.workshop.test_brief import advisor_scene


@pytest.fixture(autouse=True)
def sunday_noon():
    with frozen_at(SUNDAY_NOON):
        yield


def test_known_codes_are_kept_in_order_and_unknown_ones_refused_by_name():
    codes, notes = symptoms.clean(codes=["braking", "noise", "noise"], notes="  squeal front left  ")
    assert codes == ["noise", "braking"] and notes == "squeal front left"
    with pytest.raises(Invalid) as refused:
        symptoms.clean(codes=["noise", "rattle"], notes="")
    assert refused.value.field == "symptoms"
    assert "'rattle'" in refused.value.message and "warning_light" in refused.value.message
    with pytest.raises(Invalid) as too_long:
        symptoms.clean(codes=[], notes="x" * (symptoms.NOTES_LIMIT + 1))
    assert too_long.value.field == "symptom_notes" and "1000" in too_long.value.message


def _owner_car(make):
    shop = make.dealer(opening_hours=WEEKDAYS, service_bays=2)
    owner = make.customer()
    car = make.vehicle(owner=owner, dealer=shop)
    make.session.commit()
    return shop, owner, car


def test_the_apps_api_books_with_symptoms_and_refuses_unknown_ones(make, client):
    shop, owner, car = _owner_car(make)
    me = make.customer_login(owner)
    body = {"job": "diagnosis", "dealer_id": shop.id, "bay": 1, "starts_at": utc(2, 9).isoformat()}
    refused = client.post(f"/api/me/service/vehicles/{car.vin}/bookings", headers=me.headers,
                          json=body | {"symptoms": ["noise", "rattle"]})
    assert refused.status_code == 422 and "rattle" in refused.text
    too_long = client.post(f"/api/me/service/vehicles/{car.vin}/bookings", headers=me.headers,
                           json=body | {"symptom_notes": "x" * 1001})
    assert too_long.status_code == 422
    made = client.post(f"/api/me/service/vehicles/{car.vin}/bookings", headers=me.headers,
                       json=body | {"symptoms": ["vibration", "at_speed"], "symptom_notes": "Shakes above 100"})
    assert made.status_code == 201, made.text
    assert made.json()["symptoms"] == ["vibration", "at_speed"]
    assert made.json()["symptom_notes"] == "Shakes above 100"


def test_accepting_a_proposal_carries_the_symptoms(make, session, client):
    shop, owner, car = _owner_car(make)
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis", reason="Engine warning",
                                 cause="dtc:P0301", dtc_codes=("P0301",))
    session.commit()
    me = make.customer_login(owner)
    refused = client.post(f"/api/me/service/proposals/{proposal.id}/accept", headers=me.headers,
                          json={"slot_index": 0, "symptoms": ["knocking"]})
    assert refused.status_code == 422 and "knocking" in refused.text
    session.expire_all()
    assert session.get(type(proposal), proposal.id).status == "open"  # nothing booked by the refusal
    done = client.post(f"/api/me/service/proposals/{proposal.id}/accept", headers=me.headers,
                       json={"slot_index": 0, "symptoms": ["warning_light", "cold_start"]})
    assert done.status_code == 200, done.text
    assert done.json()["symptoms"] == ["warning_light", "cold_start"]


def test_the_portal_form_books_with_ticked_symptoms_and_says_why_it_refuses(make, session):
    shop, owner, car = _owner_car(make)
    page = browser_for(make, make.customer_login(owner))
    offer = page.get(f"/me/service/book?vin={car.vin}&job=diagnosis")
    assert offer.status_code == 200 and 'name="symptoms" value="pulling"' in offer.text
    token = csrf_token_of(session, page)
    slot = f"1|{utc(2, 9).isoformat()}"
    refused = page.post(f"/me/service/book/{car.vin}", data={"csrf_token": token, "job": "diagnosis",
                                                            "dealer_id": shop.id, "slot": slot,
                                                            "symptoms": ["smoke", "sparks"]}, follow_redirects=True)
    assert "sparks" in refused.text
    done = page.post(f"/me/service/book/{car.vin}", data={"csrf_token": token, "job": "diagnosis",
                                                         "dealer_id": shop.id, "slot": slot,
                                                         "symptoms": ["pulling", "braking"],
                                                         "symptom_notes": "Pulls right"}, follow_redirects=False)
    assert done.status_code == 303
    appointment = booking.upcoming_of(session=session, customer_id=owner.id)[0]
    assert appointment.symptoms == ["pulling", "braking"] and appointment.symptom_notes == "Pulls right"


def _with_symptoms(session, scene):
    scene.appointment.symptoms, scene.appointment.symptom_notes = ["noise", "braking"], "Grinding, front left"
    session.commit()


def test_the_brief_shows_symptoms_only_beside_a_shared_section(make, session, client):
    scene = advisor_scene(make, session)
    _with_symptoms(session, scene)
    url = f"/api/advisor/appointments/{scene.appointment.id}/brief"
    hidden = client.get(url, headers=scene.advisor.headers)
    assert hidden.json()["symptoms"] is None and "Grinding" not in hidden.text
    page = browser_for(make, scene.advisor).get(f"/workspace/service/appointments/{scene.appointment.id}")
    assert "Grinding" not in page.text and "ask the driver at the desk" in page.text
    make.grant(scene.customer, scene.dealer, "vehicle_health_sharing")
    shown = client.get(url, headers=scene.advisor.headers).json()["symptoms"]
    assert [s["code"] for s in shown["what"]] == ["noise"] and shown["when"][0]["label"] == "When braking"
    assert shown["notes"] == "Grinding, front left"
    page = browser_for(make, scene.advisor).get(f"/workspace/service/appointments/{scene.appointment.id}",
                                                headers={"Accept-Language": "de"})
    assert "Grinding, front left" in page.text and "Beim Bremsen" in page.text


def test_the_advisor_records_findings_for_their_own_dealer_only(make, session, client):
    scene = advisor_scene(make, session)
    url = f"/api/advisor/appointments/{scene.appointment.id}/findings"
    empty = client.post(url, json={"findings": "   "}, headers=scene.advisor.headers)
    assert empty.status_code == 422
    other = make.staff(make.dealer(opening_hours=WEEKDAYS, service_bays=1))
    assert client.post(url, json={"findings": "Worn pads"}, headers=other.headers).status_code == 404
    saved = client.post(url, json={"findings": "Front pads worn to 2 mm"}, headers=scene.advisor.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["findings"] == "Front pads worn to 2 mm" and saved.json()["findings_at"]
    page = browser_for(make, scene.advisor)
    posted = page.post(f"/workspace/service/appointments/{scene.appointment.id}/findings",
                       data={"csrf_token": csrf_token_of(session, page), "findings": "Pads and discs replaced"},
                       follow_redirects=True)
    assert "Pads and discs replaced" in posted.text


def test_erasure_drops_the_drivers_words_and_keeps_the_symptoms_with_the_car(make, session):
    from forecourt.workshop import records

    scene = advisor_scene(make, session)
    _with_symptoms(session, scene)
    exported = records.export_of(session=session, customer_id=scene.customer.id)["workshop_appointments"]
    assert exported[0]["symptom_notes"] == "Grinding, front left"  # "download my data" includes them
    records.erase_customer(session=session, customer_id=scene.customer.id)
    session.commit()
    session.refresh(scene.appointment)
    assert scene.appointment.customer_id is None and scene.appointment.symptom_notes == ""
    assert scene.appointment.symptoms == ["noise", "braking"]

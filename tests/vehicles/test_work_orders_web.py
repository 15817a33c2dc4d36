"""The service book and warranty over HTTP: network sharing behind consent, the owner's view, bad input."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.parties.models import AuditEntry
from forecourt.telematics.models import TwinSignal
from forecourt.vehicles.models import ServiceRecord, WarrantyContract
from forecourt.workshop.models import Appointment
from tests.api.routes.lifecycle_warranty import on_sale
from tests.factories import browser_for, csrf_token_of


def _scene(make, session):
    """A car three hundred days into its warranty, serviced by dealer A; dealer B's advisor at the desk."""
    owner = make.customer()
    dealer_a, dealer_b = make.dealer(name="Autohaus Alpha"), make.dealer(name="Autohaus Beta")
    vehicle = make.vehicle(owner=owner, dealer=dealer_a, since=now() - timedelta(days=300))
    make.service_record(vehicle, dealer_a, on=date.today() - timedelta(days=40), odometer_km=15_000)
    advisor_b = make.staff(dealer_b, Role.DEALER_SERVICE)
    session.commit()
    return owner, vehicle, dealer_a, dealer_b, advisor_b


def _booked(session, dealer, vehicle, owner, *, source: str = "owner", status: str = "checked_in",
            hours_from_now: int = -1) -> int:
    """The owner's booking at the dealer, begun an hour ago and checked in: what work is recorded against
    (and, booked by the owner, the relationship that lets the dealer write on the car at all)."""
    start = now().replace(microsecond=0) + timedelta(hours=hours_from_now)
    visit = Appointment(dealer_id=dealer.id, vehicle_id=vehicle.id, customer_id=owner.id, bay=1, starts_at=start,
                        ends_at=start + timedelta(hours=2), job="diagnosis", source=source, status=status)
    session.add(visit)
    session.commit()
    return visit.id


def _logs(session, customer, organization) -> int:
    return session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.customer_id == customer.id, AccessLogEntry.organization_id == organization.id))


def _order(**values) -> dict:
    return {"performed_on": date.today().isoformat(), "odometer_km": 16_500, "kind": "repair",
            "summary": "Wiper motor replaced", "parts": [{"number": "WM-7", "name": "Wiper motor", "quantity": 1,
                                                         "unit_price": 120}],
            "dtcs_cleared": ["B1234"], "warranty_amount": 120, "customer_amount": 35} | values


def test_another_dealer_sees_the_book_only_with_the_owners_consent(client, make, session):
    owner, vehicle, dealer_a, dealer_b, advisor_b = _scene(make, session)
    url = f"/api/vehicles/{vehicle.vin}/service-book"
    assert client.get(url, headers=advisor_b.headers).status_code == 404
    assert _logs(session, owner, dealer_b) == 0

    make.grant(owner, dealer_b, "vehicle_health_sharing")
    response = client.get(url, params={"purpose": "vehicle_health_sharing"}, headers=advisor_b.headers)
    assert response.status_code == 200
    assert [e["dealer_name"] for e in response.json()] == ["Autohaus Alpha"]
    assert _logs(session, owner, dealer_b) == 1
    make.withdraw(owner, dealer_b, "vehicle_health_sharing")
    assert client.get(url, params={"purpose": "vehicle_health_sharing"}, headers=advisor_b.headers).status_code == 404


def test_recording_echoes_only_the_dealers_own_work_without_consent(client, make, session):
    owner, vehicle, dealer_a, dealer_b, advisor_b = _scene(make, session)
    visit = _booked(session, dealer_b, vehicle, owner)
    response = client.post(f"/api/vehicles/{vehicle.vin}/work-orders", json=_order(odometer_km=9_000,
                                                                                   appointment_id=visit),
                           headers=advisor_b.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["full_book"] is False and len(body["service_book"]) == 1
    order = body["work_order"]
    assert order["dealer_name"] == "Autohaus Beta" and order["total_cost"] == 155.0
    assert (order["warranty_amount"], order["customer_amount"]) == (120.0, 35.0)
    # the rollback is flagged, but what it was compared with belongs to the book the owner did not share
    assert order["odometer_flag"] == "rollback" and "15,000" not in response.text and "Alpha" not in response.text
    # the owner sees who checked the car's odometer, and on which of their bookings
    entry = session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == owner.id)
                            .order_by(AccessLogEntry.id.desc())).first()
    assert (entry.organization_id, entry.legal_basis, entry.reference) == (
        dealer_b.id, "contract", f"appointment {visit}")

    make.grant(owner, dealer_b, "service_reminders")
    again = client.post(f"/api/vehicles/{vehicle.vin}/work-orders", json=_order(odometer_km=16_600),
                        headers=advisor_b.headers).json()
    assert again["full_book"] is True
    assert {e["dealer_name"] for e in again["service_book"]} == {"Autohaus Alpha", "Autohaus Beta"}
    flagged = next(e for e in again["service_book"] if e["odometer_flag"])
    assert flagged["odometer_note"].startswith("below 15,000 km recorded on")


def test_the_cars_own_odometer_judges_todays_work(client, make, session):
    owner, vehicle, _, dealer_b, advisor_b = _scene(make, session)
    session.add(TwinSignal(vehicle_id=vehicle.id, path="Vehicle.TraveledDistance", value=21_456_700.0,
                           measured_at=now()))
    session.commit()
    visit = _booked(session, dealer_b, vehicle, owner)
    # a work order that names no booking does not read the car's own data, so nothing judges the reading by it
    unbooked = client.post(f"/api/vehicles/{vehicle.vin}/work-orders", json=_order(odometer_km=17_000),
                           headers=advisor_b.headers).json()
    assert unbooked["work_order"]["odometer_flag"] is None
    body = client.post(f"/api/vehicles/{vehicle.vin}/work-orders",
                       json=_order(odometer_km=17_000, appointment_id=visit), headers=advisor_b.headers).json()
    assert body["work_order"]["odometer_flag"] == "rollback"
    make.grant(owner, dealer_b, "service_reminders")
    book = client.get(f"/api/vehicles/{vehicle.vin}/service-book", params={"purpose": "service_reminders"},
                      headers=advisor_b.headers).json()
    assert next(e for e in book if e["odometer_flag"])["odometer_note"] == (
        "below the car's own odometer reading of 21,456 km")


def test_bad_input_is_refused_with_a_clear_message(client, make, session):
    owner, vehicle, _, dealer_b, advisor_b = _scene(make, session)
    _booked(session, dealer_b, vehicle, owner)
    url = f"/api/vehicles/{vehicle.vin}/work-orders"
    negative = client.post(url, json=_order(odometer_km=-1), headers=advisor_b.headers)
    assert negative.status_code == 422 and "negative distance" in negative.text
    future = client.post(url, json=_order(performed_on=(date.today() + timedelta(days=2)).isoformat()),
                         headers=advisor_b.headers)
    assert future.status_code == 422 and "cannot be dated in the future" in future.text
    assert client.post(url, json=_order(owner_id=1), headers=advisor_b.headers).status_code == 422
    assert client.post(url, json=_order(odometer_km="lots"), headers=advisor_b.headers).status_code == 422
    assert client.post("/api/vehicles/WRONG/work-orders", json=_order(), headers=advisor_b.headers).status_code == 404


def test_the_workshop_form_re_renders_a_refusal_and_confirms_a_success(make, session):
    owner, vehicle, _, dealer_b, advisor_b = _scene(make, session)
    _booked(session, dealer_b, vehicle, owner)
    browser = browser_for(make, advisor_b)
    form = {"performed_on": date.today().isoformat(), "odometer_km": "2500000", "kind": "repair",
            "summary": "Clutch replaced", "operations": "Replace clutch; 4.5", "parts": "CL-1; Clutch kit; 1; 410",
            "dtcs_cleared": "P0830", "warranty_amount": "0", "customer_amount": "780",
            "csrf_token": csrf_token_of(session, browser)}
    refused = browser.post(f"/workspace/vehicles/{vehicle.vin}/work-orders", data=form)
    assert refused.status_code == 422 and "2,500,000 km is not a plausible odometer reading" in refused.text
    assert "Clutch replaced" in refused.text  # what was typed comes back
    done = browser.post(f"/workspace/vehicles/{vehicle.vin}/work-orders", data=form | {"odometer_km": "16800"})
    assert done.status_code == 200 and "recorded" in done.text and "Clutch kit" in done.text
    assert "Autohaus Alpha" not in done.text


def test_warranty_for_the_dealer_under_consent_or_its_own_booked_work_order(client, make, session):
    owner, vehicle, _, dealer_b, advisor_b = _scene(make, session)
    on_sale(session, vehicle.trim.model.code, years=2)
    session.commit()
    url = f"/api/vehicles/{vehicle.vin}/warranty"
    assert client.get(url, headers=advisor_b.headers).status_code == 404
    assert client.get(url, params={"purpose": "warranty_work"}, headers=advisor_b.headers).status_code == 404
    assert client.get(url, params={"work_order": "WO-0000-000001"}, headers=advisor_b.headers).status_code == 404
    visit = _booked(session, dealer_b, vehicle, owner)
    number = client.post(f"/api/vehicles/{vehicle.vin}/work-orders", json=_order(kind="warranty", appointment_id=visit),
                         headers=advisor_b.headers).json()["work_order"]["work_order_number"]
    cover = client.get(url, params={"work_order": number}, headers=advisor_b.headers)
    assert cover.status_code == 200, cover.text
    body = cover.json()
    assert body["status"] == "covered" and body["odometer_km"] == 16_500
    assert body["odometer_source"].startswith("the service book")
    assert {line["component"] for line in body["lines"]} == {"vehicle", "battery"}
    entry = session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == owner.id)
                            .order_by(AccessLogEntry.id.desc())).first()
    assert (entry.purpose_code, entry.reference) == ("warranty_work", number)
    # the work order of another dealer is no reference for this one
    dealer_c = make.dealer()
    advisor_c = make.staff(dealer_c, Role.DEALER_SERVICE)
    assert client.get(url, params={"work_order": number}, headers=advisor_c.headers).status_code == 404
    # nor for the dealer's sales team, whose work warranty is not
    rep_b = make.staff(dealer_b, Role.DEALER_SALES)
    assert client.get(url, params={"work_order": number}, headers=rep_b.headers).status_code == 404
    make.grant(owner, dealer_b, "service_reminders")
    assert client.get(url, headers=advisor_b.headers).json()["purpose"] == "service_reminders"


def test_a_dealer_cannot_issue_its_own_reference(client, make, session):
    """Attack: a dealer with nothing to do with the car writes a work order on it, then uses it to read
    the warranty without the owner's grant, sets the car's mileage with its odometer, and sells an
    extended warranty in the owner's name."""
    owner, vehicle, dealer_a, dealer_b, advisor_b = _scene(make, session)
    product = on_sale(session, vehicle.trim.model.code, years=2)
    session.commit()
    records = session.scalar(select(func.count(ServiceRecord.id)))
    outsider = client.post(f"/api/vehicles/{vehicle.vin}/work-orders", json=_order(odometer_km=180_000),
                           headers=advisor_b.headers)
    assert outsider.status_code == 404  # a dealer with nothing to do with the car writes nothing on it
    assert session.scalar(select(func.count(ServiceRecord.id))) == records
    # booked in for next week: dealer B may write, but a work order naming no begun booking opens nothing
    _booked(session, dealer_b, vehicle, owner, status="confirmed", hours_from_now=24 * 7)
    forged = client.post(f"/api/vehicles/{vehicle.vin}/work-orders", json=_order(odometer_km=180_000),
                         headers=advisor_b.headers)
    assert forged.status_code == 201
    number = forged.json()["work_order"]["work_order_number"]
    before = _logs(session, owner, dealer_b)
    url = f"/api/vehicles/{vehicle.vin}/warranty"
    assert client.get(url, params={"work_order": number}, headers=advisor_b.headers).status_code == 404
    offered = client.post(f"/api/vehicles/{vehicle.vin}/extended-warranty", params={"work_order": number},
                          json={"product_code": product.code}, headers=advisor_b.headers)
    assert offered.status_code == 404
    assert _logs(session, owner, dealer_b) == before
    assert session.scalars(select(WarrantyContract).where(WarrantyContract.vehicle_id == vehicle.id)).all() == []
    # the car's recorded mileage is still the real visit's
    me = make.customer_login(owner)
    mine = client.get(f"/api/me/vehicles/{vehicle.vin}/warranty", headers=me.headers).json()
    assert mine["odometer_km"] == 15_000 and mine["status"] == "covered"
    assert forged.json()["work_order"]["counts_for_mileage"] is False
    # an appointment of another dealer, one the workshop made itself, or one not begun is no anchor either
    for visit, words in ((_booked(session, dealer_a, vehicle, owner), "Not found"),
                         (_booked(session, dealer_b, vehicle, owner, source="advisor"), "not booked by the car"),
                         (_booked(session, dealer_b, vehicle, owner, status="cancelled"), "was cancelled")):
        refused = client.post(f"/api/vehicles/{vehicle.vin}/work-orders", json=_order(appointment_id=visit),
                              headers=advisor_b.headers)
        assert refused.status_code in (404, 422) and words in refused.text, refused.text


def test_an_extension_is_offered_by_the_dealer_and_bought_by_the_owner(client, make, session):
    owner, vehicle, _, dealer_b, advisor_b = _scene(make, session)
    product = on_sale(session, vehicle.trim.model.code, years=2)
    session.commit()
    products = client.get("/api/warranty/products", params={"model_code": vehicle.trim.model.code}).json()
    assert product.code in [p["code"] for p in products]
    url = f"/api/vehicles/{vehicle.vin}/extended-warranty"
    assert client.post(url, json={"product_code": product.code}, headers=advisor_b.headers).status_code == 404
    make.grant(owner, dealer_b, "service_reminders")
    # consent lets dealer B read and contact; selling needs the car to be booked in there
    assert client.post(url, json={"product_code": product.code}, headers=advisor_b.headers).status_code == 404
    _booked(session, dealer_b, vehicle, owner, status="confirmed", hours_from_now=48)
    offered = client.post(url, json={"product_code": product.code}, headers=advisor_b.headers)
    assert offered.status_code == 201, offered.text
    assert (offered.json()["status"], offered.json()["dealer_id"], offered.json()["price"]) == (
        "offered", dealer_b.id, 890.0)
    me = make.customer_login(owner)
    assert client.get(f"/api/me/vehicles/{vehicle.vin}/warranty", headers=me.headers).json()["contracts"] == []
    [waiting] = client.get("/api/me/warranty-offers", headers=me.headers).json()
    assert waiting["id"] == offered.json()["id"]
    page = browser_for(make, me).get(f"/me/vehicles/{vehicle.vin}/service-book")
    assert f'id="warranty-offer-{waiting["id"]}"' in page.text
    stranger = make.customer_login(make.customer())
    assert client.post(f"/api/me/warranty-offers/{waiting['id']}/accept", headers=stranger.headers).status_code == 404
    bought = client.post(f"/api/me/warranty-offers/{waiting['id']}/accept", headers=me.headers)
    assert bought.status_code == 200, bought.text
    assert bought.json()["km_limit"] == 150_000 and bought.json()["sold_by_dealer_id"] == dealer_b.id
    mine = client.get(f"/api/me/vehicles/{vehicle.vin}/warranty", headers=me.headers).json()
    assert mine["contracts"][0]["product_code"] == product.code
    # a car whose warranty has ended cannot be extended
    old_owner = make.customer()
    old = make.vehicle(owner=old_owner, since=now() - timedelta(days=3 * 365))
    make.grant(old_owner, dealer_b, "service_reminders")
    _booked(session, dealer_b, old, old_owner)
    refused = client.post(f"/api/vehicles/{old.vin}/extended-warranty", json={"product_code": product.code},
                          headers=advisor_b.headers)
    assert refused.status_code == 422 and "has ended" in refused.text


def test_the_owner_sees_the_whole_book_and_the_warranty(client, make, session):
    owner, vehicle, dealer_a, dealer_b, advisor_b = _scene(make, session)
    on_sale(session, vehicle.trim.model.code)
    session.commit()
    _booked(session, dealer_b, vehicle, owner)
    client.post(f"/api/vehicles/{vehicle.vin}/work-orders", json=_order(odometer_km=9_000), headers=advisor_b.headers)
    me = make.customer_login(owner)
    book = client.get(f"/api/me/vehicles/{vehicle.vin}/service-book", headers=me.headers).json()
    assert {e["dealer_name"] for e in book} == {"Autohaus Alpha", "Autohaus Beta"}
    assert next(e for e in book if e["odometer_flag"])["odometer_note"].startswith("below 15,000 km")
    page = browser_for(make, me).get(f"/me/vehicles/{vehicle.vin}/service-book")
    assert page.status_code == 200
    assert "Autohaus Beta" in page.text and "Odometer rollback" in page.text and "<progress" in page.text
    stranger = make.customer_login(make.customer())
    assert client.get(f"/api/me/vehicles/{vehicle.vin}/service-book", headers=stranger.headers).status_code == 404


def test_the_workspace_book_page_opens_with_consent(make, session):
    owner, vehicle, _, dealer_b, advisor_b = _scene(make, session)
    on_sale(session, vehicle.trim.model.code)
    session.commit()
    browser = browser_for(make, advisor_b)
    assert browser.get(f"/workspace/vehicles/{vehicle.vin}/service-book").status_code == 404
    make.grant(owner, dealer_b, "service_reminders")
    page = browser.get(f"/workspace/vehicles/{vehicle.vin}/service-book")
    assert page.status_code == 200 and "Autohaus Alpha" in page.text and "Extra Care 2" in page.text
    assert _logs(session, owner, dealer_b) == 1


def test_the_carmaker_sets_terms_and_it_is_audited(client, make, session):
    from tests.factories import admin_login

    vehicle = make.vehicle()
    admin = admin_login(make)
    before = session.scalar(select(func.count(AuditEntry.id)))
    response = client.put(f"/api/admin/warranty-terms/{vehicle.trim.model.code}", headers=admin.headers,
                          json={"years": 3, "km": 100_000,
                                "components": [{"component": "battery", "years": 8, "km": 160_000}]})
    assert response.status_code == 200 and response.json()["components"][0]["km"] == 160_000
    assert session.scalar(select(func.count(AuditEntry.id))) == before + 1
    assert client.put(f"/api/admin/warranty-terms/{vehicle.trim.model.code}", headers=admin.headers,
                      json={"years": 0, "km": 1}).status_code == 422
    assert client.put("/api/admin/warranty-terms/NOPE", headers=admin.headers,
                      json={"years": 2, "km": 1}).status_code == 404


def test_the_work_order_form_exists_only_for_a_dealer_with_the_car(make, session):
    owner, vehicle, dealer_a, dealer_b, advisor_b = _scene(make, session)
    browser = browser_for(make, advisor_b)
    assert browser.get(f"/workspace/vehicles/{vehicle.vin}/work-orders/new").status_code == 404
    form = {"performed_on": date.today().isoformat(), "odometer_km": "lots", "kind": "repair", "summary": "x",
            "csrf_token": csrf_token_of(session, browser)}
    assert browser.post(f"/workspace/vehicles/{vehicle.vin}/work-orders", data=form).status_code == 404
    _booked(session, dealer_b, vehicle, owner)
    assert browser.get(f"/workspace/vehicles/{vehicle.vin}/work-orders/new").status_code == 200
    assert browser.post(f"/workspace/vehicles/{vehicle.vin}/work-orders", data=form).status_code == 422


def test_a_korean_workshop_records_and_shows_its_work_in_won(make, session):
    """A work order of a Korean dealer is in won: the form shows ₩ with whole steps, the record stores KRW
    and the owner's service book writes ₩, never €."""
    owner = make.customer()
    seoul = make.dealer(name="한빛모터스 강남", market="KR", street="강남구 도산대로 318", postcode="06054",
                        city="서울특별시", phone="02-3445-2688")
    vehicle = make.vehicle(owner=owner, dealer=seoul, since=now() - timedelta(days=300))
    advisor = make.staff(seoul, Role.DEALER_SERVICE)
    session.commit()
    _booked(session, seoul, vehicle, owner)
    browser = browser_for(make, advisor)
    form_page = browser.get(f"/workspace/vehicles/{vehicle.vin}/work-orders/new")
    assert form_page.status_code == 200 and "(₩)" in form_page.text and "(€)" not in form_page.text
    done = browser.post(f"/workspace/vehicles/{vehicle.vin}/work-orders", data={
        "performed_on": date.today().isoformat(), "odometer_km": "9100", "kind": "repair", "summary": "와이퍼 교체",
        "warranty_amount": "0", "customer_amount": "45000", "csrf_token": csrf_token_of(session, browser)})
    assert done.status_code == 200
    record = session.scalars(select(ServiceRecord).where(ServiceRecord.vehicle_id == vehicle.id)).one()
    assert (record.currency, int(record.customer_amount)) == ("KRW", 45000)
    book = browser_for(make, make.customer_login(owner)).get(f"/me/vehicles/{vehicle.vin}/service-book").text
    assert "₩45,000" in book and "€" not in book.split("<main", 1)[1]

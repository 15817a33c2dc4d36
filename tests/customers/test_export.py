"""Export: everything linked to the customer, found by walking the schema, as a JSON download."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from forecourt.consent.models import DataRequest
from forecourt.core.auth import Role
from forecourt.core.db import Base
from forecourt.models import load_all
from forecourt.privacy import rights
from tests.customers.linked import tables_referencing_customers
from tests.factories import browser_for

# Every table with a foreign key to customers.id, and the export section that carries its rows.
EXPORT_SECTIONS = {
    "users": "account",
    "customer_preferences": "preferences",
    "ownerships": "ownerships",
    "service_records": "service_records",
    "consent_grants": "consent_grants",
    "consent_ledger": "consent_ledger",
    "access_log": "access_log",
    "data_requests": "data_requests",
    "sales_configurations": "configurations",
    "sales_leads": "leads",
    "sales_opportunities": "opportunities",
    "sales_activities": "sales_activities",
    "sales_orders": "orders",
    "sales_follow_ups": "follow_ups",
    "sales_finance_contracts": "finance_contracts",
    "warranty_contracts": "warranty_contracts",
    "warranty_offers": "warranty_offers",
    "ownership_transfers": "ownership_transfers",
    "outbox_messages": "messages",
    "customer_email_links": "email_links",
    "workshop_appointments": "workshop_appointments",
    "workshop_proposals": "workshop_proposals",
    "workshop_availability": "workshop_availability",
    "workshop_loaner_bookings": "workshop_loaner_bookings",
    "assist_cases": "assist_cases",
    "assist_subscriptions": "assist_subscriptions",
    "assist_emergency_contacts": "assist_emergency_contacts",
    "payments": "payments",
    "nps_surveys": "nps_surveys",
    "sharing_profiles": "sharing_profiles",
    "sharing_reservations": "sharing_reservations",
    "sharing_bills": "sharing_bills",
    "engagement_occasions": "engagement_occasions",
    "engagement_messages": "engagement_messages",
    "engagement_responses": "engagement_responses",
    "engagement_contacts": "engagement_contacts",
    "engagement_contact_choices": "engagement_contact_choice",
}


def unmapped_tables() -> list[str]:
    return sorted(set(tables_referencing_customers()) - set(EXPORT_SECTIONS))


def test_every_table_that_references_customers_has_an_export_section():
    missing = unmapped_tables()
    assert not missing, (
        f"These tables reference customers.id but have no section in the export: {missing}. "
        "Add them to forecourt.privacy.rights.export (a customer may download everything linked to them) "
        "and map them in EXPORT_SECTIONS in tests/customers/test_export.py.")
    assert set(EXPORT_SECTIONS) <= set(tables_referencing_customers()), "EXPORT_SECTIONS names a table that is gone"


def test_the_unmapped_table_check_would_catch_a_new_table(monkeypatch):
    from tests.customers import linked

    real = linked.tables_referencing_customers()
    monkeypatch.setattr("tests.customers.test_export.tables_referencing_customers",
                        lambda: real | {"loyalty_points": ["customer_id"]})
    assert unmapped_tables() == ["loyalty_points"]


def _linked_scene(make, client, session):
    """A customer with a row in every table that can point at them, and a bystander."""
    dealer, partner = make.dealer(), make.partner("insurance")
    rep = make.staff(dealer, Role.DEALER_SERVICE)
    customer = make.customer()
    me = make.customer_login(customer)
    client.patch("/api/me/preferences", headers=me.headers, json={"radio_presets": ["SWR3 99.9"],
                                                                  "seat_position": {"height": 4, "distance": 7,
                                                                                    "recline": 3}})
    car = make.vehicle(owner=customer, dealer=dealer)
    make.service_record(car, dealer)
    make.grant(customer, dealer, "service_reminders")
    make.grant(customer, partner, "marketing_offers")
    make.withdraw(customer, partner, "marketing_offers")
    assert client.get(f"/api/customers/{customer.id}?purpose=service_reminders", headers=rep.headers).status_code == 200
    assert client.get("/api/me/export", headers=me.headers).status_code == 200  # a first export: a data request
    _sales_rows(make, client, session, customer, me, dealer)
    _lifecycle_rows(session, customer, car, dealer)
    _sharing_rows(session, customer, dealer)
    _finance_rows(make, client, customer, car)

    bystander = make.customer()
    make.vehicle(owner=bystander, dealer=dealer)
    make.grant(bystander, dealer, "service_reminders")
    assert client.get(f"/api/customers/{bystander.id}?purpose=service_reminders", headers=rep.headers).status_code == 200
    return customer, me, bystander, car


def _finance_rows(make, client, customer, car) -> None:
    """A finance partner's contract for the car, recorded through its route."""
    lender = make.partner("finance")
    analyst = make.staff(lender, Role.PARTNER_ANALYST)
    make.grant(customer, lender, "marketing_offers")
    response = client.post("/api/finance/contracts", headers=analyst.headers, json={
        "vin": car.vin, "product": "lease", "starts_on": "2025-01-01", "ends_on": "2028-12-31",
        "monthly_amount": "389.00", "currency": "EUR"})
    assert response.status_code == 201, response.text


def _sharing_rows(session, customer, dealer) -> None:
    """A car-sharing profile, a booking and its bill."""
    from decimal import Decimal

    from forecourt.core.clock import now
    from forecourt.sharing import hubs, profiles
    from forecourt.sharing.models import Bill, Reservation
    from forecourt.vehicles import service as vehicles_service

    hub = hubs.create_hub(session=session, dealer_id=dealer.id)
    trim = vehicles_service.list_models(session=session)[0].trims[0]
    shared = vehicles_service.register(session=session, vin=vehicles_service.with_check_digit(
        f"WFC1A2B30RS{customer.id % 1000000:06d}"), trim_id=trim.id, model_year=2025)
    car = hubs.add_car(session=session, hub_id=hub.id, vehicle_id=shared.id)
    profiles.accept_terms(session=session, customer_id=customer.id)
    booking = Reservation(number=f"SH-EXP-{customer.id}"[:16], customer_id=customer.id, car_id=car.id, hub_id=hub.id,
                          kind="minute", status="closed", starts_at=now(), ends_at=now() + timedelta(hours=1),
                          tariff={"currency": "EUR"})
    session.add(booking)
    session.flush()
    session.add(Bill(reservation_id=booking.id, number=f"SB-EXP-{customer.id}"[:16], hub_id=hub.id,
                     customer_id=customer.id, currency="EUR", lines=[], total=Decimal("4.20")))
    session.flush()


def _lifecycle_rows(session, customer, car, dealer) -> None:
    """A warranty bought and one offered, a sale started, a message sent, a workshop booking with a loaner,
    an open proposal, availability."""
    from forecourt.core.clock import now
    from forecourt.core.outbox import enqueue
    from forecourt.customers import email_links
    from forecourt.sales import transfers
    from forecourt.vehicles.models import WarrantyContract, WarrantyOffer, WarrantyProduct
    from forecourt.workshop.models import Appointment, Availability, Loaner, LoanerBooking, Proposal

    product = WarrantyProduct(code=f"EXT-{customer.id}", name="Extended 2 years", years=2, km=50000, price=690)
    session.add(product)
    session.flush()
    session.add(WarrantyContract(vehicle_id=car.id, product_id=product.id, customer_id=customer.id,
                                 sold_by_dealer_id=dealer.id, starts_on=date.today(),
                                 ends_on=date.today() + timedelta(days=730), km_limit=150000, price=690))
    session.add(WarrantyOffer(vehicle_id=car.id, product_id=product.id, customer_id=customer.id, dealer_id=dealer.id,
                              price=690, expires_at=now() + timedelta(days=30)))
    transfers.start_sale(session=session, customer_id=customer.id, vin=car.vin)
    enqueue(session=session, customer_id=customer.id, channel="email", topic="recall", subject="A recall",
            body="Please bring your car in.", basis="legal_obligation", dedupe_key=f"export-{customer.id}")
    email_links.request_account(session=session, email=customer.email, profile={})  # a link to set a password
    start = now() + timedelta(days=3)
    booked = Appointment(dealer_id=dealer.id, vehicle_id=car.id, customer_id=customer.id, bay=1, starts_at=start,
                         ends_at=start + timedelta(hours=1), job="diagnosis", source="owner")
    session.add(booked)
    session.add(Proposal(vehicle_id=car.id, customer_id=customer.id, dealer_id=dealer.id, job="diagnosis",
                         reason="Engine warning", cause="dtc:P0301", expires_at=start))
    session.add(Availability(customer_id=customer.id, weekday=0, from_time="08:00", to_time="12:00"))
    session.flush()
    courtesy = Loaner(dealer_id=dealer.id, vehicle_id=car.id)
    session.add(courtesy)
    session.flush()
    session.add(LoanerBooking(loaner_id=courtesy.id, appointment_id=booked.id, customer_id=customer.id,
                              starts_at=start, ends_at=start + timedelta(hours=1), preset={"radio_presets": ["NDR 2"]}))
    session.flush()
    _on_call_rows(session, customer, car)
    _nps_rows(session, customer, car, dealer)
    _engagement_rows(session, customer, car)


def _nps_rows(session, customer, car, dealer) -> None:
    """A survey after a visit (the customer allows the workshop to write), answered as a detractor."""
    from forecourt.engagement.nps import surveys
    from forecourt.engagement.nps.policy import Policy
    from tests.engagement.nps_scene import token_of

    survey = surveys.invite(session=session, touchpoint="service_visit", subject_key=f"export:{customer.id}",
                            customer_id=customer.id, vehicle_id=car.id, organization_id=dealer.id, policy=Policy())
    surveys.answer(session=session, token=token_of(session, survey), score=4, why="Too slow", policy=Policy())


def _engagement_rows(session, customer, car) -> None:
    """An occasion, the message about it, its opening, the contact it counted as, a choice of channels."""
    from forecourt.core.clock import now
    from forecourt.engagement import pressure
    from forecourt.engagement.models import Message, Occasion, Response

    occasion = Occasion(kind="birthday_4", vehicle_id=car.id, customer_id=customer.id, window_starts_on=date.today(),
                        window_ends_on=date.today() + timedelta(days=30), market="DE", model_code="M", car_age_years=4)
    session.add(occasion)
    session.flush()
    message = Message(occasion_id=occasion.id, customer_id=customer.id, status="sent", sent_at=now())
    session.add(message)
    session.flush()
    session.add(Response(message_id=message.id, customer_id=customer.id, kind="opened"))
    pressure.record_contact(session=session, customer_id=customer.id, channel="in_app", at=now(), topic="engagement")
    pressure.set_choice(session=session, customer_id=customer.id, email=False, per_month=1)
    session.flush()


def _on_call_rows(session, customer, car) -> None:
    """An SOS case, the included On Call subscription, an emergency contact."""
    from forecourt.assist.models import Case, EmergencyContact, Subscription

    session.add(Case(number=f"OC-{customer.id}", vehicle_id=car.id, customer_id=customer.id, kind="sos", priority=2,
                     source="osmand", latitude=53.55, longitude=9.99))
    session.add(Subscription(vehicle_id=car.id, customer_id=customer.id, plan="included", starts_on=date.today(),
                             ends_on=date.today() + timedelta(days=1095)))
    session.add(EmergencyContact(customer_id=customer.id, name="Jonas", phone="+49 40 123", relation="brother"))
    session.flush()


def _sales_rows(make, client, session, customer, me, dealer) -> None:
    """What a buyer leaves in sales: a configuration and its order (paid deposit), a lead, a deal, a test drive,
    a follow-up."""
    from datetime import date

    from forecourt.sales.models import Activity, FollowUp, Lead, Opportunity, Order
    from tests.sales.orders_scene import configuration, take_at_till

    configured = configuration(make, customer)
    placed = client.post("/api/me/orders", headers=me.headers, json={
        "configuration_code": configured.code, "dealer_id": dealer.id, "allow_contact": True})
    assert placed.status_code == 201, placed.text
    order = session.scalars(select(Order).where(Order.number == placed.json()["number"])).one()
    take_at_till(make, order, order.deposit, f"export-deposit-{order.number}")
    lead = Lead(dealer_id=dealer.id, customer_id=customer.id, source="web_form", first_name=customer.first_name,
                email=customer.email, message="Is the estate available in green?")
    session.add(lead)
    session.flush()
    deal = Opportunity(dealer_id=dealer.id, customer_id=customer.id, lead_id=lead.id, title="Estate for the family",
                       stage_code="qualified", amount=41000)
    session.add(deal)
    session.flush()
    session.add(Activity(dealer_id=dealer.id, customer_id=customer.id, opportunity_id=deal.id, kind="test_drive",
                         notes="Liked the seats"))
    rep = make.staff(dealer)
    session.add(FollowUp(organization_id=dealer.id, customer_id=customer.id, purpose="sales_contact",
                         assigned_user_id=rep.user_id, title="Send the estate offer", due_on=date(2030, 1, 1)))
    session.commit()


def _as_rows(section) -> list[dict]:
    if section is None:
        return []
    return [section] if isinstance(section, dict) else list(section)


def test_export_contains_every_row_of_every_table_that_references_the_customer(make, client, session):
    customer, me, bystander, car = _linked_scene(make, client, session)
    load_all()
    expected: dict[str, list[dict]] = {}
    for name, columns in tables_referencing_customers().items():
        table = Base.metadata.tables[name]
        rows = []
        for column in columns:
            rows += session.execute(select(table).where(table.c[column] == customer.id)).mappings().all()
        assert rows, (f"the export scenario has no row in '{name}' for the customer: extend _linked_scene so the "
                      "export of this table is really checked")
        expected[name] = [{key: row[key] for key in (c.name for c in table.primary_key.columns)} for row in rows]

    response = client.get("/api/me/export", headers=me.headers)
    assert response.status_code == 200
    document = json.loads(response.content)

    for name, keys in expected.items():
        section = EXPORT_SECTIONS[name]
        assert section in document, f"export has no '{section}' section for table '{name}'"
        exported = _as_rows(document[section])
        for key in keys:
            assert any(all(item.get(k) == v for k, v in key.items()) for item in exported), (
                f"row {key} of '{name}' is missing from export section '{section}'")
        for item in exported:  # and nobody else's rows
            if "customer_id" in item:
                assert item["customer_id"] == customer.id, f"section '{section}' carries another customer's row"
    assert bystander.email not in response.text
    assert document["customer"]["id"] == customer.id and document["customer"]["email"] == customer.email
    assert [v["vin"] for v in document["vehicles"]] == [car.vin]
    assert document["sessions"], "the customer's API token is linked to them through their account"
    (order,) = document["orders"]
    assert [(p["subject_kind"], p["subject_id"], p["purpose"]) for p in document["payments"]] == [
        ("order", order["id"], "order_deposit")]
    assert [e["kind"] for e in document["payments"][0]["entries"]] == ["receipt"]
    assert "client_secret" not in document["payments"][0]


def test_export_carries_no_secrets(make, client, session):
    customer, me, _, _ = _linked_scene(make, client, session)
    text = client.get("/api/me/export", headers=me.headers).text
    assert "$argon2" not in text
    document = json.loads(text)
    assert "password_hash" not in document["account"]
    for token in document["sessions"]:
        assert "digest" not in token and "csrf_token" not in token
    assert me.token not in text


def test_export_is_a_json_attachment_and_is_recorded(make, client, session):
    customer = make.customer()
    me = make.customer_login(customer)
    response = client.get("/api/me/export", headers=me.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(rf'attachment; filename="forecourt-my-data-{customer.id}-\d{{8}}\.json"', disposition)
    assert response.headers["cache-control"] == "no-store"
    document = json.loads(response.content)
    assert document["format"] == rights.EXPORT_FORMAT
    requests = session.scalars(select(DataRequest).where(DataRequest.customer_id == customer.id)).all()
    assert [r.kind for r in requests] == ["export"]
    assert set(requests[0].report["sections"]) == set(document) - {"format", "exported_at"}


def test_the_portal_download_is_the_same_document(make, session):
    customer = make.customer()
    make.vehicle(owner=customer, since=None)
    login = make.customer_login(customer)
    browser = browser_for(make, login)
    response = browser.get("/me/data/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    document = json.loads(response.content)
    assert document["customer"]["email"] == customer.email and len(document["vehicles"]) == 1


def test_former_cars_are_exported_with_their_ownership_period(make, client):
    seller, buyer = make.customer(), make.customer()
    car = make.vehicle(owner=seller)
    from forecourt.core.clock import now
    from forecourt.vehicles import service as vehicles_service

    vehicles_service.transfer(session=make.session, vehicle_id=car.id, customer_id=buyer.id,
                              at=now() - timedelta(days=10))
    document = client.get("/api/me/export", headers=make.customer_login(seller).headers).json()
    (ownership,) = document["ownerships"]
    assert ownership["ended_at"] is not None and document["vehicles"][0]["vin"] == car.vin
    assert buyer.email not in json.dumps(document)


def test_the_export_matches_its_published_schema(make, client):
    from forecourt.privacy.schemas import ExportDocument

    customer = make.customer()
    make.vehicle(owner=customer)
    me = make.customer_login(customer)
    schema = client.get("/api/me/export/schema", headers=me.headers).json()
    document = client.get("/api/me/export", headers=me.headers).json()
    assert set(schema["required"]) == set(document)
    assert schema["additionalProperties"] is False
    ExportDocument.model_validate(document)  # raises if the document drifted from the schema
    assert document["vehicles"][0]["vin"] and document["vehicles"][0]["ownership"]["customer_id"] == customer.id


def test_a_section_that_drifts_from_the_schema_stops_the_export(make, session, monkeypatch):
    import pydantic

    from forecourt.privacy import schemas

    customer = make.customer()

    class Stricter(schemas.ExportDocument):
        newly_required_section: list[dict]

    monkeypatch.setattr(rights, "ExportDocument", Stricter)
    with pytest.raises(pydantic.ValidationError):
        rights.export(session=session, customer_id=customer.id)

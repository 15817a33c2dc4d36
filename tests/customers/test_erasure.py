"""Erasure: the person goes; what the law or the car needs stays, unlinked; repeating it is harmless."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry, ConsentReceipt, DataRequest, Grant
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import Base
from forecourt.core.errors import NotFound
from forecourt.customers.models import Customer, Preferences
from forecourt.models import load_all
from forecourt.parties.models import AuthToken, User
from forecourt.privacy import rights
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import Ownership, ServiceRecord
from tests.customers.linked import rows_linked_to, tables_referencing_customers
from tests.factories import PASSWORD, submit_login

# Tables whose rows may still name an erased customer, and why (the rest must be gone or unlinked).
KEPT_WITH_THE_NUMBER = {
    "consent_ledger": "proof of consent (GDPR Art. 7(1)); names the customer only by number",
    "data_requests": "the record that the erasure happened",
}


def table_counts(session) -> dict[str, int]:
    load_all()
    return {name: session.scalar(select(func.count()).select_from(table))
            for name, table in Base.metadata.tables.items()}


@pytest.fixture
def scene(make, client, session):
    """Customer A: account, token, preferences, two cars (one sold on to B), history, grants, reads.
    Customer B: bought A's first car, has their own grants and access log."""
    dealer, partner = make.dealer(), make.partner("insurance")
    rep = make.staff(dealer, Role.DEALER_SERVICE)
    a = make.customer(street="Elbchaussee 1", postcode="22763", country="DE", birth_date=date(1980, 5, 17))
    b = make.customer()
    a_login = make.customer_login(a)
    client.patch("/api/me/preferences", headers=a_login.headers, json={"radio_presets": ["NDR 2"]})
    sold = make.vehicle(owner=a, dealer=dealer, since=now() - timedelta(days=900))
    make.service_record(sold, dealer, on=date.today() - timedelta(days=700))
    kept = make.vehicle(owner=a, dealer=dealer, since=now() - timedelta(days=500))
    make.service_record(kept, dealer, on=date.today() - timedelta(days=100))
    make.service_record(kept, dealer, on=date.today() - timedelta(days=10), odometer_km=30000)
    vehicles_service.transfer(session=session, vehicle_id=sold.id, customer_id=b.id,
                              at=now() - timedelta(days=300), dealer_id=dealer.id)
    make.service_record(sold, dealer, on=date.today() - timedelta(days=50), odometer_km=60000)  # B's
    make.grant(a, dealer, "service_reminders")
    make.grant(a, partner, "marketing_offers")
    make.grant(a, dealer, "sales_contact")
    make.withdraw(a, dealer, "sales_contact")
    make.grant(b, dealer, "service_reminders")
    for customer in (a, b):
        assert client.get(f"/api/customers/{customer.id}?purpose=service_reminders",
                          headers=rep.headers).status_code == 200
    assert client.get("/api/me/export", headers=a_login.headers).status_code == 200
    sales = _sales_of(make, session, a, dealer)
    session.commit()
    return dict(dealer=dealer, rep=rep, a=a, b=b, a_login=a_login, sold=sold, kept=kept, sales=sales)


def _sales_of(make, session, a, dealer) -> dict:
    """A's configuration, paid order, lead (typed contact details), deal named after A, test drive and a
    follow-up."""
    from datetime import date

    from forecourt.parties.models import User
    from forecourt.sales.models import Activity, FollowUp, Lead, Opportunity
    from tests.sales.orders_scene import configuration, order_in_state

    configured = configuration(make, a)
    order = order_in_state(make, a, dealer, "deposit_paid")
    lead = Lead(dealer_id=dealer.id, customer_id=a.id, source="web_form", first_name=a.first_name,
                last_name=a.last_name, email=a.email, phone="+49 40 555", postcode="22763", city="Hamburg",
                message="Call me after 5")
    session.add(lead)
    session.flush()
    deal = Opportunity(dealer_id=dealer.id, customer_id=a.id, lead_id=lead.id, title=f"Estate for {a.last_name}",
                       stage_code="qualified", amount=41000)
    session.add(deal)
    session.flush()
    drive = Activity(dealer_id=dealer.id, customer_id=a.id, opportunity_id=deal.id, kind="test_drive",
                     notes=f"{a.first_name} has two kids")
    session.add(drive)
    staff_id = session.scalars(select(User.id).where(User.organization_id == dealer.id)).first()
    session.add(FollowUp(organization_id=dealer.id, customer_id=a.id, purpose="sales_contact",
                         assigned_user_id=staff_id, title=f"Call {a.first_name} about the estate",
                         due_on=date(2030, 1, 1)))
    session.flush()
    return dict(configuration=configured, order=order, lead=lead, deal=deal, drive=drive)


def test_erasure_removes_the_person_and_keeps_the_cars_records_unlinked(scene, client, session):
    a, b, a_login = scene["a"], scene["b"], scene["a_login"]
    b_before = rows_linked_to(session, b.id)
    history_before = {v.id: [r.id for r in vehicles_service.service_history(session=session, vehicle_id=v.id)]
                      for v in (scene["sold"], scene["kept"])}
    ownerships_before = session.scalar(select(func.count(Ownership.id)))
    records_before = session.scalar(select(func.count(ServiceRecord.id)))
    a_records = session.scalars(select(ServiceRecord.id).where(ServiceRecord.customer_id == a.id)).all()
    a_ownerships = session.scalars(select(Ownership.id).where(Ownership.customer_id == a.id)).all()
    ledger_before = session.scalars(select(ConsentReceipt.receipt_id).where(ConsentReceipt.customer_id == a.id)).all()
    active_grants = session.scalar(select(func.count(Grant.id)).where(Grant.customer_id == a.id,
                                                                      Grant.withdrawn_at.is_(None)))
    assert len(a_records) == 3 and len(a_ownerships) == 2 and active_grants == 2

    response = client.post("/api/me/erase", headers=a_login.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    session.expire_all()

    # personal data: gone
    customer = session.get(Customer, a.id)
    assert customer.erased_at is not None and customer.full_name == "Erased customer"
    personal = [c.name for c in Customer.__table__.columns
                if c.nullable and c.name not in ("erased_at",)]
    assert {c: getattr(customer, c) for c in personal} == dict.fromkeys(personal), "profile columns left behind"
    assert session.get(Preferences, a.id) is None
    assert session.scalars(select(User).where(User.customer_id == a.id)).all() == []
    assert session.scalar(select(func.count(AuthToken.id)).where(AuthToken.user_id == a_login.user_id)) == 0
    assert session.scalar(select(func.count(Grant.id)).where(Grant.customer_id == a.id)) == 0
    assert session.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == a.id)) == 0

    # login impossible: neither the password nor the old token
    assert client.get("/api/me", headers=a_login.headers).status_code == 401
    login = client.post("/api/auth/token", json={"email": a.email or a_login.email, "password": PASSWORD})
    assert login.status_code == 422
    assert submit_login(client, a_login.email, PASSWORD, follow_redirects=False).status_code == 400

    # the cars keep their books and chains of ownership, without the person
    assert session.scalar(select(func.count(Ownership.id))) == ownerships_before
    assert session.scalar(select(func.count(ServiceRecord.id))) == records_before
    for record_id in a_records:
        assert session.get(ServiceRecord, record_id).customer_id is None
    for ownership_id in a_ownerships:
        assert session.get(Ownership, ownership_id).customer_id is None
    for vehicle_id, ids in history_before.items():
        assert [r.id for r in vehicles_service.service_history(session=session, vehicle_id=vehicle_id)] == ids
    assert vehicles_service.current_owner_id(session=session, vehicle_id=scene["sold"].id) == b.id

    # the ledger keeps every receipt and adds the withdrawals the erasure made
    ledger_after = session.scalars(select(ConsentReceipt).where(ConsentReceipt.customer_id == a.id)
                                   .order_by(ConsentReceipt.id)).all()
    assert [r.receipt_id for r in ledger_after][:len(ledger_before)] == ledger_before
    added = ledger_after[len(ledger_before):]
    assert [(r.state, r.method) for r in added] == [("withdrawn", "erasure")] * active_grants

    # nothing else names the person any more
    for name, columns in tables_referencing_customers().items():
        if name in KEPT_WITH_THE_NUMBER:
            continue
        table = Base.metadata.tables[name]
        for column in columns:
            left = session.scalar(select(func.count()).select_from(table).where(table.c[column] == a.id))
            assert left == 0, (f"after erasure '{name}.{column}' still names the customer: delete or unlink it in "
                               "rights.erase, or list it in KEPT_WITH_THE_NUMBER with the reason")

    # the other customer is untouched
    assert rows_linked_to(session, b.id) == b_before

    # the report says what was kept and why
    kept = {item["what"]: item for item in report["kept"]}
    assert set(kept) == {"consent_ledger", "service_records", "ownerships", "data_requests", "orders",
                         "payments", "opportunities"}
    assert kept["orders"]["count"] == 1 and kept["opportunities"]["count"] == 1 and kept["payments"]["count"] == 1
    assert "tax" in kept["orders"]["why"] and "tax" in kept["payments"]["why"]
    assert report["removed"]["sales_lead_contact_details"] == 1 and report["removed"]["follow_ups"] == 1
    assert report["removed"]["sales_configurations_unlinked"] == 1 and report["removed"]["sales_activity_notes"] == 1
    assert all(item["why"].strip() for item in kept.values())
    assert kept["consent_ledger"]["count"] == len(ledger_after)
    assert kept["service_records"]["count"] == 3 and kept["ownerships"]["count"] == 2
    assert report["removed"]["preferences"] == 1 and report["removed"]["account"] == 1
    assert report["removed"]["consent_grants"] == 3 and report["grants_withdrawn"] == 2
    assert report["already_erased"] is False and report["customer_id"] == a.id
    erasures = session.scalars(select(DataRequest).where(DataRequest.customer_id == a.id,
                                                         DataRequest.kind == "erasure")).all()
    assert [e.report for e in erasures] == [report]


def test_erasure_keeps_the_dealers_books_without_the_person(scene, client, session):
    from forecourt.payments.models import Payment, PaymentEntry
    from forecourt.sales.models import Activity, Configuration, Lead, Opportunity, Order

    sales, last_name = scene["sales"], scene["a"].last_name
    mine = (Payment.subject_kind == "order") & (Payment.subject_id == sales["order"].id)
    payments_before = session.scalars(select(PaymentEntry.id).join(Payment).where(mine)).all()
    assert payments_before and session.scalars(select(Payment.customer_id).where(mine)).all() == [scene["a"].id]
    assert client.post("/api/me/erase", headers=scene["a_login"].headers).status_code == 200
    session.expire_all()
    order = session.get(Order, sales["order"].id)
    assert order.customer_id is None and float(order.price) == 42000.0 and order.status == "placed"
    assert session.scalars(select(PaymentEntry.id).join(Payment).where(mine)).all() == payments_before
    assert session.scalars(select(Payment.customer_id).where(mine)).all() == [None]  # kept, no longer naming her
    deal = session.get(Opportunity, sales["deal"].id)
    assert deal.customer_id is None and float(deal.amount) == 41000.0
    assert last_name not in deal.title, "a deal's title named the erased customer"
    assert session.get(Configuration, sales["configuration"].id).customer_id is None
    lead = session.get(Lead, sales["lead"].id)
    assert (lead.customer_id, lead.first_name, lead.last_name, lead.email, lead.phone, lead.postcode, lead.city,
            lead.message) == (None, None, None, None, None, None, None, "")
    drive = session.get(Activity, sales["drive"].id)
    assert drive.customer_id is None and drive.notes == "" and drive.kind == "test_drive"


def test_erasing_twice_is_harmless(scene, client, session):
    a = scene["a"]
    first = rights.erase(session=session, customer_id=a.id)
    session.commit()
    counts, linked = table_counts(session), rows_linked_to(session, a.id)
    second = rights.erase(session=session, customer_id=a.id)
    session.commit()
    assert second == first | {"already_erased": True}
    assert table_counts(session) == counts, "a repeated erasure wrote or removed rows"
    assert rows_linked_to(session, a.id) == linked


def test_an_erased_customer_is_gone_for_staff_and_for_export(scene, client, session):
    a, rep = scene["a"], scene["rep"]
    rights.erase(session=session, customer_id=a.id)
    session.commit()
    assert client.get(f"/api/customers/{a.id}?purpose=service_reminders", headers=rep.headers).status_code == 404
    assert client.get(f"/api/vehicles/{scene['kept'].vin}?purpose=service_reminders",
                      headers=rep.headers).status_code == 404
    with pytest.raises(NotFound):
        rights.export(session=session, customer_id=a.id)
    listed = client.get("/api/customers?purpose=service_reminders", headers=rep.headers).json()
    assert [c["id"] for c in listed["items"]] == [scene["b"].id]


def test_the_address_is_free_again_after_erasure(scene, client, session):
    a_login = scene["a_login"]
    assert client.post("/api/me/erase", headers=a_login.headers).status_code == 200
    email = a_login.email.replace("example.test", "forecourt.example")
    again = client.post("/api/auth/signup", json={"email": email, "first_name": "New", "last_name": "Start"})
    assert again.status_code == 202
    fresh = session.scalars(select(Customer).where(Customer.email == email)).one()
    assert fresh.id != scene["a"].id and fresh.erased_at is None


def test_erasing_a_customer_without_an_account(make, session):
    customer = make.customer()
    from forecourt.parties import service as parties_service

    account = parties_service.customer_account(session=session, customer_id=customer.id)
    parties_service.close_account(session=session, user_id=account.id)
    report = rights.erase(session=session, customer_id=customer.id)
    assert report["removed"]["account"] == 0 and report["already_erased"] is False
    with pytest.raises(NotFound):
        rights.erase(session=session, customer_id=10**9)


def test_the_erasure_page_cites_the_law_of_the_customers_market(make, client):
    """A Korean customer is told what Korea's law keeps (개인정보 보호법, 상법, 국세기본법), a German one the
    GDPR and German commercial and tax law; the report written at erasure cites the same."""
    from forecourt.core.i18n import use_locale
    from forecourt.privacy import rights

    korean = make.customer(first_name="민준", last_name="김", market="KR", language="ko")
    german = make.customer(first_name="Lena", last_name="Koch")
    with use_locale("ko"):
        said = " ".join(rights.kept_reasons_for(session=make.session, customer_id=korean.id).values())
    assert "개인정보 보호법" in said and "상법 제33조" in said and "국세기본법" in said and "GDPR" not in said
    with use_locale("de"):
        said = " ".join(rights.kept_reasons_for(session=make.session, customer_id=german.id).values())
    assert "DSGVO" in said or "GDPR" in said
    assert "HGB" in said and "개인정보" not in said
    from tests.factories import browser_for

    page = browser_for(make, make.customer_login(korean)).get("/me/data/erase")
    assert page.status_code == 200 and "개인정보 보호법" in page.text and "GDPR" not in page.text
    assert "Consent ledger" not in page.text and "동의 기록" in page.text  # each record named in words
    with use_locale("en"):
        report = rights.erase(session=make.session, customer_id=korean.id)
    kept = {item["what"]: item["why"] for item in report["kept"]}
    assert "Personal Information Protection Act" in kept["consent_ledger"] and "GDPR" not in kept["consent_ledger"]

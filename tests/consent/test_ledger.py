"""The consent ledger: one ISO/IEC TS 27560 / Kantara receipt per change, never rewritten."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from forecourt.consent import service as consent
from forecourt.consent.models import ConsentReceipt, Grant
from forecourt.core.clock import frozen_at

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def ledger(session, customer) -> list[ConsentReceipt]:
    return consent.ledger_of(session=session, customer_id=customer.id)


def count(session) -> int:
    return session.scalar(select(func.count(ConsentReceipt.id)))


def test_give_and_withdraw_each_append_exactly_one_complete_receipt(make, session):
    dealer, customer = make.dealer(), make.customer()
    advisor = make.staff(dealer)
    with frozen_at(T0):
        consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                     purpose_code="service_reminders", method="in-dealership", recorded_by=advisor.user_id)
    (granted,) = ledger(session, customer)
    assert uuid.UUID(granted.receipt_id).version == 4
    assert (granted.customer_id, granted.organization_id, granted.purpose_code, granted.legal_basis,
            granted.notice_version, granted.method, granted.state, granted.jurisdiction,
            granted.recorded_by_user_id) == (customer.id, dealer.id, "service_reminders", "consent",
                                             consent.current_notice(session=session).version, "in-dealership",
                                             "granted", "EU", advisor.user_id)
    assert granted.recorded_at == T0

    with frozen_at(T0 + timedelta(days=3)):
        consent.withdraw(session=session, customer_id=customer.id, organization_id=dealer.id,
                         purpose_code="service_reminders", method="web-portal")
    first, withdrawn = ledger(session, customer)
    assert first.id == granted.id
    assert (withdrawn.state, withdrawn.purpose_code, withdrawn.organization_id, withdrawn.notice_version,
            withdrawn.method, withdrawn.recorded_at) == ("withdrawn", "service_reminders", dealer.id,
                                                         granted.notice_version, "web-portal", T0 + timedelta(days=3))
    assert withdrawn.receipt_id != granted.receipt_id

    # and giving it again is a new consent: a new receipt
    with frozen_at(T0 + timedelta(days=5)):
        consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                     purpose_code="service_reminders")
    assert [r.state for r in ledger(session, customer)] == ["granted", "withdrawn", "granted"]
    assert len({r.receipt_id for r in ledger(session, customer)}) == 3


def test_repeating_a_give_or_a_withdraw_records_nothing_new(make, session):
    dealer, customer = make.dealer(), make.customer()
    first = consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                         purpose_code="sales_contact")
    before = count(session)
    again = consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                         purpose_code="sales_contact")
    assert again.id == first.id and count(session) == before
    assert session.scalar(select(func.count(Grant.id)).where(Grant.customer_id == customer.id)) == 1

    consent.withdraw(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="sales_contact")
    after_withdrawal = count(session)
    assert after_withdrawal == before + 1
    consent.withdraw(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="sales_contact")
    assert count(session) == after_withdrawal
    # withdrawing what was never given records nothing either
    consent.withdraw(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="marketing_offers")
    assert count(session) == after_withdrawal


def test_consent_under_a_newer_notice_is_a_new_receipt(make, session):
    dealer, customer = make.dealer(), make.customer()
    consent.give(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="sales_contact",
                 notice_version=1)
    consent.give(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="sales_contact",
                 notice_version=2)
    assert [(r.state, r.notice_version) for r in ledger(session, customer)] == [("granted", 1), ("granted", 2)]
    consent.give(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="sales_contact",
                 notice_version=2)
    assert len(ledger(session, customer)) == 2


def test_the_api_records_receipts_and_shows_them_to_the_customer(make, client, session):
    dealer, customer = make.dealer(), make.customer()
    me = make.customer_login(customer)
    path = f"/api/me/consents/{dealer.id}/marketing_offers"
    assert client.put(path, headers=me.headers).status_code == 200
    assert client.put(path, headers=me.headers).status_code == 200  # twice: still one receipt
    assert client.delete(path, headers=me.headers).status_code == 204
    receipts = client.get("/api/me/consent-receipts", headers=me.headers).json()
    assert [(r["state"], r["method"], r["organization_id"], r["purpose_code"], r["legal_basis"]) for r in receipts] == [
        ("granted", "api", dealer.id, "marketing_offers", "consent"),
        ("withdrawn", "api", dealer.id, "marketing_offers", "consent")]
    for receipt in receipts:
        assert set(receipt) >= {"receipt_id", "customer_id", "organization_id", "purpose_code", "legal_basis",
                                "notice_version", "state", "method", "jurisdiction", "recorded_at"}
        assert receipt["customer_id"] == customer.id
    assert {r.recorded_by_user_id for r in ledger(session, customer)} == {me.user_id}
    # another customer's receipts are not in this list
    other = make.customer()
    make.grant(other, dealer, "sales_contact")
    assert len(client.get("/api/me/consent-receipts", headers=me.headers).json()) == 2


@pytest.fixture
def receipt(make, session) -> ConsentReceipt:
    dealer, customer = make.dealer(), make.customer()
    make.grant(customer, dealer, "sales_contact")
    return ledger(session, customer)[0]


def _refused(session, statement_or_action) -> DBAPIError:
    """Run one write in a SAVEPOINT so its failure leaves the test's transaction usable."""
    with pytest.raises(DBAPIError) as caught:
        with session.begin_nested():
            if callable(statement_or_action):
                statement_or_action()
            else:
                session.execute(statement_or_action)
            session.flush()
    assert "append-only" in str(caught.value)
    return caught.value


def _unchanged(session, receipt: ConsentReceipt) -> None:
    row = session.execute(text("SELECT state, purpose_code FROM consent_ledger WHERE id = :id"),
                          {"id": receipt.id}).one()
    assert tuple(row) == ("granted", "sales_contact")


def test_orm_update_of_a_receipt_is_refused_by_the_database(session, receipt):
    def rewrite():
        receipt.state = "withdrawn"
    _refused(session, rewrite)
    _unchanged(session, receipt)


def test_orm_delete_of_a_receipt_is_refused_by_the_database(session, receipt):
    _refused(session, lambda: session.delete(receipt))
    _unchanged(session, receipt)


def test_bulk_update_and_delete_are_refused(session, receipt):
    _refused(session, update(ConsentReceipt).where(ConsentReceipt.id == receipt.id).values(state="withdrawn"))
    _refused(session, delete(ConsentReceipt).where(ConsentReceipt.id == receipt.id))
    _unchanged(session, receipt)


def test_raw_sql_update_and_delete_are_refused(session, receipt):
    _refused(session, text("UPDATE consent_ledger SET state = 'withdrawn' WHERE id = :id").bindparams(id=receipt.id))
    _refused(session, text("UPDATE consent_ledger SET purpose_code = 'marketing_offers'"))
    _refused(session, text("DELETE FROM consent_ledger WHERE id = :id").bindparams(id=receipt.id))
    _refused(session, text("DELETE FROM consent_ledger"))
    _unchanged(session, receipt)
    # the transaction is still usable, and appending still works
    before = count(session)
    consent.give(session=session, customer_id=receipt.customer_id, organization_id=receipt.organization_id,
                 purpose_code="marketing_offers")
    assert count(session) == before + 1

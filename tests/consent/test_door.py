"""``consent.require``, the one door: withdrawal, notice versions, other legal bases and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent import service as consent
from forecourt.consent.models import AccessLogEntry, ConsentReceipt, Grant
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import frozen_at, now
from forecourt.core.errors import Invalid, NotFound
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.privacy import customer360

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def principal_of(session, login) -> Principal:
    return parties_service.principal_for(parties_service.get_user(session=session, user_id=login.user_id))


def log_rows(session, customer) -> list[AccessLogEntry]:
    return list(session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == customer.id)
                                .order_by(AccessLogEntry.id)))


def opens(session, principal, customer, purpose, reference=None) -> bool:
    try:
        consent.require(session=session, principal=principal, customer_id=customer.id, purpose=purpose,
                        what="test read", reference=reference)
    except NotFound:
        return False
    return True


@pytest.fixture
def scene(make, session):
    dealer = make.dealer()
    rep = make.staff(dealer)
    customer = make.customer()
    return dealer, principal_of(session, rep), customer


# --- withdrawal ----------------------------------------------------------------------------------

def test_withdrawal_is_effective_on_the_very_next_read_in_the_same_session(session, scene):
    dealer, rep, customer = scene
    consent.give(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="sales_contact")
    assert opens(session, rep, customer, "sales_contact")
    assert opens(session, rep, customer, "sales_contact")  # reads do not use the grant up
    consent.withdraw(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="sales_contact")
    assert not opens(session, rep, customer, "sales_contact")
    assert [e.what for e in log_rows(session, customer)] == ["test read", "test read"]


def test_withdrawal_in_another_session_closes_this_one_without_any_refresh(make, client, session, scene):
    """The reader's session still holds the grant object in memory; the door asks the database."""
    dealer, rep, customer = scene
    make.grant(customer, dealer, "marketing_offers")
    grant = session.scalars(select(Grant).where(Grant.customer_id == customer.id)).one()
    assert opens(session, rep, customer, "marketing_offers")
    me = make.customer_login(customer)
    assert client.delete(f"/api/me/consents/{dealer.id}/marketing_offers", headers=me.headers).status_code == 204
    assert grant.withdrawn_at is None  # the stale copy in this session ...
    assert not opens(session, rep, customer, "marketing_offers")  # ... does not matter
    assert customers_service.list_visible(session=session, principal=rep, purpose="marketing_offers")[0] == []


def test_withdrawal_through_the_api_closes_the_next_api_read(make, client):
    dealer, customer = make.dealer(), make.customer()
    rep, me = make.staff(dealer), make.customer_login(customer)
    assert client.put(f"/api/me/consents/{dealer.id}/sales_contact", headers=me.headers).status_code == 200
    assert client.get(f"/api/customers/{customer.id}", headers=rep.headers).status_code == 200
    assert client.delete(f"/api/me/consents/{dealer.id}/sales_contact", headers=me.headers).status_code == 204
    assert client.get(f"/api/customers/{customer.id}", headers=rep.headers).status_code == 404
    assert customer.email not in client.get("/api/customers", headers=rep.headers).text


# --- notice versions -----------------------------------------------------------------------------

def test_a_notice_covers_only_the_purposes_it_announced(session, scene):
    dealer, _, customer = scene
    before = session.scalar(select(func.count(ConsentReceipt.id)))
    with pytest.raises(Invalid) as refused:
        consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                     purpose_code="driving_behaviour_insurance", notice_version=1)
    assert refused.value.field == "notice_version" and "v1" in refused.value.message
    with pytest.raises(Invalid) as missing:
        consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                     purpose_code="sales_contact", notice_version=99)
    assert missing.value.field == "notice_version"
    assert session.scalar(select(func.count(ConsentReceipt.id))) == before
    assert consent.grants_of(session=session, customer_id=customer.id) == []
    # v2 announced it, so consent under v2 is fine
    grant = consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                         purpose_code="driving_behaviour_insurance", notice_version=2)
    assert grant.notice_version == 2


def test_the_api_refuses_consent_under_a_notice_that_did_not_announce_the_purpose(make, client):
    insurer, customer = make.partner("insurance"), make.customer()
    me = make.customer_login(customer)
    response = client.put(f"/api/me/consents/{insurer.id}/driving_behaviour_insurance", headers=me.headers,
                          json={"notice_version": 1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "notice_version"]
    assert client.get("/api/me/consent-receipts", headers=me.headers).json() == []


def test_a_grant_row_stamped_with_an_older_notice_opens_nothing(make, client, session):
    """Even if such a row reached the table (an import, a bug), v1 consent cannot cover a v2 purpose."""
    insurer = make.partner("insurance")
    analyst = make.staff(insurer)
    customer = make.customer()
    session.add(Grant(customer_id=customer.id, organization_id=insurer.id,
                      purpose_code="driving_behaviour_insurance", notice_version=1, granted_at=now()))
    session.commit()
    principal = principal_of(session, analyst)
    assert consent.active_grant(session=session, customer_id=customer.id, organization_id=insurer.id,
                                purpose_code="driving_behaviour_insurance") is None
    assert not opens(session, principal, customer, "driving_behaviour_insurance")
    assert customers_service.list_visible(session=session, principal=principal,
                                          purpose="driving_behaviour_insurance") == ([], 0)
    for path in (f"/api/customers/{customer.id}", "/api/customers", "/api/customers.csv"):
        response = client.get(path, params={"purpose": "driving_behaviour_insurance"}, headers=analyst.headers)
        assert customer.email not in response.text, path
    assert log_rows(session, customer) == []
    # the same row under the notice that announced the purpose is a valid consent
    row = session.scalars(select(Grant).where(Grant.customer_id == customer.id)).one()
    row.notice_version = 2
    session.commit()
    assert opens(session, principal, customer, "driving_behaviour_insurance")


# --- purposes resting on another legal basis -----------------------------------------------------

OTHER_BASES = [("emergency_assistance", "vital_interest", Role.CALL_CENTRE_AGENT),
               ("safety_recalls", "legal_obligation", Role.CARMAKER_ADMIN),
               ("warranty_work", "contract", Role.DEALER_SERVICE)]


@pytest.mark.parametrize(("purpose", "basis", "role"), OTHER_BASES)
def test_other_legal_bases_cannot_be_granted_or_withdrawn(make, client, session, scene, purpose, basis, role):
    dealer, _, customer = scene
    before = session.scalar(select(func.count(ConsentReceipt.id)))
    with pytest.raises(Invalid):
        consent.give(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code=purpose)
    with pytest.raises(Invalid):
        consent.withdraw(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code=purpose)
    me = make.customer_login(customer)
    assert client.put(f"/api/me/consents/{dealer.id}/{purpose}", headers=me.headers).status_code == 422
    assert client.delete(f"/api/me/consents/{dealer.id}/{purpose}", headers=me.headers).status_code == 422
    assert session.scalar(select(func.count(ConsentReceipt.id))) == before
    assert consent.grants_of(session=session, customer_id=customer.id) == []


@pytest.mark.parametrize(("purpose", "basis", "role"), OTHER_BASES)
def test_other_legal_bases_open_only_with_a_real_reference_and_are_logged_with_it(make, session, purpose, basis,
                                                                                   role):
    """A string the reader typed is no reference: only a ``Reference`` the record's domain built, for
    this purpose, this customer and the reader's organization."""
    organization = make.carmaker() if role in (Role.CALL_CENTRE_AGENT, Role.CARMAKER_ADMIN) else make.dealer()
    reader = principal_of(session, make.staff(organization, role))
    customer, other = make.customer(), make.customer()
    assert not opens(session, reader, customer, purpose)
    for made_up in ("", "case:42", "claim:981"):
        assert not opens(session, reader, customer, purpose, reference=made_up)
    wrong = [consent.Reference(purpose="sales_contact" if purpose != "sales_contact" else purpose,
                               customer_id=customer.id, organization_id=organization.id, label="x"),
             consent.Reference(purpose=purpose, customer_id=other.id, organization_id=organization.id, label="x"),
             consent.Reference(purpose=purpose, customer_id=customer.id, organization_id=organization.id + 1000,
                               label="x")]
    for reference in wrong:
        assert not opens(session, reader, customer, purpose, reference=reference)
    assert log_rows(session, customer) == []
    good = consent.Reference(purpose=purpose, customer_id=customer.id, organization_id=organization.id,
                             label="record 7")
    assert opens(session, reader, customer, purpose, reference=good)
    (entry,) = log_rows(session, customer)
    assert (entry.purpose_code, entry.legal_basis, entry.reference, entry.organization_id, entry.user_id,
            entry.role) == (purpose, basis, "record 7", organization.id, reader.user_id, role.value)


def test_unknown_purposes_and_principals_without_organization_open_nothing(session, scene):
    dealer, rep, customer = scene
    consent.give(session=session, customer_id=customer.id, organization_id=dealer.id, purpose_code="sales_contact")
    assert not opens(session, rep, customer, "no_such_purpose", reference="case:1")
    orphan = Principal(user_id=rep.user_id, role=Role.DEALER_SALES, display_name="Orphan", organization_id=None)
    assert not opens(session, orphan, customer, "sales_contact")
    assert not opens(session, orphan, customer, "emergency_assistance", reference="case:1")
    assert log_rows(session, customer) == []


def test_a_customer_opens_only_their_own_door_and_is_not_logged(make, session):
    customer, other = make.customer(), make.customer()
    login = make.customer_login(customer)
    me = principal_of(session, login)
    assert opens(session, me, customer, "sales_contact")
    assert not opens(session, me, other, "sales_contact")
    assert log_rows(session, customer) == []


# --- expiry --------------------------------------------------------------------------------------

def test_an_expired_grant_closes_the_door(session, scene):
    dealer, rep, customer = scene
    with frozen_at(T0):
        grant = consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                             purpose_code="sales_contact")
        grant.expires_at = T0 + timedelta(days=30)
        session.flush()
    with frozen_at(T0 + timedelta(days=29, hours=23)):
        assert opens(session, rep, customer, "sales_contact")
        assert customers_service.list_visible(session=session, principal=rep, purpose="sales_contact")[1] == 1
        assert consent.allowed_purposes(session=session, principal=rep, customer_id=customer.id) == ["sales_contact"]
    for later in (timedelta(days=30), timedelta(days=31), timedelta(days=400)):
        with frozen_at(T0 + later):
            assert not opens(session, rep, customer, "sales_contact"), later
            assert customers_service.list_visible(session=session, principal=rep, purpose="sales_contact") == ([], 0)
            assert consent.allowed_purposes(session=session, principal=rep, customer_id=customer.id) == []
            matrix = customer360.consent_matrix(session=session, customer_id=customer.id)
            cell = next(r for r in matrix if r["organization_id"] == dealer.id and r["purpose_code"] == "sales_contact")
            assert cell["granted"] is False, "the customer's matrix must not show an expired grant as allowed"


def test_an_expired_grant_can_be_given_again(session, scene):
    dealer, rep, customer = scene
    with frozen_at(T0):
        grant = consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                             purpose_code="sales_contact")
        grant.expires_at = T0 + timedelta(days=30)
        session.flush()
    with frozen_at(T0 + timedelta(days=60)):
        assert not opens(session, rep, customer, "sales_contact")
        consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                     purpose_code="sales_contact")
        assert opens(session, rep, customer, "sales_contact")
    assert [r.state for r in consent.ledger_of(session=session, customer_id=customer.id)] == ["granted", "granted"]


def test_an_expired_grant_closes_the_api(make, client, session):
    dealer, customer = make.dealer(), make.customer()
    rep = make.staff(dealer)
    grant = make.grant(customer, dealer, "sales_contact")
    assert client.get(f"/api/customers/{customer.id}", headers=rep.headers).status_code == 200
    grant.expires_at = now() - timedelta(minutes=1)
    session.commit()
    assert client.get(f"/api/customers/{customer.id}", headers=rep.headers).status_code == 404
    assert customer.email not in client.get("/api/customers", headers=rep.headers).text

"""Leads: who is asking (dedupe), joining a recent request, merging, routing, and the consent door."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent import service as consent_service
from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import advance, frozen_at
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.outbox import OutboxMessage
from forecourt.customers import email_links
from forecourt.customers.models import Customer
from forecourt.parties import service as parties_service
from forecourt.sales import intake
from forecourt.sales import leads as leads_service
from forecourt.sales.models import Activity, Lead
from tests.factories import fast_password_hashing  # noqa: F401  (autouse: cheaper argon2id)

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BERLIN = dict(city="Berlin", latitude=52.52, longitude=13.405)
POTSDAM = dict(city="Potsdam", latitude=52.40, longitude=13.06)
HAMBURG = dict(city="Hamburg", latitude=53.55, longitude=9.99)


def principal_of(session, login):
    return parties_service.principal_for(parties_service.get_user(session=session, user_id=login.user_id))


def ask(session, **values):
    base = dict(source=None, first_name="Mara", last_name="Kowalski", email="mara.kowalski@example.test",
                phone=None, allow_contact=False)
    return intake.take_lead(session=session, **(base | values))


def ask_allowing(session, **values):
    """A request with "allow contact" ticked, confirmed through the link e-mailed to the customer."""
    taken = ask(session, allow_contact=True, **values)
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == taken.lead.customer_id,
                                                          OutboxMessage.topic == "contact_confirmation")
                              .order_by(OutboxMessage.id.desc())).first()
    email_links.confirm_contact(session=session, token=message.link.rsplit("/", 1)[1])
    return taken


@pytest.fixture
def dealer(make):
    return make.dealer(name="Autohaus Brandt Berlin", **BERLIN)


@pytest.fixture
def rep(make, session, dealer):
    return principal_of(session, make.staff(dealer, Role.DEALER_SALES))


# --- who is asking -----------------------------------------------------------------------------------

def test_a_new_person_becomes_a_customer_and_the_lead_keeps_what_they_typed(session, dealer):
    taken = ask(session, email="  Mara.Kowalski@Example.TEST ", phone="+49 (30) 555-1234", dealer_id=dealer.id)
    customer = session.get(Customer, taken.lead.customer_id)
    assert customer.email == "mara.kowalski@example.test" and customer.last_name == "Kowalski"
    assert (taken.lead.email, taken.lead.phone) == ("mara.kowalski@example.test", "+49305551234")
    assert (taken.lead.routed_by, taken.lead.routing_reason) == ("customer_choice",
                                                                 "Chosen by the customer: Autohaus Brandt Berlin.")
    assert taken.joined is False and taken.lead.status == "new"


def test_an_existing_customer_is_matched_by_email_and_their_profile_is_not_overwritten(make, session, dealer):
    known = make.customer(email="greta.stein@example.test", first_name="Greta", last_name="Stein",
                          phone="+49 40 111")
    taken = ask(session, first_name="G.", last_name="Stein-Meyer", email="GRETA.STEIN@example.test ",
                phone="+49 171 9999999", dealer_id=dealer.id)
    session.refresh(known)
    assert taken.lead.customer_id == known.id
    assert (known.first_name, known.last_name, known.phone) == ("Greta", "Stein", "+4940111")
    assert (taken.lead.first_name, taken.lead.last_name, taken.lead.phone) == ("G.", "Stein-Meyer", "+491719999999")


def test_without_an_email_match_the_phone_and_last_name_together_find_the_customer(make, session, dealer):
    known = make.customer(email="olaf.berg@example.test", last_name="Berg", phone="+49 40 123456")
    same = ask(session, last_name="berg", email="olaf.private@example.test", phone="+49-40-12 34 56",
               dealer_id=dealer.id)
    assert same.lead.customer_id == known.id
    # the same number with another family name is another person (households share phones)
    other = ask(session, last_name="Lindqvist", email="lina.lindqvist@example.test", phone="+49 40 123456",
                dealer_id=dealer.id)
    assert other.lead.customer_id != known.id
    assert session.get(Customer, other.lead.customer_id).email == "lina.lindqvist@example.test"


def test_a_logged_in_customer_asks_as_themself(make, session, dealer):
    customer = make.customer(email="me.myself@example.test")
    login = make.customer_login(customer)
    taken = ask(session, email="someone.else@example.test", principal=principal_of(session, login),
                dealer_id=dealer.id)
    assert taken.lead.customer_id == customer.id
    assert session.scalar(select(func.count(Customer.id)).where(Customer.email == "someone.else@example.test")) == 0


def test_a_request_without_email_from_an_unknown_person_is_refused_with_words(session, dealer):
    with pytest.raises(Invalid, match="e-mail") as error:
        ask(session, email=None, phone="+49 30 1234567", dealer_id=dealer.id)
    assert error.value.field == "email"


# --- a second request joins the first -----------------------------------------------------------------

def test_a_second_request_within_30_days_joins_the_open_lead(session, dealer):
    with frozen_at(MONDAY):
        first = ask(session, dealer_id=dealer.id, message="Is the estate available in green?")
        advance(timedelta(days=12))
        second = ask(session, wants="test_drive", preferred_date=date(2026, 3, 20), message="Can I drive it?")
        assert second.joined and second.lead.id == first.lead.id
        assert session.scalar(select(func.count(Lead.id)).where(Lead.customer_id == first.lead.customer_id)) == 1
        notes = [a.notes for a in session.scalars(select(Activity).where(Activity.lead_id == first.lead.id))]
        assert len(notes) == 1 and "Asked again" in notes[0] and "Asks for a test drive on 20 Mar 2026." in notes[0]
        assert "Can I drive it?" in notes[0]
        assert first.lead.preferred_date == date(2026, 3, 20)  # the gap is filled, the first message stays
        assert first.lead.message == "Is the estate available in green?"
        # after 30 days, or once the first lead is closed, a request is a new lead
        advance(timedelta(days=31))
        third = ask(session, dealer_id=dealer.id)
        assert not third.joined and third.lead.id != first.lead.id
        third.lead.status = "disqualified"
        fourth = ask(session, dealer_id=dealer.id)
        assert not fourth.joined and fourth.lead.id != third.lead.id


def test_a_request_to_another_dealer_is_its_own_lead(make, session, dealer):
    other = make.dealer(name="Autohaus Potsdam", **POTSDAM)
    first = ask(session, dealer_id=dealer.id)
    second = ask(session, dealer_id=other.id)
    assert not second.joined and second.lead.dealer_id == other.id and first.lead.dealer_id == dealer.id


# --- routing -------------------------------------------------------------------------------------------

def test_routing_by_location_picks_the_nearest_dealer_with_capacity(make, session):
    berlin = make.dealer(name="Autohaus Brandt Berlin", **BERLIN)
    potsdam = make.dealer(name="Autohaus Havel Potsdam", **POTSDAM)
    make.dealer(name="Autohaus Alster Hamburg", **HAMBURG)  # far away: never a candidate for Berlin
    for organization in (berlin, potsdam):
        make.staff(organization, Role.DEALER_SALES)
    # Berlin's only rep already has three open leads; Potsdam's has none
    for i in range(3):
        ask(session, email=f"busy{i}@example.test", dealer_id=berlin.id)
    taken = ask(session, email="new.person@example.test", postcode="10115")
    assert taken.lead.dealer_id == potsdam.id and taken.lead.routed_by == "location"
    reason = taken.lead.routing_reason
    assert reason.startswith("Nearest dealer with capacity: Autohaus Havel Potsdam,") and "km away" in reason
    assert "0 open leads per sales rep" in reason and "Autohaus Brandt Berlin" in reason  # says why not Berlin
    # with a second rep in Berlin (1.5 per rep) Potsdam still wins; with equal load the nearer one does
    make.staff(berlin, Role.DEALER_SALES)
    for i in range(2):
        ask(session, email=f"potsdam{i}@example.test", dealer_id=potsdam.id)
    # Berlin: 3 leads / 2 reps = 1.5, Potsdam: 3 leads / 1 rep = 3
    taken = ask(session, email="another.person@example.test", city="Berlin")
    assert taken.lead.dealer_id == berlin.id
    assert "Autohaus Brandt Berlin" in taken.lead.routing_reason and "1.5 open leads per sales rep" in (
        taken.lead.routing_reason)


def test_unknown_location_without_a_chosen_dealer_is_a_clear_error(make, session):
    make.dealer(**BERLIN)
    with pytest.raises(Invalid, match="could not find this postcode or town") as error:
        ask(session, postcode="00000")
    assert error.value.field == "postcode"
    with pytest.raises(Invalid, match="could not find"):
        ask(session)  # no place at all


# --- consent: invisible until allowed ---------------------------------------------------------------------

def log_rows(session, customer_id, organization_id):
    return session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.customer_id == customer_id, AccessLogEntry.organization_id == organization_id))


def test_without_permission_the_lead_is_invisible_until_the_customer_allows_it(make, session, dealer, rep):
    taken = ask(session, dealer_id=dealer.id)
    customer_id = taken.lead.customer_id
    with pytest.raises(NotFound):
        leads_service.open_lead(session=session, principal=rep, lead_id=taken.lead.id)
    items, total, waiting = leads_service.list_leads(session=session, principal=rep)
    assert (items, total, waiting) == ([], 0, 1)
    assert log_rows(session, customer_id, dealer.id) == 0
    consent_service.give(session=session, customer_id=customer_id, organization_id=dealer.id,
                         purpose_code="sales_contact", method="test")
    assert leads_service.open_lead(session=session, principal=rep, lead_id=taken.lead.id).id == taken.lead.id
    items, total, waiting = leads_service.list_leads(session=session, principal=rep)
    assert [lead.id for lead in items] == [taken.lead.id] and waiting == 0
    assert log_rows(session, customer_id, dealer.id) == 2


def test_ticking_allow_contact_gives_the_grant_once_the_customer_confirms_by_email(make, session, dealer, rep):
    taken = ask(session, dealer_id=dealer.id, allow_contact=True)
    assert consent_service.active_grant(session=session, customer_id=taken.lead.customer_id,
                                        organization_id=dealer.id, purpose_code="sales_contact") is None
    with pytest.raises(NotFound):
        leads_service.open_lead(session=session, principal=rep, lead_id=taken.lead.id)
    ask_allowing(session, dealer_id=dealer.id)
    receipt = consent_service.ledger_of(session=session, customer_id=taken.lead.customer_id)[-1]
    assert (receipt.method, receipt.state, receipt.organization_id) == ("double_opt_in_email", "granted", dealer.id)
    assert leads_service.open_lead(session=session, principal=rep, lead_id=taken.lead.id).id == taken.lead.id


def test_another_dealers_rep_never_sees_the_lead(make, session, dealer):
    other = make.dealer(**POTSDAM)
    other_rep = principal_of(session, make.staff(other, Role.DEALER_SALES))
    taken = ask_allowing(session, dealer_id=dealer.id)
    make.grant(session.get(Customer, taken.lead.customer_id), other, "sales_contact")
    with pytest.raises(NotFound):
        leads_service.open_lead(session=session, principal=other_rep, lead_id=taken.lead.id)
    assert leads_service.list_leads(session=session, principal=other_rep)[0] == []


# --- merge -------------------------------------------------------------------------------------------------

def test_merge_keeps_both_histories(make, session, dealer, rep):
    with frozen_at(MONDAY):
        first = ask_allowing(session, dealer_id=dealer.id, email="jan.roth@example.test", last_name="Roth",
                             message="Interested in the hatchback")
        advance(timedelta(days=3))
        # the same person with another address: a second customer record and a second lead
        second = ask_allowing(session, dealer_id=dealer.id, email="jan.roth@work.example", last_name="Roth",
                              wants="test_drive", preferred_date=date(2026, 3, 14), message="Weekend test drive?")
        assert second.lead.customer_id != first.lead.customer_id
        advance(timedelta(days=1))
        ask(session, dealer_id=dealer.id, email="jan.roth@work.example", last_name="Roth", message="Still keen")
        advance(timedelta(days=1))
        kept = leads_service.merge(session=session, principal=rep, keep_id=first.lead.id,
                                   duplicate_id=second.lead.id)
    session.refresh(second.lead)
    assert (second.lead.status, second.lead.merged_into_id) == ("merged", first.lead.id)
    entries = leads_service.timeline(session=session, lead=kept)
    texts = " | ".join(e["text"] for e in entries)
    assert "Interested in the hatchback" in texts and "Weekend test drive?" in texts and "Still keen" in texts
    assert "Test-drive request (lead #" in texts and f"Merged lead #{second.lead.id}" in texts
    assert [e["at"].date() for e in entries][:2] == [date(2026, 3, 2), date(2026, 3, 5)]
    assert any("jan.roth@work.example" in e["contact"] for e in entries)
    assert kept.preferred_date == date(2026, 3, 14)
    # a merged lead is out of the list but still readable, so nothing is lost
    assert second.lead.id not in [lead.id for lead in leads_service.list_leads(session=session, principal=rep)[0]]
    assert leads_service.open_lead(session=session, principal=rep, lead_id=second.lead.id).status == "merged"


def test_merge_refuses_itself_and_other_dealers_with_words(make, session, dealer, rep):
    mine = ask_allowing(session, dealer_id=dealer.id)
    other = make.dealer(**POTSDAM)
    theirs = ask_allowing(session, dealer_id=other.id, email="someone@example.test")
    with pytest.raises(Invalid, match="cannot be merged into itself"):
        leads_service.merge(session=session, principal=rep, keep_id=mine.lead.id, duplicate_id=mine.lead.id)
    with pytest.raises(Invalid, match="only two leads of your own dealer") as error:
        leads_service.merge(session=session, principal=rep, keep_id=mine.lead.id, duplicate_id=theirs.lead.id)
    assert error.value.field == "duplicate_id"
    with pytest.raises(NotFound):  # and the other dealer's lead cannot be the one kept either
        leads_service.merge(session=session, principal=rep, keep_id=theirs.lead.id, duplicate_id=mine.lead.id)
    assert session.get(Lead, theirs.lead.id).status == "new"


def test_status_changes_are_recorded_and_limited(session, dealer, rep):
    taken = ask_allowing(session, dealer_id=dealer.id)
    lead = leads_service.set_status(session=session, principal=rep, lead_id=taken.lead.id, status="contacted")
    assert lead.status == "contacted"
    assert "Marked contacted (was new)." in [e["text"] for e in leads_service.timeline(session=session, lead=lead)]
    with pytest.raises(Invalid, match="can be marked contacted, qualified or disqualified"):
        leads_service.set_status(session=session, principal=rep, lead_id=taken.lead.id, status="won")


def test_a_request_is_described_in_whole_sentences_in_each_language():
    """Each part is its own translated sentence, so German and Korean put the date where they say it."""
    from forecourt.core.i18n import use_locale

    asked = dict(source="test_drive", wants="test_drive", preferred_date=date(2026, 3, 20), model_name="Terra",
                 configuration_code=None, event_name="Autosalon", message="")
    with use_locale("de"):
        assert leads_service.describe_request(**asked) == ("Probefahrtanfrage. Wünscht eine Probefahrt am 20. März 2026. "
                                                   "Interesse am Terra. Kontakt bei Autosalon.")
    with use_locale("ko"):
        korean = leads_service.describe_request(**asked)
    assert "2026년 3월 20일에 시승을 원합니다." in korean and "관심 모델: Terra." in korean, korean
    assert "Autosalon에서 만났습니다." in korean

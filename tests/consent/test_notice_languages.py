"""A privacy notice is published in every language we speak, a customer reads it in theirs, and the
receipt of their consent records the language of the words they agreed to."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forecourt.consent import service as consent
from forecourt.consent.catalogue import ensure_catalogue
from forecourt.consent.models import ConsentReceipt, Notice, NoticeText
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import use_locale


def texts(session, version: int) -> dict[str, NoticeText]:
    return {t.language: t for t in session.scalars(select(NoticeText).where(NoticeText.notice_version == version))}


def test_every_notice_version_is_published_in_english_german_and_korean(session):
    for notice in session.scalars(select(Notice)):
        published = texts(session, notice.version)
        assert set(published) == {"en", "de", "ko"}, notice.version
        assert (published["en"].title, published["en"].body) == (notice.title, notice.body)
        assert len({published[lang].body for lang in published}) == 3  # three texts, not one copied
    current = consent.current_notice(session=session).version
    assert "개인정보" in texts(session, current)["ko"].title
    assert "Datenschutz" in texts(session, current)["de"].title


def test_a_published_text_is_never_rewritten_only_a_missing_language_added(session):
    version = consent.current_notice(session=session).version
    korean = texts(session, version)["ko"]
    korean.body = "고객님이 동의하신 그대로의 문안"
    session.delete(texts(session, version)["de"])
    session.flush()
    ensure_catalogue(session)
    again = texts(session, version)
    assert again["ko"].body == "고객님이 동의하신 그대로의 문안" and "de" in again and again["de"].body


def test_the_reader_gets_the_notice_in_their_language_and_english_where_it_is_missing(session):
    version = consent.current_notice(session=session).version
    with use_locale("ko"):
        assert consent.notice_text(session=session, version=version).language == "ko"
    assert consent.notice_text(session=session, version=version, language="de-AT").language == "de"
    assert consent.notice_text(session=session, version=version, language="tlh").language == "en"
    session.delete(texts(session, version)["ko"])
    session.flush()
    assert consent.notice_text(session=session, version=version, language="ko").language == "en"
    with pytest.raises(NotFound):
        consent.notice_text(session=session, version=999)


def test_the_receipt_records_the_language_the_customer_read(make, session):
    dealer, customer = make.dealer(), make.customer(language="ko")
    consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                 purpose_code="service_reminders", language="ko")
    with use_locale("de"):  # unnamed: the language of the page the customer read
        consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                     purpose_code="sales_contact")
        consent.withdraw(session=session, customer_id=customer.id, organization_id=dealer.id,
                         purpose_code="sales_contact")
    receipts = consent.ledger_of(session=session, customer_id=customer.id)
    assert {r.jurisdiction for r in receipts} == {"EU"}  # a customer of the German market: the GDPR
    assert [(r.purpose_code, r.state, r.language) for r in receipts] == [
        ("service_reminders", "granted", "ko"), ("sales_contact", "granted", "de"),
        ("sales_contact", "withdrawn", "de")]


def test_a_language_the_notice_is_not_published_in_is_refused_in_words(make, session):
    dealer, customer = make.dealer(), make.customer()
    with pytest.raises(Invalid) as refused:
        consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                     purpose_code="service_reminders", language="tlh")
    assert refused.value.field == "language"
    assert "is not published in 'tlh'; it is published in English, Deutsch, 한국어" in refused.value.message
    assert session.scalars(select(ConsentReceipt).where(ConsentReceipt.customer_id == customer.id)).first() is None


def test_the_api_serves_the_notice_in_the_readers_language_and_records_it(make, client, session):
    korean = client.get("/api/notices/current", headers={"Accept-Language": "ko-KR,ko;q=0.9"}).json()
    german = client.get("/api/notices/current", headers={"Accept-Language": "de-DE"}).json()
    english = client.get("/api/notices/current", headers={"Accept-Language": "en-GB"}).json()
    assert (korean["language"], german["language"], english["language"]) == ("ko", "de", "en")
    assert korean["version"] == german["version"] == english["version"]
    assert "개인정보" in korean["title"] and "Datenschutz" in german["title"] and korean["body"] != english["body"]

    dealer, customer = make.dealer(), make.customer(language="ko")
    me = make.customer_login(customer)
    session.commit()
    given = client.put(f"/api/me/consents/{dealer.id}/service_reminders", headers=me.headers,
                       json={"notice_version": korean["version"], "language": "ko"})
    assert given.status_code == 200, given.text
    refused = client.put(f"/api/me/consents/{dealer.id}/sales_contact", headers=me.headers,
                         json={"language": "xx"})
    assert refused.status_code == 422 and "'xx'" in refused.text
    receipts = client.get("/api/me/consent-receipts", headers=me.headers).json()
    assert [(r["purpose_code"], r["language"]) for r in receipts] == [("service_reminders", "ko")]


def test_a_korean_customers_receipt_answers_to_korean_law(make, session):
    dealer = make.dealer(market="KR", street="강남구 도산대로 318", postcode="06054", city="서울특별시",
                         phone="02-3445-2688")
    customer = make.customer(language="ko", market="KR", country="KR", phone="010-2345-6789")
    consent.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                 purpose_code="service_reminders")
    (receipt,) = consent.ledger_of(session=session, customer_id=customer.id)
    assert (receipt.jurisdiction, receipt.language) == ("KR", "en")  # PIPA; read in the request's language

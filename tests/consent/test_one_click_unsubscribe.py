"""RFC 8058 one-click unsubscribe: the e-mail's headers, the signed link, the withdrawal with its receipt,
and links that must change nothing (tampered, spliced from two links, another driver's)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from forecourt.consent import service as consent_service
from forecourt.consent.models import ConsentReceipt
from forecourt.core import outbox
from forecourt.core.config import get_settings
from forecourt.messaging import notify
from tests.factories import browser_for, csrf_token_of
from tests.smtp_servers import mail_server

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def receipts(session, customer) -> int:
    return session.scalar(select(func.count(ConsentReceipt.id)).where(ConsentReceipt.customer_id == customer.id))


def active(session, customer, organization, purpose="marketing_offers") -> bool:
    session.expire_all()
    return consent_service.active_grant(session=session, customer_id=customer.id, organization_id=organization.id,
                                        purpose_code=purpose) is not None


def offer_email(session, session_factory, settings, customer, dealer):
    """An offer resting on the customer's marketing grant to the dealer, sent through a real SMTP server."""
    message = outbox.enqueue(session=session, customer_id=customer.id, channel="email", topic="offer",
                             subject="Winter tyres, fitted", body="Ten percent off this month.",
                             basis="marketing_offers", consent_organization_id=dealer.id,
                             dedupe_key=f"test:offer:{customer.id}:{dealer.id}")
    session.commit()
    with mail_server() as server:
        chosen = get_settings(**(settings.model_dump() | {"smtp_host": "127.0.0.1", "smtp_port": server.port,
                                                          "portal_url": "https://portal.forecourt.example"}))
        assert notify.send_message(session_factory=session_factory, settings=chosen, message_id=message.id) == "sent"
    (received,) = server.received
    return received.message


def link_of(email) -> str:
    """The path of the List-Unsubscribe URL (the test client speaks to the app directly)."""
    url = email["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://portal.forecourt.example/unsubscribe/")
    return urlsplit(url).path


@pytest.fixture
def driver(make):
    return make.customer(email="one.click@example.test", last_name="Einklick")


@pytest.fixture
def dealer(make, driver):
    dealer = make.dealer(name="Autohaus Klick")
    make.grant(driver, dealer, "marketing_offers")
    make.grant(driver, dealer, "service_reminders")  # another purpose: left alone
    return dealer


def test_the_offer_carries_one_click_headers_and_the_post_withdraws_that_grant(session, session_factory, settings,
                                                                               client, driver, dealer):
    email = offer_email(session, session_factory, settings, driver, dealer)
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = link_of(email)
    assert link in email.get_content()  # and people can read the link in the text too
    # opening the link (a mail scanner does) changes nothing
    page = client.get(link)
    assert page.status_code == 200 and "Autohaus Klick" in page.text and "Marketing offers" in page.text
    assert active(session, driver, dealer)
    before = receipts(session, driver)
    # the mail provider's one-click POST: no cookie, no login
    done = client.post(link, data=ONE_CLICK)
    assert done.status_code == 200 and "will no longer write to you" in done.text
    assert not active(session, driver, dealer) and active(session, driver, dealer, "service_reminders")
    receipt = session.scalars(select(ConsentReceipt).where(ConsentReceipt.customer_id == driver.id)
                              .order_by(ConsentReceipt.id.desc())).first()
    assert receipts(session, driver) == before + 1
    assert (receipt.state, receipt.method, receipt.organization_id, receipt.purpose_code) == (
        "withdrawn", "email-one-click", dealer.id, "marketing_offers")
    # a second click: said so, no second receipt
    again = client.post(link, data=ONE_CLICK)
    assert again.status_code == 200 and "already does not write to you" in again.text
    assert receipts(session, driver) == before + 1


def test_a_tampered_or_spliced_link_changes_nothing_and_says_so(session, session_factory, settings, client, make,
                                                               driver, dealer):
    other = make.customer(email="other.driver@example.test")
    make.grant(other, dealer, "marketing_offers")
    link = link_of(offer_email(session, session_factory, settings, driver, dealer))
    other_link = link_of(offer_email(session, session_factory, settings, other, dealer))
    before = receipts(session, driver), receipts(session, other)
    token = link.rsplit("/", 1)[1]
    payload, signature = token.rsplit(".", 1)
    other_payload = other_link.rsplit("/", 1)[1].rsplit(".", 1)[0]
    middle = len(signature) // 2  # not the last symbol: its low bits are base64 padding, ignored when decoded
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
    for bad in (f"{payload}.{flipped}",  # one character of the signature changed
                f"{other_payload}.{signature}",  # the other driver's part with this link's signature
                payload):  # the signature cut off
        for method in ("GET", "POST"):
            response = client.request(method, f"/unsubscribe/{bad}", data=ONE_CLICK if method == "POST" else None)
            assert response.status_code == 404, (bad, method)
            assert "not valid" in response.text and "Nothing was changed" in response.text
    assert active(session, driver, dealer) and active(session, other, dealer)
    assert (receipts(session, driver), receipts(session, other)) == before


def test_another_logged_in_driver_cannot_use_the_link(session, session_factory, settings, make, driver, dealer):
    other = make.customer(email="nosy.neighbour@example.test")
    link = link_of(offer_email(session, session_factory, settings, driver, dealer))
    before = receipts(session, driver)
    browser = browser_for(make, make.customer_login(other))
    page = browser.get(link)
    assert page.status_code == 404 and "sent to someone else" in page.text and "Autohaus Klick" not in page.text
    posted = browser.post(link, data=ONE_CLICK | {"csrf_token": csrf_token_of(session, browser)})
    assert posted.status_code == 404 and "sent to someone else" in posted.text
    assert active(session, driver, dealer) and receipts(session, driver) == before
    # the driver the link was sent to, logged in, may use it from the page's own button
    own = browser_for(make, make.customer_login(driver))
    assert own.get(link).status_code == 200
    done = own.post(link, data=ONE_CLICK | {"csrf_token": csrf_token_of(session, own)})
    assert done.status_code == 200 and not active(session, driver, dealer)


def test_transactional_messages_carry_no_unsubscribe_header(session, session_factory, settings, make):
    owner = make.customer(email="recall.only@example.test")
    message = outbox.enqueue(session=session, customer_id=owner.id, channel="email", topic="recall",
                             subject="Safety recall", body="Book it.", basis="legal_obligation",
                             dedupe_key="test:recall:no-unsubscribe")
    session.commit()
    with mail_server() as server:
        chosen = get_settings(**(settings.model_dump() | {"smtp_host": "127.0.0.1", "smtp_port": server.port}))
        notify.send_message(session_factory=session_factory, settings=chosen, message_id=message.id)
    (received,) = server.received
    assert received.message["List-Unsubscribe"] is None and received.message["List-Unsubscribe-Post"] is None

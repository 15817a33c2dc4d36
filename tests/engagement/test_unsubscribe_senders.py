"""One-click unsubscribe from a coordinated e-mail with several senders, read from a real SMTP server.

Each (organization, purpose) that put an offer in the e-mail has its own signed link in the text; the
List-Unsubscribe header's link (RFC 8058 one-click) withdraws every one of them. Each withdrawal writes
its own ledger receipt; a tampered link, another driver's, and a link used again change nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from forecourt.consent import service as consent_service
from forecourt.consent.models import ConsentReceipt
from forecourt.core.clock import frozen_at, now
from forecourt.core.config import get_settings
from forecourt.core.outbox import OutboxMessage
from forecourt.engagement import compose, delivery, occasions
from forecourt.engagement.models import Message
from forecourt.messaging import notify
from tests.engagement.scene import add_offer, build
from tests.factories import browser_for, csrf_token_of
from tests.smtp_servers import mail_server

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
PORTAL = "https://portal.forecourt.example"


def receipts(session, customer) -> list[tuple]:
    session.expire_all()
    return [(r.organization_id, r.purpose_code, r.state, r.method) for r in session.scalars(
        select(ConsentReceipt).where(ConsentReceipt.customer_id == customer.id).order_by(ConsentReceipt.id))]


def active(session, customer, organization, purpose) -> bool:
    session.expire_all()
    return consent_service.active_grant(session=session, customer_id=customer.id, organization_id=organization.id,
                                        purpose_code=purpose) is not None


@pytest.fixture
def sent(make, session, session_factory, settings):
    """A message with offers of the carmaker (marketing), the dealer (service reminders) and the insurer
    (marketing), sent by e-mail through aiosmtpd; the dealer's marketing grant puts nothing in it."""
    scene = build(make, session)
    add_offer(make, session, scene.carmaker, title="Extend your warranty", relevance=90)
    add_offer(make, session, scene.dealer, title="Check-up before it ends", purpose="service_reminders",
              action="book_service", action_code="inspection", relevance=60)
    add_offer(make, session, scene.finance, title="Cover for the road", relevance=40)
    for organization, purpose in ((scene.carmaker, "marketing_offers"), (scene.dealer, "service_reminders"),
                                  (scene.finance, "marketing_offers"), (scene.dealer, "marketing_offers")):
        make.grant(scene.customer, organization, purpose)
    occasions.detect(session=session, today=date.today(), vehicle_ids=[scene.vehicle.id])
    compose.compose(session=session, today=date.today())
    message = session.scalars(select(Message).where(Message.customer_id == scene.customer.id)).one()
    noon = datetime.combine(date.today(), datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=11)
    assert delivery.deliver(session=session, message=message, at=noon) == "sent"
    row = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == scene.customer.id,
                                                      OutboxMessage.channel == "email")).one()
    session.commit()
    with mail_server() as server:
        chosen = get_settings(**(settings.model_dump() | {"smtp_host": "127.0.0.1", "smtp_port": server.port,
                                                          "portal_url": PORTAL}))
        assert notify.send_message(session_factory=session_factory, settings=chosen, message_id=row.id) == "sent"
    (received,) = server.received
    return scene, received.message


def body_links(email) -> dict[str, str]:
    """Sender name -> the path of its own unsubscribe link in the e-mail's text."""
    text = email.get_content()
    return {name: urlsplit(url).path for name, url in
            re.findall(r"To stop (.+?) writing to you about “[^”]+”: (\S+)", text)}


def test_every_sender_has_its_link_and_the_header_withdraws_them_all(sent, session, client):
    scene, email = sent
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = urlsplit(email["List-Unsubscribe"].strip("<>"))
    assert f"{header.scheme}://{header.netloc}" == PORTAL and header.path.startswith("/unsubscribe/")
    links = body_links(email)
    assert set(links) == {scene.carmaker.name, scene.dealer.name, scene.finance.name}
    assert len(set(links.values()) | {header.path}) == 4  # four different links
    assert header.path in email.get_content()  # the header's link is in the text too
    before = receipts(session, scene.customer)

    # the dealer's own link: the page only asks (mail scanners open links), the POST withdraws that grant
    page = client.get(links[scene.dealer.name])
    assert page.status_code == 200 and scene.dealer.name in page.text and scene.finance.name not in page.text
    assert active(session, scene.customer, scene.dealer, "service_reminders")
    done = client.post(links[scene.dealer.name], data=ONE_CLICK)
    assert done.status_code == 200 and "will no longer write to you" in done.text
    assert receipts(session, scene.customer) == before + [
        (scene.dealer.id, "service_reminders", "withdrawn", "email-one-click")]
    assert active(session, scene.customer, scene.carmaker, "marketing_offers")
    assert active(session, scene.customer, scene.finance, "marketing_offers")

    # the header's one-click: every sender of this e-mail, a receipt each; what was not in it stays
    page = client.get(header.path)
    assert page.status_code == 200 and all(o.name in page.text for o in (scene.carmaker, scene.finance, scene.dealer))
    done = client.post(header.path, data=ONE_CLICK)
    assert done.status_code == 200
    assert receipts(session, scene.customer)[len(before) + 1:] == [
        (scene.carmaker.id, "marketing_offers", "withdrawn", "email-one-click"),
        (scene.finance.id, "marketing_offers", "withdrawn", "email-one-click")]
    assert not active(session, scene.customer, scene.carmaker, "marketing_offers")
    assert not active(session, scene.customer, scene.finance, "marketing_offers")
    assert active(session, scene.customer, scene.dealer, "marketing_offers")  # not a sender of this e-mail


def test_a_link_used_again_changes_nothing_even_after_the_driver_allowed_it_again(sent, session, client, make):
    scene, email = sent
    link = body_links(email)[scene.carmaker.name]
    assert client.post(link, data=ONE_CLICK).status_code == 200
    after_first = receipts(session, scene.customer)
    again = client.post(link, data=ONE_CLICK)
    assert again.status_code == 200 and "already does not write to you" in again.text
    assert receipts(session, scene.customer) == after_first
    # the driver allows the carmaker again later: the old link does not undo that decision
    with frozen_at(now() + timedelta(minutes=5)):
        make.grant(scene.customer, scene.carmaker, "marketing_offers")
    given = receipts(session, scene.customer)
    assert client.get(link).status_code == 200
    reused = client.post(link, data=ONE_CLICK)
    assert reused.status_code == 200 and "again after this e-mail was written" in reused.text
    assert active(session, scene.customer, scene.carmaker, "marketing_offers")
    assert receipts(session, scene.customer) == given


def test_tampered_and_other_drivers_links_change_nothing(sent, session, client, make):
    scene, email = sent
    link = body_links(email)[scene.finance.name]
    payload, signature = link.rsplit("/", 1)[1].rsplit(".", 1)
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
    header = urlsplit(email["List-Unsubscribe"].strip("<>")).path
    header_signature = header.rsplit(".", 1)[1]
    before = receipts(session, scene.customer)
    for bad in (f"/unsubscribe/{payload}.{flipped}", f"/unsubscribe/{payload}.{header_signature}",
                f"/unsubscribe/{payload}"):
        for method in ("GET", "POST"):
            response = client.request(method, bad, data=ONE_CLICK if method == "POST" else None)
            assert response.status_code == 404 and "not valid" in response.text, (bad, method)
            assert "Nothing was changed" in response.text
    # another driver, logged in, opens this driver's link: told so, nothing changes
    other = browser_for(make, make.customer_login(make.customer()))
    page = other.get(link)
    assert page.status_code == 404 and "sent to someone else" in page.text and scene.finance.name not in page.text
    posted = other.post(link, data=ONE_CLICK | {"csrf_token": csrf_token_of(session, other)})
    assert posted.status_code == 404 and "sent to someone else" in posted.text
    assert receipts(session, scene.customer) == before
    assert active(session, scene.customer, scene.finance, "marketing_offers")


def test_the_unsubscribe_page_speaks_the_readers_language(sent, client):
    scene, email = sent
    link = body_links(email)[scene.dealer.name]
    page = client.get(link, headers={"Accept-Language": "de"})
    assert page.status_code == 200 and "Abmelden" in page.text

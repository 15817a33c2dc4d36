"""E-mail that a real provider accepts, against real SMTP servers: STARTTLS and implicit TLS with a
certificate made in the test, AUTH, Date and Message-ID, and the certificate actually checked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from forecourt.core import outbox
from forecourt.core.config import get_settings
from forecourt.messaging import notify
from tests.smtp_servers import PASSWORD, USER, certificates, mail_server


@pytest.fixture
def certs(tmp_path):
    return certificates(tmp_path)


def mail_settings(settings, server, **values):
    return get_settings(**(settings.model_dump() | {
        "smtp_host": "127.0.0.1", "smtp_port": server.port, "mail_from": "Aurora On Call <oncall@aurora-motors.example>",
        "portal_url": "https://portal.forecourt.example"} | values))


def recall_for(session, customer, key: str):
    message = outbox.enqueue(session=session, customer_id=customer.id, channel="email", topic="recall",
                             subject="Safety recall RC-7: brake hose", body="Book it at any dealer.",
                             basis="legal_obligation", dedupe_key=key, link="/me/vehicles/WFC1")
    session.commit()
    return message


def send(session, session_factory, settings, message) -> str:
    result = notify.send_message(session_factory=session_factory, settings=settings, message_id=message.id)
    session.expire_all()
    return result


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_login_delivers_with_date_and_message_id(session, session_factory, settings, make, certs, security):
    """STARTTLS (port 587 style) and implicit TLS (465): encrypted, logged in, the headers providers want."""
    customer = make.customer(email=f"{security}.owner@example.test")
    message = recall_for(session, customer, f"test:mail:{security}")
    with mail_server(security=security, certs=certs, auth=True) as server:
        chosen = mail_settings(settings, server, smtp_security=security, smtp_user=USER, smtp_password=PASSWORD,
                               smtp_ca_file=certs.ca_file)
        assert send(session, session_factory, chosen, message) == "sent"
    (received,) = server.received
    assert received.tls and received.user == USER and server.logins == [(USER, True)]
    assert received.recipients == [f"{security}.owner@example.test"]
    email = received.message
    assert email["Date"] is not None and email["Date"].datetime.tzinfo is not None
    assert email["Message-ID"].startswith("<") and email["Message-ID"].endswith("@aurora-motors.example>")
    assert email["List-Unsubscribe"] is None  # a safety recall rests on the law, not on consent
    assert "https://portal.forecourt.example/me/vehicles/WFC1" in email.get_content()
    assert message.sent_at is not None and message.last_error is None


def test_a_plain_server_sees_no_tls(session, session_factory, settings, make):
    """The other side of ``received.tls`` above: the test server does tell plain from encrypted."""
    message = recall_for(session, make.customer(email="plain@example.test"), "test:mail:plain")
    with mail_server() as server:
        assert send(session, session_factory, mail_settings(settings, server), message) == "sent"
    (received,) = server.received
    assert not received.tls and received.user is None


def test_a_certificate_nobody_vouches_for_is_refused_and_the_message_waits(session, session_factory, settings, make,
                                                                          certs):
    customer = make.customer(email="untrusted@example.test")
    message = recall_for(session, customer, "test:mail:untrusted")
    for security in ("starttls", "tls"):
        with mail_server(security=security, certs=certs, auth=True) as server:
            # the same server, but the client was not told to trust the test's CA
            chosen = mail_settings(settings, server, smtp_security=security, smtp_user=USER, smtp_password=PASSWORD)
            assert send(session, session_factory, chosen, message) == "failed"
        assert server.received == [] and server.logins == []  # the password never left
        assert message.sent_at is None and "CERTIFICATE_VERIFY_FAILED" in message.last_error


def test_a_wrong_password_keeps_the_message_for_later(session, session_factory, settings, make, certs):
    customer = make.customer(email="wrong.password@example.test")
    message = recall_for(session, customer, "test:mail:password")
    with mail_server(security="starttls", certs=certs, auth=True) as server:
        wrong = mail_settings(settings, server, smtp_security="starttls", smtp_user=USER,
                              smtp_password="not the password", smtp_ca_file=certs.ca_file)
        assert send(session, session_factory, wrong, message) == "failed"
        assert message.attempts == 1 and "535" in message.last_error and server.received == []
        right = mail_settings(settings, server, smtp_security="starttls", smtp_user=USER, smtp_password=PASSWORD,
                              smtp_ca_file=certs.ca_file)
        assert send(session, session_factory, right, message) == "sent"
    *refused, accepted = server.logins  # smtplib tries each mechanism the server offers before giving up
    assert refused and not any(ok for _, ok in refused) and accepted == (USER, True) and len(server.received) == 1


def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(session, session_factory, settings, make,
                                                                     certs):
    customer = make.customer(email="downgrade@example.test")
    message = recall_for(session, customer, "test:mail:downgrade")
    with mail_server(security="starttls", certs=certs, offer_starttls=False) as server:
        chosen = mail_settings(settings, server, smtp_security="starttls", smtp_ca_file=certs.ca_file)
        assert send(session, session_factory, chosen, message) == "failed"
    assert server.received == [] and "STARTTLS" in message.last_error and message.sent_at is None


def test_a_login_without_tls_is_refused_by_the_settings():
    with pytest.raises(ValidationError, match="FORECOURT_SMTP_SECURITY"):
        get_settings(smtp_user="someone", smtp_security="none")
    assert get_settings(smtp_user="someone", smtp_security="tls").smtp_user == "someone"

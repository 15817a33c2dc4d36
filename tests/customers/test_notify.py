"""The outbox sender against a real SMTP server (aiosmtpd on a free port): sent, retried, erased skipped."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from datetime import UTC, datetime, timedelta

from forecourt.core import clock, outbox
from forecourt.core.clock import now
from forecourt.core.errors import Invalid
from forecourt.core.config import get_settings
from forecourt.core.outbox import OutboxMessage
from forecourt.messaging import notify


class Inbox:
    """What the SMTP server received; ``refuse`` makes it answer a temporary failure instead."""

    def __init__(self):
        self.received: list = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Try again later"
        self.received.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def _settings(database_url: str, port: int):
    return get_settings(database_url=database_url, smtp_host="127.0.0.1", smtp_port=port,
                        mail_from="Forecourt Recalls <recalls@forecourt.example>",
                        portal_url="https://portal.forecourt.example")


def _message(session, customer, key: str, channel: str = "email") -> OutboxMessage:
    message = outbox.enqueue(session=session, customer_id=customer.id, channel=channel, topic="recall",
                             subject="Safety recall for your 2024 Aurora: Brake hose may chafe",
                             body="Your car is part of safety recall RC-1.\n\nBook it at any dealer.",
                             basis="legal_obligation", dedupe_key=key, link="/me/vehicles/WFC123")
    session.commit()
    return message


def test_an_email_reaches_the_smtp_server_and_is_marked_sent(session, session_factory, settings, make, smtp):
    customer = make.customer(email="owner.smtp@example.test")
    message = _message(session, customer, "test:smtp:1")
    in_app = _message(session, customer, "test:smtp:1:app", channel="in_app")
    result = notify.send_pending(session_factory=session_factory, settings=_settings(settings.database_url, smtp.port))
    assert result["sent"] == 1 and result["failed"] == 0
    (recipients, received), = smtp.received
    assert recipients == ["owner.smtp@example.test"]
    assert received["To"] == "owner.smtp@example.test"
    assert received["From"] == "Forecourt Recalls <recalls@forecourt.example>"
    assert received["Subject"] == "Safety recall for your 2024 Aurora: Brake hose may chafe"
    body = received.get_content()
    assert "Book it at any dealer." in body and "https://portal.forecourt.example/me/vehicles/WFC123" in body
    session.expire_all()
    assert message.sent_at is not None and message.attempts == 1 and message.last_error is None
    assert in_app.sent_at is None  # in-app messages are in the inbox; no transport sends them
    # nothing left to send: a second run sends nothing again
    again = notify.send_pending(session_factory=session_factory, settings=_settings(settings.database_url, smtp.port))
    assert again["sent"] == 0 and len(smtp.received) == 1


def test_a_failure_keeps_the_row_and_it_is_retried_after_a_growing_wait(session, session_factory, settings, make,
                                                                         smtp):
    customer = make.customer(email="owner.retry@example.test")
    with clock.frozen_at(datetime(2026, 5, 4, 9, 0, tzinfo=UTC)):
        message = _message(session, customer, "test:smtp:retry")
        _retried_later(session, session_factory, settings, smtp, message)


def _retried_later(session, session_factory, settings, smtp, message) -> None:
    # nobody listens on this port: connection refused
    down = notify.send_pending(session_factory=session_factory, settings=_settings(settings.database_url, free_port()))
    assert down["failed"] == 1 and down["sent"] == 0
    session.expire_all()
    assert message.sent_at is None and message.attempts == 1 and "Connection" in message.last_error
    assert message.next_attempt_at == now() + timedelta(seconds=60)
    # not before its wait is over, even with the server up
    smtp.refuse = True
    early = notify.send_pending(session_factory=session_factory, settings=_settings(settings.database_url, smtp.port))
    assert sum(early.values()) == 0 and smtp.received == []
    # the server is up but answers "try again later": the wait doubles
    clock.advance(timedelta(seconds=60))
    busy = notify.send_pending(session_factory=session_factory, settings=_settings(settings.database_url, smtp.port))
    assert busy["failed"] == 1
    session.expire_all()
    assert message.sent_at is None and message.attempts == 2 and "451" in message.last_error
    assert message.next_attempt_at == now() + timedelta(seconds=120)
    # and then it goes through
    smtp.refuse = False
    clock.advance(timedelta(seconds=120))
    ok = notify.send_pending(session_factory=session_factory, settings=_settings(settings.database_url, smtp.port))
    assert ok["sent"] == 1 and [r for r, _ in smtp.received] == [["owner.retry@example.test"]]
    session.expire_all()
    assert message.sent_at is not None and message.attempts == 3 and message.last_error is None
    assert message.in_flight_since is None and message.uncertain_sends == 0


def test_a_message_that_always_fails_ends_dead_and_is_sent_once_replayed(session, session_factory, settings, make,
                                                                          smtp):
    customer = make.customer(email="owner.dead@example.test")
    message = _message(session, customer, "test:smtp:dead")
    smtp.refuse = True
    config = _settings(settings.database_url, smtp.port).model_copy(
        update={"outbox_max_attempts": 3, "outbox_retry_seconds": 0})
    outcomes = [notify.send_pending(session_factory=session_factory, settings=config) for _ in range(4)]
    assert [o["failed"] for o in outcomes] == [1, 1, 0, 0] and outcomes[2]["dead"] == 1
    session.expire_all()
    assert message.dead_at is not None and message.attempts == 3 and "451" in message.last_error
    assert [m.id for m in outbox.dead_letters(session=session)] == [message.id]
    assert outbox.summary(session=session)["dead"] == 1
    smtp.refuse = False
    outbox.replay(session=session, message_id=message.id)
    session.commit()
    assert notify.send_pending(session_factory=session_factory, settings=config)["sent"] == 1
    assert [r for r, _ in smtp.received] == [["owner.dead@example.test"]]
    with pytest.raises(Invalid):
        outbox.replay(session=session, message_id=message.id)


def test_a_send_whose_outcome_was_never_recorded_is_sent_again_after_the_lease_and_counted(
        session, session_factory, settings, make, smtp):
    customer = make.customer(email="owner.inflight@example.test")
    with clock.frozen_at(datetime(2026, 5, 4, 9, 0, tzinfo=UTC)):
        message = _message(session, customer, "test:smtp:inflight")
        outbox.mark_in_flight(message)  # what a sender killed during the hand-over leaves behind
        session.commit()
        config = _settings(settings.database_url, smtp.port)
        assert sum(notify.send_pending(session_factory=session_factory, settings=config).values()) == 0
        clock.advance(timedelta(seconds=config.outbox_lease_seconds))
        assert notify.send_pending(session_factory=session_factory, settings=config)["sent"] == 1
    session.expire_all()
    assert (message.attempts, message.uncertain_sends) == (2, 1)
    assert outbox.summary(session=session)["uncertain_sends"] == 1


def test_an_erased_customer_is_never_written_to(session, session_factory, settings, make, smtp):
    kept, erased = make.customer(email="kept@example.test"), make.customer(email="gone@example.test")
    first = _message(session, erased, "test:smtp:erased")
    _message(session, kept, "test:smtp:kept")
    # erased after the message was written (erasure also removes their messages; this is the race)
    erased.erased_at, erased.email = now(), None
    session.commit()
    result = notify.send_pending(session_factory=session_factory, settings=_settings(settings.database_url, smtp.port))
    assert (result["sent"], result["skipped"]) == (1, 1)
    assert [r for r, _ in smtp.received] == [["kept@example.test"]]
    session.expire_all()
    assert first.sent_at is not None and first.last_error == notify.ERASED and first.attempts == 0
    unsent = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("test:smtp:%"),
                                                         OutboxMessage.sent_at.is_(None))).all()
    assert unsent == []


def test_inbox_marks_only_the_owners_own_messages_read(session, make):
    owner, stranger = make.customer(), make.customer()
    message = _message(session, owner, "test:inbox:1", channel="in_app")
    _message(session, owner, "test:inbox:1:mail")
    assert [m.id for m in notify.inbox(session=session, customer_id=owner.id)] == [message.id]
    assert notify.unread_count(session=session, customer_id=owner.id) == 1
    from forecourt.core.errors import NotFound

    with pytest.raises(NotFound):
        notify.mark_read(session=session, customer_id=stranger.id, message_id=message.id)
    notify.mark_read(session=session, customer_id=owner.id, message_id=message.id)
    assert notify.unread_count(session=session, customer_id=owner.id) == 0


def test_an_unreachable_mail_server_ends_the_round_without_spending_the_others_attempts(session, session_factory,
                                                                                      settings, make):
    first = _message(session, make.customer(email="first.down@example.test"), "test:smtp:down:1")
    second = _message(session, make.customer(email="second.down@example.test"), "test:smtp:down:2")
    down = notify.send_pending(session_factory=session_factory, settings=_settings(settings.database_url, free_port()))
    assert (down["failed"], down["sent"]) == (1, 0)
    session.expire_all()
    assert (first.attempts, second.attempts) == (1, 0) and second.last_error is None

"""The worker SIGKILLed in the middle of sending the outbox: after a restart every e-mail is sent, and
the duplicates at-least-once allows are bounded (one per kill: one e-mail is in flight at a time) and
counted (``uncertain_sends``, also in /metrics)."""

from __future__ import annotations

import signal

from sqlalchemy import func, select

from forecourt.core import outbox
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.core.outbox import OutboxMessage
from tests.factories import Factory
from tests.worker.scene import MailServer, start_worker, stop, wait_for

MESSAGES = 40


def test_killed_while_sending_nothing_is_lost_and_duplicates_are_bounded_and_counted(fresh_database_url, tmp_path):
    url = fresh_database_url("outboxkill")
    sessions = make_sessionmaker(get_engine(url))
    with transaction(sessions) as session:
        make = Factory(session=session, client=None)
        for i in range(MESSAGES):
            customer = make.customer(email=f"owner{i}@example.test")
            outbox.enqueue(session=session, customer_id=customer.id, channel="email", topic="test",
                           subject=f"Message {i:03d}", body="Hello.", basis="contract", dedupe_key=f"kill:{i}")
    log = tmp_path / "worker.log"

    def unsent() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))

    with MailServer(delay=0.15) as mail:
        worker = start_worker(url, log, smtp_port=mail.port, outbox_lease_seconds=2)
        try:
            wait_for(lambda: sum(mail.inbox.subjects.values()) >= MESSAGES // 3, 90, "a third of the e-mails", log)
            worker.send_signal(signal.SIGKILL)  # most likely while the server takes its time to say 250
            worker.wait(10)
            assert unsent() > 0, "the worker finished before it was killed: nothing was tested"
            worker = start_worker(url, log, smtp_port=mail.port, outbox_lease_seconds=2)
            wait_for(lambda: unsent() == 0, 120, "every e-mail after the restart", log)
        finally:
            stop(worker)
        received = mail.inbox.subjects
    assert set(received) == {f"Message {i:03d}" for i in range(MESSAGES)}  # nothing lost
    duplicates = sum(count - 1 for count in received.values())
    with sessions() as session:
        counted = outbox.summary(session=session)["uncertain_sends"]
        in_flight = session.scalar(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.in_flight_since.is_not(None)))
    assert duplicates <= counted <= 1, (duplicates, counted)
    assert in_flight == 0

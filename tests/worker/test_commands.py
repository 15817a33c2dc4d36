"""The background commands as an operator runs them: a fresh interpreter, so nothing a test imported
earlier hides a table the command forgot to load (``forecourt oncall remind`` used to fail so)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from forecourt.assist.models import Subscription
from forecourt.core.clock import today
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.core.outbox import OutboxMessage
from tests.factories import Factory


def _run(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forecourt.cli", *args], capture_output=True, text=True,
                          timeout=300, env=os.environ | {"FORECOURT_DATABASE_URL": url, "COLUMNS": "200"})


def test_oncall_remind_queues_a_reminder_on_its_first_run(fresh_database_url):
    url = fresh_database_url("remind")
    sessions = make_sessionmaker(get_engine(url))
    with transaction(sessions) as session:
        make = Factory(session=session, client=None)
        owner = make.customer()
        subscription = make.on_call(make.vehicle(owner=owner))
        subscription.ends_on = today() + timedelta(days=30)
        session.flush()
        subscription_id = subscription.id
    first = _run(url, "oncall", "remind")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Queued 1 On Call renewal reminder" in first.stdout
    again = _run(url, "oncall", "remind")
    assert again.returncode == 0 and "Queued 0" in again.stdout  # once per subscription
    with sessions() as session:
        assert session.get(Subscription, subscription_id).reminded_at is not None
        assert session.scalars(select(OutboxMessage.topic)).all() == ["on_call_renewal"]


def test_retention_and_outbox_send_run_on_a_fresh_database(fresh_database_url):
    url = fresh_database_url("commands")
    retention = _run(url, "retention")
    assert retention.returncode == 0 and "removed 0 positions" in retention.stdout, retention.stderr
    sent = _run(url, "outbox", "send")
    assert sent.returncode == 0 and "Sent 0" in sent.stdout, sent.stderr

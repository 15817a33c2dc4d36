from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from forecourt.core import clock, events
from forecourt.core.db import make_sessionmaker, get_engine, transaction
from forecourt.parties.models import Organization


@dataclass
class Happened:
    organization_id: int


@pytest.fixture
def received():
    seen: list = []
    events.bus.subscribe(Happened, seen.append)
    yield seen
    events.bus.handlers[Happened].remove(seen.append)


def test_events_wait_for_commit(session, received):
    organization = Organization(kind="dealer", code="EVT-1", name="Events", opening_hours={})
    session.add(organization)
    session.flush()
    events.publish(session, Happened(organization.id))
    assert received == []
    session.commit()
    assert received == [Happened(organization.id)]


def test_events_wait_for_the_outer_commit_not_a_savepoint(session, received):
    """A page action runs in a savepoint; releasing it is no commit, and on SQLite the outer
    transaction still holds the write lock a handler's own session would wait for."""
    with session.begin_nested():
        events.publish(session, Happened(7))
    assert received == []
    session.commit()
    assert received == [Happened(7)]


def test_events_are_dropped_on_rollback(session, received):
    events.publish(session, Happened(1))
    session.rollback()
    session.commit()
    assert received == []


def test_a_failing_handler_does_not_break_the_commit(session, received):
    def broken(event):
        raise RuntimeError("handler bug")

    events.bus.subscribe(Happened, broken)
    try:
        events.publish(session, Happened(2))
        session.commit()
    finally:
        events.bus.handlers[Happened].remove(broken)
    assert received == [Happened(2)]


def test_timestamps_come_back_as_aware_utc(session):
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    with clock.frozen_at(moment):
        organization = Organization(kind="dealer", code="TZ-1", name="Time", opening_hours={})
        session.add(organization)
        session.flush()
    session.expire_all()
    stored = session.get(Organization, organization.id).created_at
    assert stored == moment and stored.tzinfo is not None


def test_frozen_clock_moves_only_when_told():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with clock.frozen_at(start):
        assert clock.now() == start
        clock.advance(timedelta(minutes=5))
        assert clock.now() == start + timedelta(minutes=5)
    assert clock.now() > start + timedelta(days=300)


def test_transaction_helper_rolls_back_on_error(settings):
    factory = make_sessionmaker(get_engine(settings.database_url))
    with pytest.raises(RuntimeError):
        with transaction(factory) as s:
            s.add(Organization(kind="dealer", code="ROLLBACK-1", name="Gone", opening_hours={}))
            s.flush()
            raise RuntimeError("boom")
    with transaction(factory) as s:
        assert s.query(Organization).filter_by(code="ROLLBACK-1").count() == 0

"""Durable domain events: written with their cause, delivered at least once, acted on once in effect,
retried with a doubling wait, dead after their attempts — visible to operators and replayable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core import clock, delivery, events
from forecourt.core.errors import Invalid
from forecourt.core.events import DEAD, DELIVERED, PENDING, DomainEvent
from forecourt.parties.models import Organization
from tests.factories import admin_login, browser_for

MORNING = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@events.durable("test.dealer_opened")
@dataclass(frozen=True)
class DealerOpened:
    code: str
    at: datetime


class Flaky:
    """Writes its effect (a dealer row) and then fails ``failures`` times before it lets it commit."""

    def __init__(self, failures: int):
        self.failures, self.calls = failures, 0

    def __call__(self, event: DealerOpened, *, session) -> None:
        self.calls += 1
        if session.scalar(select(Organization.id).where(Organization.code == event.code)) is None:
            session.add(Organization(kind="dealer", code=event.code, name="Opened", opening_hours={}))
            session.flush()
        if self.calls <= self.failures:
            raise RuntimeError(f"the handler failed (call {self.calls})")


def _registry(handler, *, max_attempts: int = 5) -> events.Handlers:
    registry = events.Handlers(policy=events.RetryPolicy(max_attempts=max_attempts, first_delay=10))
    registry.subscribe(DealerOpened, "test.open_dealer", handler)
    return registry


def _publish(session_factory, code: str) -> int:
    writer = session_factory()
    events.publish(writer, DealerOpened(code=code, at=MORNING))
    writer.commit()
    writer.close()
    return _row(session_factory, code).id


def _row(session_factory, code: str) -> DomainEvent:
    with session_factory() as session:
        return session.scalars(select(DomainEvent).where(DomainEvent.payload.contains(code))).one()


def _dealers(session, code: str) -> int:
    return session.scalar(select(func.count()).select_from(Organization).where(Organization.code == code))


def test_a_durable_event_is_a_row_of_its_transaction_and_a_rollback_leaves_none(session_factory, session):
    writer = session_factory()
    events.publish(writer, DealerOpened(code="EVT-ROLLED", at=MORNING))
    writer.rollback()
    writer.close()
    assert session.scalar(select(func.count()).select_from(DomainEvent)
                          .where(DomainEvent.payload.contains("EVT-ROLLED"))) == 0
    with clock.frozen_at(MORNING):
        event_id = _publish(session_factory, "EVT-KEPT")
    row = session.get(DomainEvent, event_id)
    assert (row.name, row.status, row.attempts) == ("test.dealer_opened", PENDING, 0)
    assert row.next_attempt_at == MORNING + events.GRACE  # the worker leaves it to its publisher a moment
    assert events.kind_named(row.name).decode(row.payload) == DealerOpened(code="EVT-KEPT", at=MORNING)


def test_a_handler_that_fails_twice_then_succeeds_is_delivered_once_in_effect(session_factory, session):
    handler = Flaky(failures=2)
    registry = _registry(handler)
    with clock.frozen_at(MORNING):
        event_id = _publish(session_factory, "EVT-FLAKY")
        assert delivery.deliver_due(session_factory, registry=registry) == {"delivered": 0, "failed": 0, "dead": 0,
                                                                            "gone": 0}  # still in its grace
        clock.advance(events.GRACE)
        assert delivery.deliver_due(session_factory, registry=registry)["failed"] == 1
        row = _row(session_factory, "EVT-FLAKY")
        assert (row.attempts, row.status, row.next_attempt_at) == (1, PENDING, now_plus(10))
        assert "call 1" in row.last_error and _dealers(session, "EVT-FLAKY") == 0  # the effect was rolled back
        clock.advance(timedelta(seconds=9))
        assert delivery.deliver_due(session_factory, registry=registry)["failed"] == 0  # not before its wait
        clock.advance(timedelta(seconds=1))
        assert delivery.deliver_due(session_factory, registry=registry)["failed"] == 1
        assert _row(session_factory, "EVT-FLAKY").next_attempt_at == now_plus(20)  # the wait doubled
        clock.advance(timedelta(seconds=20))
        assert delivery.deliver_due(session_factory, registry=registry)["delivered"] == 1
        assert delivery.deliver(session_factory, event_id, registry=registry) == "gone"  # never twice
    row = _row(session_factory, "EVT-FLAKY")
    assert (row.status, row.attempts, row.last_error) == (DELIVERED, 3, None)
    assert handler.calls == 3 and _dealers(session, "EVT-FLAKY") == 1


def now_plus(seconds: float) -> datetime:
    return clock.now() + timedelta(seconds=seconds)


def test_a_handler_that_always_fails_ends_dead_is_shown_to_operators_and_replays(session_factory, session, client,
                                                                                 make):
    registry = _registry(Flaky(failures=10**6), max_attempts=3)
    with clock.frozen_at(MORNING):
        event_id = _publish(session_factory, "EVT-DEAD")
        outcomes = []
        for _ in range(4):
            clock.advance(timedelta(hours=1))
            outcomes.append(delivery.deliver_due(session_factory, registry=registry))
    assert [o["failed"] for o in outcomes] == [1, 1, 0, 0] and outcomes[2]["dead"] == 1
    row = _row(session_factory, "EVT-DEAD")
    assert (row.status, row.attempts) == (DEAD, 3) and "RuntimeError" in row.last_error
    assert _dealers(session, "EVT-DEAD") == 0

    # operators see it: /metrics, the admin API and the admin page
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "text/plain" in metrics.headers["content-type"]
    assert "forecourt_events_dead 1.0" in metrics.text
    admin = admin_login(make)
    overview = client.get("/api/admin/background", headers=admin.headers).json()
    assert [e["id"] for e in overview["dead_events"]] == [event_id] and overview["events"]["dead"] == 1
    page = browser_for(make, admin).get("/admin/background")
    assert page.status_code == 200 and f'data-event="{event_id}"' in page.text and "test.dealer_opened" in page.text

    # once its cause is fixed, a replay delivers it
    replayed = client.post(f"/api/admin/events/{event_id}/replay", headers=admin.headers)
    assert replayed.status_code == 200 and replayed.json()["status"] == PENDING
    assert delivery.deliver_due(session_factory, registry=_registry(Flaky(failures=0)))["delivered"] == 1
    assert _row(session_factory, "EVT-DEAD").status == DELIVERED and _dealers(session, "EVT-DEAD") == 1
    assert "forecourt_events_dead 0.0" in client.get("/metrics").text
    with pytest.raises(Invalid):
        delivery.replay(session=session, event_id=event_id)


def test_the_fast_lane_delivers_at_commit_where_the_handlers_are_known(session_factory, session):
    handler = Flaky(failures=0)
    events.handlers.subscribe(DealerOpened, "test.open_dealer", handler)
    previous = (events.handlers.factory, events.handlers.fast_lane)
    events.handlers.configure(session_factory)
    try:
        _publish(session_factory, "EVT-FAST")
    finally:
        events.handlers.by_type.pop(DealerOpened)
        events.handlers.factory, events.handlers.fast_lane = previous
    row = _row(session_factory, "EVT-FAST")
    assert (row.status, row.attempts) == (DELIVERED, 1) and handler.calls == 1
    assert _dealers(session, "EVT-FAST") == 1

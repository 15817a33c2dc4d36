"""Access-control classes of the operations routes (see tests/api/test_access_control.py).

``/metrics`` is counts only, nothing about a person (PUBLIC, as Prometheus scrapes it); the
background work's dead letters and their replay are the carmaker administrators' (ADMIN).
"""

from __future__ import annotations

from forecourt.core.events import DEAD, DomainEvent
from forecourt.core.outbox import OutboxMessage
from tests.api.acl_rules import ADMIN, PUBLIC, Rule


def _dead_event(w) -> dict:
    row = DomainEvent(name="telematics.service_due", status=DEAD, attempts=8, last_error="RuntimeError: test",
                      payload='{"vehicle_id": 0, "level": "due", "reason": ""}')
    w.session.add(row)
    w.session.commit()
    return {"event_id": row.id}


def _dead_message(w) -> dict:
    from forecourt.core.clock import now

    row = OutboxMessage(customer_id=None, channel="email", topic="test", subject="Dead", body="Dead", basis="contract",
                        dedupe_key=f"acl:dead:{w.make.n()}", attempts=10, dead_at=now(), last_error="451 later")
    w.session.add(row)
    w.session.commit()
    return {"message_id": row.id}


ROUTES: dict = {
    ("GET", "/metrics"): Rule(PUBLIC),
    ("GET", "/api/admin/background"): Rule(ADMIN),
    ("POST", "/api/admin/events/{event_id}/replay"): Rule(ADMIN, params=_dead_event),
    ("POST", "/api/admin/outbox/{message_id}/replay"): Rule(ADMIN, params=_dead_message),
    ("GET", "/admin/background"): Rule(ADMIN),
    ("POST", "/admin/background/events/{event_id}/replay"): Rule(ADMIN, params=_dead_event, form=lambda w: {},
                                                                  ok=(303,)),
    ("POST", "/admin/background/messages/{message_id}/replay"): Rule(ADMIN, params=_dead_message,
                                                                      form=lambda w: {}, ok=(303,)),
}

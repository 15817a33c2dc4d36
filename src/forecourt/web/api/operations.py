"""For operators: ``/metrics`` for Prometheus, and the background work's dead letters to replay."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from forecourt import operations
from forecourt.core.schemas import Id
from forecourt.web import writes
from forecourt.web.deps import Admin, DbSession

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format: counts only, nothing about any person."""
    state = request.app.state
    if getattr(state, "metrics", None) is None:
        state.metrics = operations.registry(lambda: state.sessionmaker(), state.settings,
                                            writes.WriteStatsCollector(state.write_stats))
    return Response(generate_latest(state.metrics), media_type=CONTENT_TYPE_LATEST)


def _event(row) -> dict:
    return {"id": row.id, "name": row.name, "status": row.status, "attempts": row.attempts,
            "created_at": row.created_at, "last_error": row.last_error}


def _message(row) -> dict:
    return {"id": row.id, "topic": row.topic, "channel": row.channel, "attempts": row.attempts,
            "dead_at": row.dead_at, "last_error": row.last_error, "uncertain_sends": row.uncertain_sends}


@router.get("/api/admin/background")
def background(request: Request, admin: Admin, session: DbSession) -> dict:
    found = operations.overview(session=session, settings=request.app.state.settings)
    return {"processes": found["processes"], "events": found["events"], "outbox": found["outbox"],
            "dead_events": [_event(e) for e in found["dead_events"]],
            "dead_messages": [_message(m) for m in found["dead_messages"]]}


@router.post("/api/admin/events/{event_id}/replay")
def replay_event(event_id: Id, admin: Admin, session: DbSession) -> dict:
    return _event(operations.replay(session=session, principal=admin, what="event", ident=event_id))


@router.post("/api/admin/outbox/{message_id}/replay")
def replay_message(message_id: Id, admin: Admin, session: DbSession) -> dict:
    return _message(operations.replay(session=session, principal=admin, what="message", ident=message_id))

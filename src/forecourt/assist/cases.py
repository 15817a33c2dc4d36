"""The case lifecycle: the agent's queue, the states a case moves through, its timeline and SLA timers.

States only move forward (open → acknowledged → dispatched → resolved → closed): a resolved case is
not re-opened by a late click, and an SOS nobody has acknowledged cannot be quietly resolved. Every
step is a ``CaseEvent``, so the timeline and the timers are read from facts. The console's live
stream asks ``changes_since`` for the events after the last one it showed: one indexed range query.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.assist.events import CaseClosed
from forecourt.assist.intake import OPEN_STATUSES
from forecourt.assist.models import Case, CaseEvent
from forecourt.consent.service import Reference
from forecourt.core import events
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _, Labels, N_
from forecourt.parties import service as parties_service

STATES = ("open", "acknowledged", "dispatched", "resolved", "closed")
RESOLUTIONS = Labels({
    "help_arrived": N_("Help arrived"),
    "driver_ok": N_("The driver is fine"),
    "false_alarm": N_("False alarm"),
    "test_call": N_("Test call"),
    "towed": N_("Car towed"),
    "handed_to_emergency_services": N_("Handed to the emergency services"),
    "no_contact": N_("No contact with the driver"),
})
# What an agent must reach within: taking the case, and sending help.
ACKNOWLEDGE_TARGET = timedelta(seconds=60)
DISPATCH_TARGET = timedelta(minutes=5)


def get(*, session: Session, case_id: int) -> Case:
    found = session.get(Case, case_id)
    if found is None:
        raise NotFound("Case not found")
    return found


def get_by_number(*, session: Session, number: str) -> Case:
    found = session.scalars(select(Case).where(Case.number == (number or "").strip().upper())).first()
    if found is None:
        raise NotFound("Case not found")
    return found


def queue(*, session: Session, limit: int = 200) -> list[Case]:
    """Cases still needing people: open first, then acknowledged, then dispatched; within each by
    priority (crash before SOS before breakdown), then the oldest first."""
    stage = sql_case({"open": 0, "acknowledged": 1, "dispatched": 2}, value=Case.status, else_=3)
    return list(session.scalars(select(Case).where(Case.status.in_(OPEN_STATUSES))
                                .order_by(stage, Case.priority, Case.opened_at, Case.id).limit(limit)))


EMERGENCY = "emergency_assistance"


def reference_for(*, session: Session, principal: Principal, case: Case) -> Reference | None:
    """The case as the reason to read its driver under emergency assistance (vital interest): only
    while it is not closed, only the person whose car raised it, and only for the carmaker's own
    call centre. Cases are opened by the cars' alerts, never by the reader."""
    if case.customer_id is None or case.status == "closed" or principal.organization_id is None:
        return None
    try:
        carmaker = parties_service.carmaker(session=session)
    except NotFound:
        return None
    if principal.organization_id != carmaker.id:
        return None
    return Reference(purpose=EMERGENCY, customer_id=case.customer_id, organization_id=carmaker.id,
                     label=case.number)


def recent_closed(*, session: Session, limit: int = 20) -> list[Case]:
    """The latest resolved or closed cases, for the console's history."""
    return list(session.scalars(select(Case).where(Case.status.in_(("resolved", "closed")))
                                .order_by(Case.resolved_at.desc(), Case.id.desc()).limit(limit)))


def record(*, session: Session, case: Case, kind: str, text: str, user_id: int | None = None,
           details: dict | None = None) -> CaseEvent:
    """Append one line to the timeline (dispatch and calls use it too)."""
    entry = CaseEvent(case_id=case.id, kind=kind, at=now(), user_id=user_id, text=text, details=details or {})
    session.add(entry)
    session.flush()
    return entry


def _refuse_unless(case: Case, allowed: tuple[str, ...], action: str) -> None:
    if case.status in allowed:
        return
    if STATES.index(case.status) > max(STATES.index(s) for s in allowed):
        raise Conflict(_("Case %(number)s is already %(status)s; it cannot be %(action)s any more: a case only moves forward.", number=case.number, status=case.status, action=action), field="status")
    raise Conflict(_("Case %(number)s is %(status)s; it must be %(values)s before it can be %(action)s.", number=case.number, status=case.status, values=' or '.join(allowed), action=action), field="status")


def acknowledge(*, session: Session, principal: Principal, case_id: int) -> Case:
    """An agent takes the case: the acknowledge timer stops and the case is theirs."""
    case = get(session=session, case_id=case_id)
    _refuse_unless(case, ("open",), "acknowledged")
    case.status, case.acknowledged_at, case.agent_user_id = "acknowledged", now(), principal.user_id
    record(session=session, case=case, kind="acknowledged", text="Case acknowledged", user_id=principal.user_id)
    return case


def add_note(*, session: Session, principal: Principal, case_id: int, text: str) -> CaseEvent:
    case = get(session=session, case_id=case_id)
    text = (text or "").strip()
    if not text:
        raise Invalid(_("Write something in the note."), field="text")
    if len(text) > 4000:
        raise Invalid(_("A note holds at most 4000 characters."), field="text")
    if case.status == "closed":
        raise Conflict(_("Case %(number)s is closed; notes can no longer be added.", number=case.number), field="status")
    return record(session=session, case=case, kind="note", text=text, user_id=principal.user_id)


def mark_dispatched(*, session: Session, principal: Principal | None, case: Case, text: str,
                    details: dict | None = None) -> Case:
    """Help is on its way (called by dispatch). A second dispatch adds to the timeline only."""
    _refuse_unless(case, ("open", "acknowledged", "dispatched"), "dispatched")
    if case.status != "dispatched":
        if case.acknowledged_at is None:  # sending help takes the case as well
            case.acknowledged_at = now()
            case.agent_user_id = case.agent_user_id or (principal.user_id if principal else None)
        case.status, case.dispatched_at = "dispatched", now()
    record(session=session, case=case, kind="dispatched", text=text,
           user_id=principal.user_id if principal else None, details=details)
    return case


def resolve(*, session: Session, principal: Principal, case_id: int, resolution: str, note: str = "") -> Case:
    case = get(session=session, case_id=case_id)
    if resolution not in RESOLUTIONS:
        raise Invalid(_("Unknown resolution '%(resolution)s'; choose one of %(values)s.", resolution=resolution, values=', '.join(RESOLUTIONS)),
                      field="resolution")
    _refuse_unless(case, ("acknowledged", "dispatched"), "resolved")
    case.status, case.resolution, case.resolved_at = "resolved", resolution, now()
    text = RESOLUTIONS[resolution] + (f": {note.strip()}" if note and note.strip() else "")
    record(session=session, case=case, kind="resolved", text=text, user_id=principal.user_id,
           details={"resolution": resolution})
    return case


def close(*, session: Session, principal: Principal, case_id: int) -> Case:
    case = get(session=session, case_id=case_id)
    _refuse_unless(case, ("resolved",), "closed")
    case.status, case.closed_at = "closed", now()
    record(session=session, case=case, kind="closed", text="Case closed", user_id=principal.user_id)
    if not case.test_call:
        events.publish(session, CaseClosed(case_id=case.id, vehicle_id=case.vehicle_id, customer_id=case.customer_id))
    return case


def _timer(start: datetime, stop: datetime | None, target: timedelta, at: datetime) -> dict:
    end = as_utc(stop) or at
    seconds = max(0, int((end - as_utc(start)).total_seconds()))
    return {"seconds": seconds, "target_seconds": int(target.total_seconds()), "running": stop is None,
            "overdue": seconds > target.total_seconds()}


def sla(case: Case, *, at: datetime | None = None) -> dict:
    """Time to acknowledge and time to dispatch, each with its target and an overdue flag.

    A timer runs until its step happens; a case resolved without dispatch stops the dispatch timer."""
    at = at or now()
    dispatch_stop = case.dispatched_at or case.resolved_at or case.closed_at
    return {"acknowledge": _timer(case.opened_at, case.acknowledged_at, ACKNOWLEDGE_TARGET, at),
            "dispatch": _timer(case.opened_at, dispatch_stop, DISPATCH_TARGET, at)}


def timeline(*, session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .order_by(CaseEvent.at, CaseEvent.id)))


def changes_since(*, session: Session, after_event_id: int = 0, limit: int = 500) -> tuple[list[CaseEvent], int]:
    """Timeline events newer than ``after_event_id`` (oldest first) and the id to ask after next time."""
    rows = list(session.scalars(select(CaseEvent).where(CaseEvent.id > after_event_id)
                                .order_by(CaseEvent.id).limit(limit)))
    return rows, (rows[-1].id if rows else after_event_id)


def last_event_id(*, session: Session) -> int:
    """Where a freshly opened console starts its stream."""
    from sqlalchemy import func

    return session.scalar(select(func.max(CaseEvent.id))) or 0


AGE_BANDS = ((timedelta(minutes=5), "under_5m"), (timedelta(hours=1), "5m_to_1h"), (timedelta(days=1), "1h_to_1d"))


def open_by_age(*, session: Session) -> dict[tuple[str, str], int]:
    """Open cases counted by status and age band (for operators' dashboards): nothing about who."""
    moment = now()
    counts: dict[tuple[str, str], int] = {}
    for status, opened_at in session.execute(select(Case.status, Case.opened_at)
                                             .where(Case.status.in_(OPEN_STATUSES))):
        age = moment - as_utc(opened_at)
        band = next((name for limit, name in AGE_BANDS if age < limit), "over_1d")
        counts[(status, band)] = counts.get((status, band), 0) + 1
    return counts

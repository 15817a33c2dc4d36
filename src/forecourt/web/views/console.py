"""Pages: the On Call console for the carmaker's call-centre agents, and the owner's emergency contacts.

The queue updates without a reload: ``/console/stream`` (server-sent events) follows the case
timeline in the database — the MQTT ingest worker that opens cases is another process, so the
database is the only place both see — through the web process's one watcher (``web.live``:
PostgreSQL LISTEN/NOTIFY, or one poller on SQLite), and sends a tiny "changed" event; the page
then fetches the queue fragment. Everything works without JavaScript (reload the page; the map is an extra).

The case page reads the customer and their emergency contacts through the consent door under
emergency assistance (vital interest) with the case number as reference: allowed without
consent, and written to the customer's access log on every look. Other roles get 404.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from forecourt.assist import cases as cases_service
from forecourt.assist import contacts as contacts_service
from forecourt.assist import dispatch as dispatch_service
from forecourt.assist import providers as providers_service
from forecourt.assist import sos, subscriptions
from forecourt.core import dates, i18n, places
from forecourt.core.auth import Principal
from forecourt.core.clock import now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _, Labels, N_, ngettext
from forecourt.core.schemas import Id, LARGEST_ID
from forecourt.parties import markets
from forecourt.vehicles import service as vehicles_service
from forecourt.web import live, viewer
from forecourt.web.live import CaseWatch
from forecourt.web.deps import AgentPage, DbSession, MePage
from forecourt.web.views.forms import Form, attempt, whole_number, text
from forecourt.web.views.forms import back_to as _back
from forecourt.web.views.render import redirect, render

if TYPE_CHECKING:
    from forecourt.assist.models import Case

router = APIRouter(tags=["pages"])

KIND_LABEL = Labels({"crash": N_("Crash"), "sos": N_("SOS"), "breakdown": N_("Breakdown")})
PRIORITY_CLASS = {1: "p-crash", 2: "p-sos", 3: "p-breakdown"}
STATUS_LABEL = Labels({"open": N_("Open"), "acknowledged": N_("Acknowledged"), "dispatched": N_("Help on the way"),
                "resolved": N_("Resolved"), "closed": N_("Closed")})
POLL_SECONDS = 0.05
HEARTBEAT_SECONDS = 15.0
STREAM_LIFETIME_SECONDS = 300.0  # then EventSource reconnects (with Last-Event-ID): no stream lives for ever


def _case(session: Session, number: str) -> Case:
    try:
        return cases_service.get_by_number(session=session, number=number)
    except NotFound:
        raise HTTPException(status_code=404, detail="Not found") from None


# --- the queue --------------------------------------------------------------------------------------

def queue_rows(session: Session) -> list[dict]:
    """Cases still needing people, in ``cases.queue`` order, with their running SLA timers."""
    moment = now()
    cases = cases_service.queue(session=session)
    answers = providers_service.latest_answers(session=session, case_ids=[c.id for c in cases])
    return [dict(number=c.number, kind=c.kind, kind_label=KIND_LABEL.get(c.kind, c.kind),
                 priority_class=PRIORITY_CLASS.get(c.priority, "p-other"), status=c.status,
                 status_label=STATUS_LABEL.get(c.status, c.status), opened_at=c.opened_at,
                 test_call=c.test_call, sla=cases_service.sla(c, at=moment), answer=answers.get(c.id))
            for c in cases]


def closed_rows(session: Session, limit: int = 10) -> list[dict]:
    """The latest cases handled, so a quiet queue still shows what the desk did and how it ended."""
    return [dict(number=c.number, kind_label=KIND_LABEL.get(c.kind, c.kind),
                 priority_class=PRIORITY_CLASS.get(c.priority, "p-other"), opened_at=c.opened_at,
                 resolved_at=c.resolved_at or c.closed_at, test_call=c.test_call,
                 resolution=cases_service.RESOLUTIONS.get(c.resolution, c.resolution or ""))
            for c in cases_service.recent_closed(session=session, limit=limit)]


@router.get("/console")
def console(request: Request, principal: AgentPage, session: DbSession):
    places.warm_up()  # the case pages name the nearest town
    return render(request, "console/index.html", rows=queue_rows(session), closed=closed_rows(session),
                  after=cases_service.last_event_id(session=session))


@router.get("/console/queue")
def console_queue(request: Request, principal: AgentPage, session: DbSession):
    """The queue alone (an HTML fragment): what the page fetches when the stream says something changed."""
    return render(request, "console/_queue.html", rows=queue_rows(session))


async def case_changes(sessions, *, after: int, lifetime: float = STREAM_LIFETIME_SECONDS,
                       poll: float = POLL_SECONDS, heartbeat: float = HEARTBEAT_SECONDS, disconnected=None,
                       watch: CaseWatch | None = None):
    """Server-sent events: ``event: cases`` with the newest timeline id whenever it moves past ``after``.

    Each event is a few bytes (the page fetches the queue itself); a comment every ``heartbeat``
    seconds keeps proxies from closing an idle stream. Ends when the client goes or after ``lifetime``.
    With ``watch`` (what the page's stream uses) the newest id is the process's one watcher's, so an
    open console costs the database nothing (``web.live``); without, it is read from ``sessions``.
    """
    def read() -> int:
        with sessions() as session:
            return cases_service.last_event_id(session=session)

    async def newest() -> int:
        if watch is not None:
            return watch.current or 0
        return await anyio.to_thread.run_sync(read)

    last = after
    started = time.monotonic()
    ends = started + lifetime
    beat = started + heartbeat
    yield "retry: 1000\n\n"
    while time.monotonic() < ends:
        if disconnected is not None and await disconnected():
            return
        current = await newest()
        if current > last:
            last = current
            yield f"event: cases\nid: {current}\ndata: {current}\n\n"
        if time.monotonic() >= beat:
            beat = time.monotonic() + heartbeat
            yield ": heartbeat\n\n"
        if watch is None:
            await anyio.sleep(poll)
        else:  # asleep until the watcher hears of a newer case, the heartbeat or the end
            await watch.beacon.until(lambda: (watch.current or 0) > last, min(beat, ends) - time.monotonic())


@router.get("/console/stream", response_class=StreamingResponse,
            responses={200: {"description": "Server-sent events: `cases` whenever a case changes, and heartbeats",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
def console_stream(request: Request, principal: AgentPage,
                   after: int | None = Query(default=None, ge=0, le=LARGEST_ID),
                   seconds: float = Query(default=STREAM_LIFETIME_SECONDS, gt=0, le=STREAM_LIFETIME_SECONDS)):
    last_seen = request.headers.get("last-event-id", "")
    start = whole_number(last_seen)
    start = after if start is None else start
    sessions = request.app.state.sessionmaker
    watch = live.case_watch(request.app)
    if start is None:
        start = watch.current or 0
    return StreamingResponse(case_changes(sessions, after=start, lifetime=seconds,
                                          disconnected=request.is_disconnected, watch=watch),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# --- one case ---------------------------------------------------------------------------------------

def _subscription(session: Session, vehicle_id: Id) -> dict:
    """Active or expired: SOS and crash reach the call centre either way, so this only informs the agent."""
    status = subscriptions.status_of(session=session, vehicle_id=vehicle_id, today=now().date())
    if status["state"] == "none":
        return {"state": "none", "label": _("No On Call subscription"), "ends_on": None, "plan": None}
    active = status["state"] != "expired"
    return {"state": "active" if active else "expired", "plan": status["plan"], "ends_on": status["ends_on"],
            "label": (_("Active until %(day)s", day=dates.format_date(status['ends_on'])) if active
                      else _("Expired on %(day)s", day=dates.format_date(status['ends_on'])))}


def _customer_card(session: Session, principal: Principal, case: Case) -> dict | None:
    """The owner and their emergency contacts, through the consent door (``contacts.customer_card``)."""
    card = contacts_service.customer_card(session=session, principal=principal, case=case,
                                          what="On Call case: customer and emergency contacts")
    if card is None:
        return None
    customer, people = card
    return {"name": f"{customer.first_name} {customer.last_name}".strip(), "phone": customer.phone,
            "email": customer.email, "language": customer.language, "contacts": people}


def _providers(session: Session, case: Case) -> dict:
    """Dealers open now, towing partners and emergency services, nearest first (``dispatch.providers_for``)."""
    return dispatch_service.providers_for(session=session, case_id=case.id, now=now())


# Where an alert came from, as an agent says it (the case keeps the code).
SOURCE_LABEL = Labels({"embedded": N_("the car's built-in unit"), "phone": N_("the driver's phone app (paired)"),
                       "tracker": N_("an aftermarket tracker"), "ecall": N_("the car's eCall"),
                       "driver_app": N_("the driver's SOS button in the app")})

# Whom a case calls for first: the help "Dispatch nearest" sends, in order of preference.
FIRST_HELP = {"crash": ("emergency", "towing"), "sos": ("emergency", "towing"), "breakdown": ("towing", "dealers")}


def nearest_help(case: Case, providers: dict) -> dict | None:
    """The one obvious dispatch: the nearest provider of the kind the case calls for first."""
    for key in FIRST_HELP.get(case.kind, ("towing", "emergency")):
        if providers.get(key):
            return providers[key][0]
    return None


def _map_data(case: Case, providers: dict) -> dict:
    """What the map draws (read by console.js from a data attribute: the CSP forbids inline scripts)."""
    return {"incident": ({"lat": case.latitude, "lon": case.longitude}
                         if case.latitude is not None and case.longitude is not None else None),
            "track": [[p.get("lat"), p.get("lon")] for p in (case.track or [])
                      if p.get("lat") is not None and p.get("lon") is not None],
            "incident_label": _("The incident"),
            "providers": [{"lat": o["latitude"], "lon": o["longitude"], "name": o["name"], "kind": o["kind"],
                           "kind_label": sos.HELP.get(o["kind"], o["kind"]), "eta": o["eta"]}
                          for o in dispatch_service.flat(providers)
                          if o["latitude"] is not None and o["longitude"] is not None]}


@router.get("/console/cases/{number}")
def case_page(request: Request, number: str, principal: AgentPage, session: DbSession, error: str | None = None):
    case = _case(session, number)
    vehicle = vehicles_service.get(session=session, vehicle_id=case.vehicle_id)
    providers = _providers(session, case)
    timeline = cases_service.timeline(session=session, case=case)
    return render(request, "console/case.html", case=case, vehicle=vehicle, error=error,
                  customer=_customer_card(session, principal, case), subscription=_subscription(session, vehicle.id),
                  providers=providers, dispatches=dispatch_service.sent_for(session=session, case_id=case.id), timeline=timeline,
                  map_data=_map_data(case, providers), sla=cases_service.sla(case),
                  nearest=nearest_help(case, providers),
                  # the towns load in the background: a page never waits more than a second for them
                  place=places.describe(case.latitude, case.longitude, language=i18n.current_locale(),
                                        geocoder_url=request.app.state.settings.geocoder_url)
                  if places.ready(1.0) else "",
                  resolutions=list(cases_service.RESOLUTIONS.items()),
                  kind_label=KIND_LABEL, status_label=STATUS_LABEL, priority_class=PRIORITY_CLASS, moment=now(),
                  source_label=SOURCE_LABEL.get(case.source, case.source))


def _act(session: Session, number: str, action, done: str) -> Response:
    return attempt(session, f"/console/cases/{quote_plus(number)}", action, done)


@router.post("/console/cases/{number}/acknowledge")
def acknowledge(number: str, principal: AgentPage, session: DbSession):
    case = _case(session, number)
    return _act(session, number, lambda: cases_service.acknowledge(
        session=session, principal=principal, case_id=case.id), _("Acknowledged: the case is yours."))


@router.post("/console/cases/{number}/dispatch")
def dispatch(request: Request, number: str, principal: AgentPage, session: DbSession, form: Form):
    case = _case(session, number)
    try:
        provider_id = int(text(form, "provider_id") or "")
    except ValueError:
        return _back(f"/console/cases/{quote_plus(number)}", error=_("Choose a provider to send."))
    kind = text(form, "kind") or "tow"
    return _act(session, number, lambda: dispatch_service.dispatch(
        session=session, principal=principal, case_id=case.id, provider_id=provider_id, kind=kind,
        portal_url=request.app.state.settings.portal_url), _("Dispatched: the provider has been notified."))


@router.post("/console/cases/{number}/notes")
def add_note(number: str, principal: AgentPage, session: DbSession, form: Form):
    case = _case(session, number)
    note = text(form, "text") or ""
    return _act(session, number, lambda: cases_service.add_note(
        session=session, principal=principal, case_id=case.id, text=note), _("Note added to the timeline."))


@router.post("/console/cases/{number}/resolve")
def resolve(number: str, principal: AgentPage, session: DbSession, form: Form):
    case = _case(session, number)
    resolution = text(form, "resolution") or ""
    return _act(session, number, lambda: cases_service.resolve(
        session=session, principal=principal, case_id=case.id, resolution=resolution), _("Resolved."))


@router.post("/console/cases/{number}/close")
def close(number: str, principal: AgentPage, session: DbSession):
    case = _case(session, number)
    return _act(session, number, lambda: cases_service.close(
        session=session, principal=principal, case_id=case.id), _("Closed."))


# --- the owner's emergency contacts -----------------------------------------------------------------

def _contact_rows(form) -> list[dict]:
    names, phones, relations = (form.getlist(k) for k in ("contact_name", "contact_phone", "contact_relation"))
    return [{"name": names[i] if i < len(names) else "", "phone": phones[i] if i < len(phones) else "",
             "relation": relations[i] if i < len(relations) else ""}
            for i in range(max(len(names), len(phones), len(relations)))]


def _contacts_page(request, session, principal, *, rows=None, error=None, status_code=200):
    saved = contacts_service.list_for(session=session, customer_id=principal.customer_id)
    rows = rows if rows is not None else [{"name": c.name, "phone": c.phone, "relation": c.relation} for c in saved]
    rows = (rows + [{"name": "", "phone": "", "relation": ""}] * contacts_service.MAX_CONTACTS)[
        :max(contacts_service.MAX_CONTACTS, len(rows))]
    return render(request, "console/contacts.html", rows=rows, error=error, status_code=status_code,
                  max_contacts=contacts_service.MAX_CONTACTS)


@router.get("/me/on-call/contacts")
def my_contacts(request: Request, principal: MePage, session: DbSession):
    return _contacts_page(request, session, principal)


@router.post("/me/on-call/contacts")
def save_my_contacts(request: Request, principal: MePage, session: DbSession, form: Form):
    rows = _contact_rows(form)
    try:
        with session.begin_nested():
            saved = contacts_service.replace(session=session, customer_id=principal.customer_id, contacts=rows,
                                             region=markets.region_of(viewer.market_of(request)))
    except Invalid as problem:
        return _contacts_page(request, session, principal, rows=rows, error=problem.message, status_code=400)
    message = (ngettext("Saved %(num)s emergency contact.", "Saved %(num)s emergency contacts.", len(saved)) if saved
               else _("No emergency contacts saved."))
    return redirect(f"/me/on-call/contacts?flash={quote_plus(message)}")

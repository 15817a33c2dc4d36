"""Dispatch notices: how a tow truck or an emergency service hears it has been sent.

A provider with a webhook endpoint gets a JSON notice posted to its URL, signed as Standard Webhooks
describe (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`` with the provider's own secret), so it can check the notice is ours, unaltered
and fresh (a five-minute window against replays). A provider without one gets an e-mail.

The notice is an outbox row written in the dispatch's own transaction and sent the moment that
transaction commits (``outbox.send_now``), so a crash in between loses nothing: the sender picks
the row up again. A webhook that fails is retried by the sender; after
``FORECOURT_DISPATCH_WEBHOOK_ATTEMPTS`` failures the notice goes by e-mail instead, and the case
timeline says so. The receiving dealer of a tow always hears by e-mail.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from forecourt.assist.models import Case, CaseEvent, Dispatch
from forecourt.assist.providers import endpoint_of
from forecourt.core import outbox
from forecourt.core.clock import now
from forecourt.core.config import Settings
from forecourt.core.i18n import _, lazy_gettext
from forecourt.core.outbox import OutboxMessage
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service

if TYPE_CHECKING:
    from forecourt.parties.models import Organization
    from forecourt.vehicles.models import Vehicle

BASIS = "vital_interest"  # help is on its way: no consent needed, and none to withdraw
LABEL = {"tow": lazy_gettext("tow truck"), "emergency": lazy_gettext("emergency service"),
         "dealer": lazy_gettext("dealer's mobile service")}


def in_words(minutes: int) -> str:
    if minutes <= 0:
        return _("any minute now")
    if minutes < 60:
        return _("about %(minutes)s min", minutes=minutes)
    hours, rest = divmod(minutes, 60)
    return _("about %(hours)s h %(minutes)s min", hours=hours, minutes=rest) if rest else \
        _("about %(hours)s h", hours=hours)


# --- what the notice says ------------------------------------------------------------------------

def car_text(vehicle: Vehicle | None) -> str:
    if vehicle is None:
        return _("unknown car")
    trim = vehicle.trim
    return (f"{vehicle.model_year} {trim.model.name} {trim.name}, {vehicle.colour or _('colour unknown')}, "
            f"{trim.propulsion.replace('_', ' ')}, VIN {vehicle.vin}")


def _email_body(case: Case, row: Dispatch, car: str, label: str, eta: str, destination: Organization | None,
                answer_url: str) -> str:
    lat, lon = case.latitude, case.longitude
    where = f"{lat:.5f}, {lon:.5f} (https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=16/{lat}/{lon})"
    passengers = case.passengers if case.passengers is not None else _("unknown")
    body = (_("Forecourt On Call case %(number)s (%(kind)s) needs a %(label)s.", number=case.number, kind=case.kind,
              label=label) + "\n\n"
            + _("Position: %(where)s", where=where) + "\n" + _("Car: %(car)s", car=car) + "\n"
            + _("Passengers: %(passengers)s", passengers=passengers) + "\n"
            + _("Distance by road: about %(km)s km; expected there in %(eta)s.", km=f"{row.distance_km:g}", eta=eta))
    if destination is not None:
        body += "\n\n" + _("Take the car to %(place)s.", place=f"{destination.name}, {destination.street or ''} "
                                                               f"{destination.city or ''}".rstrip())
    body += "\n\n" + _("Accept or decline through the API: POST %(url)s (dispatch %(id)s).",
                         url=answer_url, id=row.id)
    return body


def payload(case: Case, row: Dispatch, car: str, destination: Organization | None, answer_url: str) -> dict:
    """The webhook's body: what a provider's dispatch system needs, and nothing about the owner."""
    return {"type": "dispatch.requested", "dispatch_id": row.id, "case": case.number, "case_kind": case.kind,
            "kind": row.kind, "position": {"latitude": case.latitude, "longitude": case.longitude},
            "car": car, "passengers": case.passengers, "distance_km": row.distance_km,
            "eta_minutes": row.eta_minutes, "dispatched_at": row.dispatched_at.isoformat(),
            "destination": ({"name": destination.name, "street": destination.street, "city": destination.city}
                            if destination is not None else None),
            "answer_url": answer_url}


def answer_path(dispatch_id: int) -> str:
    return f"/api/dispatches/{dispatch_id}/answer"


def write(*, session: Session, case: Case, row: Dispatch, provider: Organization, label: str, eta: str,
          destination: Organization | None, portal_url: str) -> OutboxMessage:
    """The provider's notice, as a webhook when it has an endpoint and as an e-mail otherwise; it leaves
    as soon as the dispatch commits."""
    car = car_text(vehicles_service.vehicle_or_none(session=session, vehicle_id=case.vehicle_id))
    answer_url = f"{portal_url.rstrip('/')}{answer_path(row.id)}"
    subject = _("On Call %(number)s: %(label)s needed", number=case.number, label=label)
    if endpoint_of(session=session, organization_id=provider.id) is not None:
        message = outbox.enqueue(session=session, customer_id=None, organization_id=provider.id, channel="webhook",
                                 topic="dispatch", subject=subject,
                                 body=json.dumps(payload(case, row, car, destination, answer_url)),
                                 basis=BASIS, dedupe_key=f"dispatch:{row.id}:webhook")
    else:
        message = outbox.enqueue(session=session, customer_id=None, organization_id=provider.id, channel="email",
                                 topic="dispatch", subject=subject,
                                 body=_email_body(case, row, car, label, eta, destination, answer_url),
                                 basis=BASIS, dedupe_key=f"dispatch:{row.id}:provider")
    outbox.send_now(session, message)
    return message


# --- sending the webhook -------------------------------------------------------------------------

def signed_headers(*, secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    return {"content-type": "application/json", "webhook-id": message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, at, body)}


def deliver(*, session: Session, message: OutboxMessage, settings: Settings) -> str:
    """Posts one webhook notice: "sent" on a 2xx answer, "failed" (to retry) otherwise, and after the
    last attempt "failed" with the notice handed to e-mail instead."""
    endpoint = endpoint_of(session=session, organization_id=message.organization_id)
    data = json.loads(message.body)
    row = session.get(Dispatch, data["dispatch_id"])
    if endpoint is None:  # removed since: e-mail at once
        return _fall_back(session, message, row, "the provider no longer has a webhook", settings)
    message.attempts += 1
    try:
        response = httpx.post(endpoint.url, content=message.body.encode(), timeout=settings.webhook_timeout_seconds,
                              headers=signed_headers(secret=endpoint.secret, message_id=f"msg_{message.id}",
                                                     body=message.body, at=now()))
        problem = None if response.is_success else f"HTTP {response.status_code}"
    except httpx.HTTPError as error:
        problem = f"{type(error).__name__}: {error}"
    if problem is None:
        message.sent_at, message.last_error = now(), None
        provider = parties_service.organization_or_none(session=session, organization_id=message.organization_id)
        session.add(CaseEvent(case_id=row.case_id, kind="notified", at=now(),
                              text=_("%(provider)s received the dispatch notice.", provider=provider.name),
                              details={"dispatch_id": row.id, "channel": "webhook", "outbox_id": message.id}))
        return "sent"
    message.last_error = problem[:2000]
    if message.attempts >= settings.dispatch_webhook_attempts:
        _fall_back(session, message, row, problem, settings)
    return "failed"


def _fall_back(session: Session, message: OutboxMessage, row: Dispatch, problem: str, settings: Settings) -> str:
    case = session.get(Case, row.case_id)
    provider = parties_service.organization_or_none(session=session, organization_id=message.organization_id)
    destination = (parties_service.organization_or_none(session=session, organization_id=row.destination_dealer_id)
                   if row.destination_dealer_id else None)
    car = car_text(vehicles_service.vehicle_or_none(session=session, vehicle_id=case.vehicle_id))
    answer_url = f"{settings.portal_url.rstrip('/')}{answer_path(row.id)}"
    with outbox.written_for(session, organization_id=provider.id):
        email = outbox.enqueue(
            session=session, customer_id=None, organization_id=provider.id, channel="email", topic="dispatch",
            subject=message.subject, basis=BASIS, dedupe_key=f"dispatch:{row.id}:provider",
            body=_email_body(case, row, car, str(LABEL[row.kind]), in_words(row.eta_minutes), destination,
                             answer_url))
    # Done with the webhook: the row leaves the sender's queue, saying where the notice went instead.
    message.sent_at = now()
    message.last_error = (f"Not delivered by webhook ({problem}) after {message.attempts} attempt(s); "
                          f"sent by e-mail instead (outbox message {email.id}).")[:2000]
    session.add(CaseEvent(case_id=row.case_id, kind="notice_failed", at=now(),
                          text=_("%(provider)s's webhook did not take the notice (%(problem)s); it goes by "
                                 "e-mail instead.", provider=provider.name, problem=problem[:200]),
                          details={"dispatch_id": row.id, "webhook_outbox_id": message.id, "email_outbox_id": email.id}))
    outbox.send_now(session, email)
    return "skipped"

"""The providers' side of a dispatch: where they take notices, and their answer (accept or decline).

A provider answers either as one of its own staff with an API token (the dispatch must be to their
organization, otherwise it does not exist for them), or from its dispatch system with a callback
signed like our notices: the same secret, ``webhook-id``, ``webhook-timestamp`` within five minutes,
``webhook-signature``. Answering twice the same way changes nothing (a replayed callback is
harmless); changing one's mind is refused, so the agent is never left with a flip-flopping tow.

A decline takes the dispatch off the receiving dealer's list and, when nobody else is on the way,
puts the case back among those needing help; the agent sees both on the timeline and in the queue.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from forecourt.assist.models import Case, CaseEvent, Dispatch, ProviderEndpoint
from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service

if TYPE_CHECKING:
    from forecourt.parties.models import Organization

ANSWERS = ("accepted", "declined")
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
FINISHED = ("resolved", "closed")


# --- endpoints -----------------------------------------------------------------------------------

def endpoint_of(*, session: Session, organization_id: int | None) -> ProviderEndpoint | None:
    if organization_id is None:
        return None
    return session.scalars(select(ProviderEndpoint).where(ProviderEndpoint.organization_id == organization_id)).first()


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _dispatchable(organization: Organization) -> bool:
    return organization.kind == "dealer" or (organization.kind == "partner"
                                             and organization.partner_kind in ("roadside", "emergency"))


def check_url(url: str) -> str:
    """HTTPS, since the notice carries a position and a car; plain HTTP only to this machine (testing)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid(_("Give the full address of the provider's webhook, starting with https://."), field="url")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise Invalid(_("Use https:// so the notice cannot be read on the way."), field="url")
    return url.strip()


def set_endpoint(*, session: Session, organization_id: int, url: str) -> ProviderEndpoint:
    """Points the provider's notices at ``url`` with a new secret (a second call rotates the secret)."""
    organization = parties_service.get_organization(session=session, organization_id=organization_id)
    if not _dispatchable(organization):
        raise Invalid(_("%(name)s is never sent to a case: only tow and emergency services and dealers take dispatch notices.", name=organization.name), field="organization_id")
    endpoint = endpoint_of(session=session, organization_id=organization_id)
    if endpoint is None:
        endpoint = ProviderEndpoint(organization_id=organization_id)
        session.add(endpoint)
    endpoint.url, endpoint.secret, endpoint.created_at = check_url(url), new_secret(), now()
    session.flush()
    return endpoint


def remove_endpoint(*, session: Session, organization_id: int) -> None:
    """Notices go by e-mail again."""
    endpoint = endpoint_of(session=session, organization_id=organization_id)
    if endpoint is None:
        raise NotFound("This organization has no webhook.")
    session.delete(endpoint)
    session.flush()


# --- answers -------------------------------------------------------------------------------------

def signed_by_provider(*, session: Session, dispatch_id: int, body: bytes, headers: Mapping[str, str]) -> int | None:
    """The provider's organization id when the callback is signed with the secret of the provider this
    dispatch went to and is fresh; None otherwise (unknown dispatch, no endpoint, bad or old signature:
    the caller learns nothing about which)."""
    row = session.get(Dispatch, dispatch_id)
    endpoint = endpoint_of(session=session, organization_id=row.provider_id) if row is not None else None
    if endpoint is None:
        return None
    try:
        Webhook(endpoint.secret).verify(body, {k.lower(): v for k, v in headers.items()}, json_parse=False)
    except (WebhookVerificationError, ValueError, UnicodeDecodeError):
        return None
    return row.provider_id


def answer(*, session: Session, dispatch_id: int, provider_id: int, answer: str, note: str | None = None,
           eta_minutes: int | None = None, via: str) -> Dispatch:
    """The provider accepts or declines; the timeline says so. ``via``: ``api`` or ``signed-callback``."""
    row = session.get(Dispatch, dispatch_id)
    if row is None or row.provider_id != provider_id:
        raise NotFound("Dispatch not found")
    if answer not in ANSWERS:
        raise Invalid(_("Answer accepted or declined."), field="answer")
    if row.answer == answer:
        return row  # said already (or a replayed callback): nothing new
    if row.answer is not None:
        raise Conflict(_("You %(answer)s this dispatch already; call the On Call centre to change it.", answer=row.answer),
                       field="answer")
    case = session.get(Case, row.case_id)
    if case.status in FINISHED:
        raise Conflict(_("Case %(number)s is %(status)s: no answer is needed any more.", number=case.number, status=case.status), field="answer")
    moment = now()
    row.answer, row.answered_at, row.answer_note = answer, moment, note
    provider = parties_service.organization_or_none(session=session, organization_id=provider_id)
    if answer == "accepted":
        if eta_minutes is not None:
            row.eta_minutes = eta_minutes
        text = _("%(provider)s accepted: there in about %(minutes)s min.", provider=provider.name,
                 minutes=row.eta_minutes)
    else:
        row.status = "declined"
        text = _("%(provider)s declined. Send someone else.", provider=provider.name)
        others = session.scalars(select(Dispatch.id).where(Dispatch.case_id == case.id, Dispatch.id != row.id,
                                                           Dispatch.status == "on_the_way")).first()
        if others is None and case.status == "dispatched":
            case.status = "acknowledged"  # back among the cases needing help
    if note:
        text += f" “{note}”"
    session.add(CaseEvent(case_id=case.id, kind=answer, at=moment, text=text,
                          details={"dispatch_id": row.id, "provider_id": provider_id, "via": via,
                                   "eta_minutes": eta_minutes, "note": note}))
    session.flush()
    return row


def latest_answers(*, session: Session, case_ids: list[int]) -> dict[int, dict]:
    """Per case, the newest provider answer, for the console's queue."""
    if not case_ids:
        return {}
    rows = session.execute(select(Dispatch.case_id, Dispatch.answer, Dispatch.provider_id)
                           .where(Dispatch.case_id.in_(case_ids), Dispatch.answer.is_not(None))
                           .order_by(Dispatch.answered_at, Dispatch.id)).all()
    names = parties_service.names_of(session=session, organization_ids={provider for _c, _a, provider in rows})
    return {case_id: {"answer": value, "provider": names[provider]} for case_id, value, provider in rows
            if provider in names}

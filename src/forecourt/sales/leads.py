"""Leads: someone asked a dealer about a car. The dealer sees who only once they allowed sales contact.

A lead keeps what the person typed (``Lead.first_name``...), even when it turned out to be a known
customer, so nothing a customer keeps in their profile is overwritten by a form. Every staff read goes
through the consent door for ``sales_contact``: without the customer's grant the lead does not exist
for the dealer (``NotFound``), except as a number on the "waiting for permission" counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import dates
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _, Labels, N_
from forecourt.sales.models import Activity, Configuration, Lead
from forecourt.sales.routing import OPEN_STATUSES
from forecourt.sales.scoring import explain as explain_score

PURPOSE = "sales_contact"
JOIN_WINDOW = timedelta(days=30)
SOURCES = ("configuration", "test_drive", "event", "web_form")
WANTS = Labels({"test_drive": N_("a test drive"), "call": N_("a call"), "offer": N_("an offer")})
REP_STATUSES = ("contacted", "qualified", "disqualified")
SOURCE_NAMES = Labels({"configuration": N_("Configuration"), "test_drive": N_("Test-drive request"), "event": N_("Event"),
                "web_form": N_("Web form")})


def normalise_email(email: str | None) -> str | None:
    value = (email or "").strip().lower()
    return value or None


def normalise_phone(phone: str | None) -> str | None:
    """Digits only, with the leading + kept: "+49 (40) 123-456" and "+4940123456" are one number."""
    text = (phone or "").strip()
    digits = "".join(c for c in text if c.isdigit())
    if not digits:
        return None
    return ("+" if text.startswith("+") else "") + digits


def source_for(*, wants: str, configuration_code: str | None, event_name: str | None) -> str:
    if wants == "test_drive":
        return "test_drive"
    if event_name:
        return "event"
    return "configuration" if configuration_code else "web_form"


def describe_request(*, source: str, wants: str | None, preferred_date: date | None, model_name: str | None,
                     configuration_code: str | None, event_name: str | None, message: str) -> str:
    """One line for the timeline: what was asked, as the rep would say it."""
    # Whole sentences, each one msgid with named placeholders: German and Korean put the date, the model
    # and the event where their grammar wants them, which a sentence glued from fragments cannot.
    sentences = [_("%(source)s.", source=SOURCE_NAMES.get(source, source))]
    day = dates.format_date(preferred_date) if preferred_date else None
    if wants == "test_drive":
        sentences.append(_("Asks for a test drive on %(day)s.", day=day) if day else _("Asks for a test drive."))
    elif wants == "call":
        sentences.append(_("Asks for a call."))
    elif wants == "offer":
        sentences.append(_("Asks for an offer."))
    if model_name:
        sentences.append(_("About the %(model)s.", model=model_name))
    if configuration_code:
        sentences.append(_("Configuration %(code)s.", code=configuration_code))
    if event_name:
        sentences.append(_("Met at %(event)s.", event=event_name))
    if message:
        sentences.append(_("Message: “%(message)s”", message=message))
    return " ".join(sentences)


# --- intake (called by sales.intake once the person is known) --------------------------------

def recent_open_lead(*, session: Session, customer_id: int, dealer_id: int | None = None) -> Lead | None:
    """The customer's open lead of the last 30 days (at this dealer, or anywhere), newest first."""
    query = select(Lead).where(Lead.customer_id == customer_id, Lead.status.in_(OPEN_STATUSES),
                               Lead.created_at >= now() - JOIN_WINDOW)
    if dealer_id is not None:
        query = query.where(Lead.dealer_id == dealer_id)
    return session.scalars(query.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(1)).first()


@dataclass
class Recorded:
    lead: Lead
    joined: bool  # True: the request joined an open lead instead of making a duplicate


def record(*, session: Session, customer_id: int, dealer_id: int, routed_by: str, routing_facts: dict,
           source: str, contact: dict, configuration: Configuration | None, model_id: int | None,
           preferred_date: date | None, event_name: str | None, message: str, request_line: str) -> Recorded:
    """A new lead, or, when the same person asked the same dealer within 30 days, a note on that lead."""
    if source not in SOURCES:
        raise Invalid(_("Unknown source '%(source)s'; use one of %(values)s.", source=source, values=', '.join(SOURCES)), field="source")
    existing = recent_open_lead(session=session, customer_id=customer_id, dealer_id=dealer_id)
    if existing is not None:
        session.add(Activity(dealer_id=dealer_id, customer_id=customer_id, lead_id=existing.id, kind="note",
                             happened_at=now(), notes=f"Asked again: {request_line}", model_id=model_id))
        # What is new fills gaps; what the first request said stays as it was.
        existing.configuration_id = existing.configuration_id or (configuration.id if configuration else None)
        existing.model_id = existing.model_id or model_id
        existing.preferred_date = existing.preferred_date or preferred_date
        if source == "test_drive" and existing.source != "test_drive" and existing.source != "configuration":
            existing.source = source
        existing.updated_at = now()
        session.flush()
        return Recorded(existing, True)
    lead = Lead(dealer_id=dealer_id, customer_id=customer_id, source=source,
                configuration_id=configuration.id if configuration else None, model_id=model_id,
                preferred_date=preferred_date, event_name=event_name, message=message or "",
                routed_by=routed_by, routing_facts=routing_facts, status="new", created_at=now(),
                updated_at=now(), **{k: contact.get(k) for k in ("first_name", "last_name", "email", "phone",
                                                                  "postcode", "city")})
    session.add(lead)
    session.flush()
    return Recorded(lead, False)


# --- the dealer's side: through the consent door --------------------------------------------------

def _own(principal: Principal) -> int:
    if principal.role is not Role.DEALER_SALES or principal.organization_id is None:
        raise NotFound("Lead not found")
    return principal.organization_id


def _lead(session: Session, principal: Principal, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None or lead.dealer_id != _own(principal) or lead.customer_id is None:
        raise NotFound("Lead not found")
    return lead


def open_lead(*, session: Session, principal: Principal, lead_id: int, what: str = "lead") -> Lead:
    """A rep's read of one of their dealer's leads: 404 without the customer's sales-contact grant."""
    lead = _lead(session, principal, lead_id)
    consent_service.require(session=session, principal=principal, customer_id=lead.customer_id,
                            purpose=PURPOSE, what=f"{what} #{lead.id}")
    return lead


def list_leads(*, session: Session, principal: Principal, status: str | None = None, source: str | None = None,
               purpose: str = PURPOSE, limit: int = 50, offset: int = 0) -> tuple[list[Lead], int, int]:
    """(leads shown, total visible, leads waiting for the customer's permission).

    Leads are opened for sales contact only: any other stated purpose shows none.
    """
    dealer_id = _own(principal)
    waiting = waiting_for_permission(session=session, dealer_id=dealer_id)
    if purpose != PURPOSE:
        return [], 0, waiting
    visible = consent_service.visible_customers(session=session, principal=principal, purpose=PURPOSE)
    query = select(Lead).where(Lead.dealer_id == dealer_id, Lead.status != "merged", Lead.customer_id.in_(visible))
    if status == "open":
        query = query.where(Lead.status.in_(OPEN_STATUSES))
    elif status:
        query = query.where(Lead.status == status)
    if source:
        query = query.where(Lead.source == source)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    leads = list(session.scalars(query.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit).offset(offset)))
    if leads:
        consent_service.log_access(session=session, principal=principal,
                                   customer_ids=sorted({lead.customer_id for lead in leads}),
                                   purpose=consent_service.get_purpose(session=session, code=PURPOSE),
                                   what="lead list")
    return leads, total, waiting


def waiting_for_permission(*, session: Session, dealer_id: int) -> int:
    """How many open leads the dealer cannot see yet: a number, never who."""
    rows = session.execute(select(Lead.customer_id).where(Lead.dealer_id == dealer_id,
                                                          Lead.status.in_(OPEN_STATUSES),
                                                          Lead.customer_id.is_not(None))).scalars().all()
    granted = consent_service.customers_granting(session=session, organization_id=dealer_id, purpose_code=PURPOSE,
                                                 customer_ids=rows)
    return sum(1 for customer_id in rows if customer_id not in granted)


def set_status(*, session: Session, principal: Principal, lead_id: int, status: str) -> Lead:
    lead = open_lead(session=session, principal=principal, lead_id=lead_id, what="lead status")
    if status not in REP_STATUSES:
        raise Invalid(_("A lead can be marked %(values)s or %(value)s.", values=', '.join(REP_STATUSES[:-1]), value=REP_STATUSES[-1]), field="status")
    if lead.status == "merged":
        raise Invalid(_("This lead was merged into lead #%(merged_into_id)s; work on that one.", merged_into_id=lead.merged_into_id), field="status")
    if lead.status == "converted":
        raise Invalid(_("This lead is already an opportunity; work on it there."), field="status")
    if lead.status != status:
        session.add(Activity(dealer_id=lead.dealer_id, customer_id=lead.customer_id, lead_id=lead.id, kind="note",
                             user_id=principal.user_id, happened_at=now(),
                             notes=f"Marked {status} (was {lead.status})."))
        lead.status, lead.updated_at = status, now()
        session.flush()
    return lead


def merge(*, session: Session, principal: Principal, keep_id: int, duplicate_id: int) -> Lead:
    """Two leads of one person become one; the duplicate stays (status "merged") so nothing is lost."""
    keep = open_lead(session=session, principal=principal, lead_id=keep_id, what="lead merge")
    if keep_id == duplicate_id:
        raise Invalid(_("A lead cannot be merged into itself; choose the other lead of this person."),
                      field="duplicate_id")
    # Another dealer's lead, or one whose person has not allowed contact, does not exist for this rep:
    # the same words for all three, so the answer tells nothing about other dealers' leads.
    missing = Invalid(_("There is no lead #%(duplicate_id)s among your dealership's leads; only two leads of your own dealer can be merged.", duplicate_id=duplicate_id), field="duplicate_id")
    duplicate = session.get(Lead, duplicate_id)
    if duplicate is None or duplicate.customer_id is None or duplicate.dealer_id != keep.dealer_id:
        raise missing
    if duplicate.customer_id != keep.customer_id:
        try:
            open_lead(session=session, principal=principal, lead_id=duplicate_id, what="lead merge")
        except NotFound:
            raise missing from None
    for lead in (keep, duplicate):
        if lead.status == "merged":
            raise Invalid(_("Lead #%(id)s was already merged into lead #%(merged_into_id)s.", id=lead.id, merged_into_id=lead.merged_into_id),
                          field="duplicate_id")
    if duplicate.status == "converted":
        raise Invalid(_("Lead #%(id)s is already an opportunity; keep that one and merge the other into it.", id=duplicate.id),
                      field="duplicate_id")
    for activity in session.scalars(select(Activity).where(Activity.lead_id == duplicate.id)):
        activity.lead_id = keep.id
    # Leads merged earlier into the duplicate follow it, so the kept lead's timeline has them all.
    for earlier in session.scalars(select(Lead).where(Lead.merged_into_id == duplicate.id)):
        earlier.merged_into_id = keep.id
    duplicate.status, duplicate.merged_into_id, duplicate.updated_at = "merged", keep.id, now()
    keep.configuration_id = keep.configuration_id or duplicate.configuration_id
    keep.model_id = keep.model_id or duplicate.model_id
    keep.preferred_date = keep.preferred_date or duplicate.preferred_date
    keep.updated_at = now()
    session.add(Activity(dealer_id=keep.dealer_id, customer_id=keep.customer_id, lead_id=keep.id, kind="note",
                         user_id=principal.user_id, happened_at=now(),
                         notes=f"Merged lead #{duplicate.id} ({SOURCE_NAMES.get(duplicate.source, duplicate.source)} "
                               f"of {duplicate.created_at.date().isoformat()}) into this lead."))
    session.flush()
    return keep


def timeline(*, session: Session, lead: Lead) -> list[dict]:
    """Both histories of a merged lead, oldest first: each request as it came, and every activity since."""
    entries = []
    for request in [lead, *session.scalars(select(Lead).where(Lead.merged_into_id == lead.id))]:
        typed = " ".join(p for p in (request.first_name, request.last_name) if p)
        contact = ", ".join(p for p in (typed, request.email, request.phone) if p)
        sentences = [_("%(source)s (lead #%(id)s).", source=SOURCE_NAMES.get(request.source, request.source),
                       id=request.id)]
        if request.event_name:
            sentences.append(_("Met at %(event)s.", event=request.event_name))
        if request.preferred_date:
            sentences.append(_("Test drive wanted on %(day)s.", day=dates.format_date(request.preferred_date)))
        if request.message:
            sentences.append(_("Message: “%(message)s”", message=request.message))
        text = " ".join(sentences)
        entries.append(dict(at=request.created_at, kind="request", lead_id=request.id, source=request.source,
                            text=text, contact=contact))
    for activity in session.scalars(select(Activity).where(Activity.lead_id == lead.id)):
        entries.append(dict(at=activity.happened_at, kind=activity.kind, lead_id=lead.id, source=None,
                            text=activity.notes, contact=""))
    return sorted(entries, key=lambda e: (e["at"], e["kind"] != "request"))


def view(*, session: Session, principal: Principal, lead_id: int, lead: Lead | None = None) -> dict:
    """One lead as the rep reads it: the request, the routing and score explained, and its timeline."""
    lead = lead or open_lead(session=session, principal=principal, lead_id=lead_id)
    configuration = session.get(Configuration, lead.configuration_id) if lead.configuration_id else None
    fields = {column.key: getattr(lead, column.key) for column in Lead.__table__.columns}
    return fields | dict(lead=lead, configuration_code=configuration.code if configuration else None,
                         score_reasons=explain_score(lead.score_reasons), routing_reason=lead.routing_reason,
                         timeline=timeline(session=session, lead=lead))


def merge_candidates(*, session: Session, principal: Principal, lead: Lead) -> list[Lead]:
    """The dealer's other visible, unmerged leads: the person with the same e-mail, phone or name first."""
    visible = consent_service.visible_customers(session=session, principal=principal, purpose=PURPOSE)
    others = list(session.scalars(select(Lead).where(Lead.dealer_id == lead.dealer_id, Lead.id != lead.id,
                                                     Lead.status.not_in(("merged", "converted")),
                                                     Lead.customer_id.in_(visible))
                                  .order_by(Lead.created_at.desc()).limit(200)))

    def likeness(other: Lead) -> int:
        same = [other.customer_id == lead.customer_id,
                bool(other.email) and normalise_email(other.email) == normalise_email(lead.email),
                bool(other.phone) and normalise_phone(other.phone) == normalise_phone(lead.phone),
                bool(other.last_name) and (other.last_name or "").lower() == (lead.last_name or "").lower()]
        return -sum(same)

    chosen = sorted(others, key=likeness)[:20]
    shown = sorted({other.customer_id for other in chosen} - {lead.customer_id})
    if shown:
        consent_service.log_access(session=session, principal=principal, customer_ids=shown,
                                   purpose=consent_service.get_purpose(session=session, code=PURPOSE),
                                   what=f"merge candidates for lead #{lead.id}")
    return chosen

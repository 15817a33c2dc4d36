"""The one door to customer data: grants, withdrawals, the ledger, and ``require``.

Every read of a customer's data by staff or a partner calls ``require``. Without a valid grant
(or another legal basis with a reference to the case that justifies it) the customer does not
exist for the caller: ``NotFound``, never "forbidden", so existence is not leaked. Nothing here
is cached, so a withdrawal takes effect on the very next request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, and_, column, delete, false, insert, or_, select, table
from sqlalchemy.orm import Session

from forecourt.consent.catalogue import CONSENT
from forecourt.consent.models import (AccessLogEntry, ConsentReceipt, DataRequest, Grant, Notice, NoticeText, Purpose,
                                      RolePurpose)
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now
from forecourt.core.db import bulk_rows, one_of
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import LANGUAGES, _, current_locale, supported
from forecourt.parties import markets
from forecourt.parties import service as parties_service


def list_purposes(*, session: Session) -> list[Purpose]:
    return list(session.scalars(select(Purpose).order_by(Purpose.position)))


def get_purpose(*, session: Session, code: str) -> Purpose:
    purpose = session.get(Purpose, code)
    if purpose is None:
        raise Invalid(_("Unknown purpose '%(code)s'.", code=code), field="purpose")
    return purpose


def current_notice(*, session: Session) -> Notice:
    notice = session.scalars(select(Notice).order_by(Notice.version.desc()).limit(1)).first()
    if notice is None:
        raise RuntimeError("No privacy notice published; run 'forecourt db upgrade'.")
    return notice


def notice_text(*, session: Session, version: int, language: str | None = None) -> NoticeText:
    """The words of notice ``version`` in ``language`` (the reader's language when not given).

    A language we do not speak, or one this version was not published in, falls back to English:
    the customer is shown the English text, and a consent given on it records English."""
    wanted = supported(language) or supported(current_locale()) or "en"
    texts = {t.language: t for t in session.scalars(select(NoticeText).where(NoticeText.notice_version == version))}
    found = texts.get(wanted) or texts.get("en")
    if found is None:
        raise NotFound(_("There is no privacy notice version %(notice_version)s.", notice_version=version))
    return found


def _language_read(session: Session, notice: Notice, language: str | None) -> str:
    """The language of the notice text a consent rests on: named ones must be a language of that notice,
    in words; unnamed, the reader's own language (as the page they read was in)."""
    if language is None:
        return notice_text(session=session, version=notice.version).language
    code = supported(language)
    published = set(session.scalars(select(NoticeText.language).where(NoticeText.notice_version == notice.version)))
    if code is None or code not in published:
        raise Invalid(_("Privacy notice v%(version)s is not published in %(language)s; it is published in %(known)s.",
                        version=notice.version, language=repr(str(language)[:35]),
                        known=", ".join(LANGUAGES[c] for c in LANGUAGES if c in published)), field="language")
    return code


def _active(moment) -> list:
    return [Grant.withdrawn_at.is_(None), or_(Grant.expires_at.is_(None), Grant.expires_at > moment)]


def active_grant(*, session: Session, customer_id: int, organization_id: int, purpose_code: str) -> Grant | None:
    # The grant and its notice in one round trip: every staff read passes here.
    found = session.execute(
        select(Grant, Notice.purposes).join(Notice, Notice.version == Grant.notice_version).where(
            Grant.customer_id == customer_id,
            Grant.organization_id == organization_id,
            Grant.purpose_code == purpose_code,
            *_active(now()),
        )
    ).first()
    if found is None:
        return None
    grant, notice_purposes = found
    # Consent covers only what the notice the customer read said.
    return grant if purpose_code in (notice_purposes or []) else None


def _record(session: Session, *, customer_id: int, organization_id: int, purpose: Purpose,
            notice_version: int, state: str, method: str, recorded_by: int | None,
            language: str | None, receipt_id: str | None = None) -> ConsentReceipt:
    receipt = ConsentReceipt(
        receipt_id=receipt_id or str(uuid.uuid4()), customer_id=customer_id, organization_id=organization_id,
        purpose_code=purpose.code, legal_basis=purpose.legal_basis, notice_version=notice_version,
        state=state, method=method, recorded_by_user_id=recorded_by, recorded_at=now(), language=language,
        jurisdiction=_jurisdiction(session, customer_id),
    )
    session.add(receipt)
    return receipt


_CUSTOMERS = table("customers", column("id"), column("market"), column("country"))


def _jurisdiction(session: Session, customer_id: int) -> str:
    """The law the customer's consent answers to, by the market that serves them (their country's else)."""
    row = session.execute(select(_CUSTOMERS.c.market, _CUSTOMERS.c.country)
                          .where(_CUSTOMERS.c.id == customer_id)).first()
    return markets.jurisdiction_of((row.market or row.country) if row else None)


def give(*, session: Session, customer_id: int, organization_id: int, purpose_code: str,
         notice_version: int | None = None, method: str = "web-portal",
         recorded_by: int | None = None, language: str | None = None, receipt_id: str | None = None) -> Grant:
    """The customer allows an organization to use their data for one purpose.

    ``language`` is the language of the notice text the customer read (default: the language being
    spoken, the one their page was in); the receipt records it. ``receipt_id``: the receipt's number
    when the caller already has one (an imported ledger, a demo built again from its seed); the
    ledger is append-only, so it is chosen when the receipt is written or never."""
    purpose = get_purpose(session=session, code=purpose_code)
    if purpose.legal_basis != CONSENT:
        raise Invalid(_("'%(name)s' does not rest on consent, so it cannot be granted or withdrawn.", name=purpose.name),
                      field="purpose")
    organization = parties_service.get_organization(session=session, organization_id=organization_id)
    notice = (session.get(Notice, notice_version) if notice_version is not None
              else current_notice(session=session))
    if notice is None:
        raise Invalid(_("There is no privacy notice version %(notice_version)s.", notice_version=notice_version), field="notice_version")
    if purpose.code not in notice.purposes:
        raise Invalid(
            _("Privacy notice v%(version)s does not cover '%(name)s'; read the current notice first.", version=notice.version, name=purpose.name),
            field="notice_version",
        )
    read_in = _language_read(session, notice, language)
    moment = now()
    grant = session.scalars(select(Grant).where(
        Grant.customer_id == customer_id, Grant.organization_id == organization.id,
        Grant.purpose_code == purpose.code)).first()
    if grant is None:
        grant = Grant(customer_id=customer_id, organization_id=organization.id, purpose_code=purpose.code)
        session.add(grant)
    elif (grant.withdrawn_at is None and grant.notice_version == notice.version
          and (grant.expires_at is None or grant.expires_at > moment)):
        return grant  # already given under this notice: nothing new to record
    # A new consent (first, after a withdrawal, under a newer notice, or after expiry): no old expiry.
    grant.notice_version, grant.granted_at, grant.withdrawn_at, grant.expires_at = notice.version, moment, None, None
    _record(session, customer_id=customer_id, organization_id=organization.id, purpose=purpose,
            notice_version=notice.version, state="granted", method=method, recorded_by=recorded_by,
            language=read_in, receipt_id=receipt_id)
    session.flush()
    return grant


def withdraw(*, session: Session, customer_id: int, organization_id: int, purpose_code: str,
             method: str = "web-portal", recorded_by: int | None = None) -> Grant | None:
    """Takes effect on the next read: ``require`` always asks the database."""
    purpose = get_purpose(session=session, code=purpose_code)
    if purpose.legal_basis != CONSENT:
        raise Invalid(_("'%(name)s' does not rest on consent, so it cannot be granted or withdrawn.", name=purpose.name),
                      field="purpose")
    grant = session.scalars(select(Grant).where(
        Grant.customer_id == customer_id, Grant.organization_id == organization_id,
        Grant.purpose_code == purpose.code)).first()
    if grant is None or grant.withdrawn_at is not None:
        return grant
    grant.withdrawn_at = now()
    _record(session, customer_id=customer_id, organization_id=organization_id, purpose=purpose,
            notice_version=grant.notice_version, state="withdrawn", method=method, recorded_by=recorded_by,
            language=supported(current_locale()))
    session.flush()
    return grant


def withdraw_all(*, session: Session, customer_id: int, method: str) -> int:
    grants = session.scalars(select(Grant).where(Grant.customer_id == customer_id, Grant.withdrawn_at.is_(None)))
    count = 0
    for grant in list(grants):
        withdraw(session=session, customer_id=customer_id, organization_id=grant.organization_id,
                 purpose_code=grant.purpose_code, method=method)
        count += 1
    return count


def grants_of(*, session: Session, customer_id: int, organization_id: int | None = None) -> list[Grant]:
    query = select(Grant).where(Grant.customer_id == customer_id)
    if organization_id is not None:
        query = query.where(Grant.organization_id == organization_id)
    return list(session.scalars(query.order_by(Grant.organization_id, Grant.purpose_code)))


def ledger_of(*, session: Session, customer_id: int) -> list[ConsentReceipt]:
    return list(session.scalars(select(ConsentReceipt).where(ConsentReceipt.customer_id == customer_id)
                                .order_by(ConsentReceipt.id)))


def allowed_purposes(*, session: Session, principal: Principal, customer_id: int) -> list[str]:
    """The consent purposes this principal's organization holds for the customer today and the
    principal's role may read for."""
    if principal.organization_id is None:
        return []
    rows = session.scalars(select(Grant.purpose_code).where(
        Grant.customer_id == customer_id, Grant.organization_id == principal.organization_id, *_active(now())))
    return sorted(set(rows) & set(purposes_of_role(session=session, principal=principal)))


# --- who may state which purpose -----------------------------------------------------------------

def _partner_kind(session: Session, principal: Principal) -> str | None:
    # Only a partner's analyst reads by the kind of its organization; other roles skip the look-up.
    if principal.role is not Role.PARTNER_ANALYST or principal.organization_id is None:
        return None
    return parties_service.get_organization(session=session, organization_id=principal.organization_id).partner_kind


def _role_rows(session: Session, principal: Principal) -> Select:
    kind = _partner_kind(session, principal)
    return select(RolePurpose.purpose_code).where(
        RolePurpose.role == principal.role.value,
        RolePurpose.partner_kind.is_(None) if kind is None else RolePurpose.partner_kind == kind)


def purposes_of_role(*, session: Session, principal: Principal) -> list[str]:
    """The purposes this principal's role may state: those of its work (``role_purposes``)."""
    if principal.is_customer or principal.organization_id is None:
        return []
    return sorted(set(session.scalars(_role_rows(session, principal))))


def may_state(*, session: Session, principal: Principal, purpose: str) -> bool:
    if principal.is_customer or principal.organization_id is None:
        return False
    return session.scalars(_role_rows(session, principal).where(RolePurpose.purpose_code == purpose)
                           .limit(1)).first() is not None


def holds(*, session: Session, principal: Principal, customer_id: int, purpose: str) -> bool:
    """Whether the door would open for this consent purpose (the role reads for it and the customer
    granted it to the principal's organization), without opening it: nothing is logged. For pages that
    show a section only when it is shared; the read itself still goes through ``require``."""
    return (principal.organization_id is not None
            and may_state(session=session, principal=principal, purpose=purpose)
            and active_grant(session=session, customer_id=customer_id, organization_id=principal.organization_id,
                             purpose_code=purpose) is not None)


def role_purposes(*, session: Session) -> list[RolePurpose]:
    """The whole mapping, for the carmaker's page and the customer's privacy page."""
    return list(session.scalars(select(RolePurpose).order_by(RolePurpose.role, RolePurpose.partner_kind,
                                                             RolePurpose.purpose_code)))


# --- the door ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """The record that justifies a read without consent (vital interest, legal obligation, contract).

    Built only by the domain that keeps the record, after checking that it is real, concerns this
    customer's car and entitles the reader's organization, and that the reader did not just make it
    up: an On Call case a car's alert opened (``assist.cases.reference_for``), a work order opened
    against an appointment the owner booked (``vehicles.work_orders.reference_for``). A bare string is
    never enough: the door refuses it. (A recall campaign reaches the owners of the cars it matched
    in one logged step, ``vehicles.recalls.notify_owners``.)
    """

    purpose: str
    customer_id: int
    organization_id: int
    label: str  # what the customer's access log shows: the case or work order number


def require(*, session: Session, principal: Principal, customer_id: int, purpose: str, what: str,
            reference: Reference | None = None) -> Purpose:
    """Open the door to one customer's data for one purpose, or raise ``NotFound``.

    Customers always see their own data (and nobody else's). Staff read only for a purpose their
    role may state (``role_purposes``). For a consent purpose their organization needs the
    customer's grant; for vital interest, legal obligation or contract they need a ``Reference``
    to the case, work order or campaign that justifies the read. Either way the read is written
    to the access log the customer sees.
    """
    if principal.is_customer:
        if principal.customer_id != customer_id:
            raise NotFound("Customer not found")
        return get_purpose(session=session, code=purpose)
    try:
        purpose_row = get_purpose(session=session, code=purpose)
    except Invalid:
        raise NotFound("Customer not found") from None
    if principal.organization_id is None or not may_state(session=session, principal=principal, purpose=purpose):
        raise NotFound("Customer not found")
    if purpose_row.legal_basis == CONSENT:
        if active_grant(session=session, customer_id=customer_id, organization_id=principal.organization_id,
                        purpose_code=purpose) is None:
            raise NotFound("Customer not found")
    elif not (isinstance(reference, Reference) and reference.purpose == purpose
              and reference.customer_id == customer_id and reference.organization_id == principal.organization_id):
        raise NotFound("Customer not found")
    log_access(session=session, principal=principal, customer_ids=[customer_id], purpose=purpose_row,
               what=what, reference=reference.label if reference is not None else None)
    return purpose_row


def visible_customers(*, session: Session, principal: Principal, purpose: str) -> Select:
    """A subquery of the customer ids this principal may list for a consent purpose."""
    if principal.organization_id is None or not may_state(session=session, principal=principal, purpose=purpose):
        return select(Grant.customer_id).where(False)
    # As in ``active_grant``: consent covers only what the notice the customer read said, whatever
    # way a row reached the table.
    covering = [n.version for n in session.scalars(select(Notice)) if purpose in n.purposes]
    return select(Grant.customer_id).where(
        and_(Grant.organization_id == principal.organization_id, Grant.purpose_code == purpose,
             Grant.notice_version.in_(covering), *_active(now())))


ACCESS_LOG_LATER = "forecourt_access_log_later"


def log_access(*, session: Session, principal: Principal, customer_ids: Iterable[int], purpose: Purpose,
               what: str, reference: str | None = None) -> None:
    """Write who read what, when and why. A session that only reads may carry a list under
    ``ACCESS_LOG_LATER`` (a page view on SQLite): the rows, stamped now, go there instead, and the
    caller writes them with ``write_access_log`` once the read is done, so a read never has to wait
    for the database's single writer while it holds a snapshot."""
    rows = [dict(customer_id=cid, organization_id=principal.organization_id, user_id=principal.user_id,
                 role=principal.role.value, purpose_code=purpose.code, legal_basis=purpose.legal_basis,
                 what=what, reference=reference, at=now()) for cid in customer_ids]
    if not rows:
        return
    later = session.info.get(ACCESS_LOG_LATER)
    if later is not None:
        later.extend(rows)
    else:
        session.execute(insert(AccessLogEntry), rows)


def write_access_log(*, session: Session, rows: list[dict]) -> None:
    """The rows ``log_access`` set aside, in one statement."""
    if rows:
        session.execute(insert(AccessLogEntry), rows)


def access_log_of(*, session: Session, customer_id: int, limit: int = 200, offset: int = 0) -> list[AccessLogEntry]:
    return list(session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == customer_id)
                                .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
                                .limit(limit).offset(offset)))


def forget_access_log(*, session: Session, customer_id: int) -> int:
    return session.execute(delete(AccessLogEntry).where(AccessLogEntry.customer_id == customer_id)).rowcount


# --- data-subject requests -----------------------------------------------------------------------

def record_data_request(*, session: Session, customer_id: int, kind: str, report: dict) -> DataRequest:
    moment = now()
    request = DataRequest(customer_id=customer_id, kind=kind, requested_at=moment, completed_at=moment,
                          report=report)
    session.add(request)
    session.flush()
    return request


def data_requests_of(*, session: Session, customer_id: int, kind: str | None = None) -> list[DataRequest]:
    query = select(DataRequest).where(DataRequest.customer_id == customer_id)
    if kind:
        query = query.where(DataRequest.kind == kind)
    return list(session.scalars(query.order_by(DataRequest.id)))


def erase_consents(*, session: Session, customer_id: int) -> dict:
    """Withdraw everything (the ledger records it), then drop the grant rows; the ledger stays."""
    withdrawn = withdraw_all(session=session, customer_id=customer_id, method="erasure")
    deleted = session.execute(delete(Grant).where(Grant.customer_id == customer_id)).rowcount
    return {"grants_withdrawn": withdrawn, "consent_grants": deleted,
            "access_log": forget_access_log(session=session, customer_id=customer_id)}


def customers_granting(*, session: Session, organization_id: int, purpose_code: str,
                       customer_ids) -> set[int]:
    """Which of these customers hold an active, notice-covered grant to the organization for the
    purpose: ``active_grant`` for a whole batch at once."""
    rows = bulk_rows(session, select(Grant.customer_id, Notice.purposes)
                     .join(Notice, Notice.version == Grant.notice_version)
                     .where(one_of(session, Grant.customer_id, sorted(set(customer_ids))),
                            Grant.organization_id == organization_id, Grant.purpose_code == purpose_code,
                            *_active(now())))
    return {customer for customer, purposes in rows if purpose_code in (purposes or [])}


def active_grants_select(*, session: Session, purpose_codes, organization_ids=None) -> Select:
    """Every active, notice-covered grant of these purposes as rows (customer_id, organization_id,
    purpose_code): what a set-based pass over many customers joins to (``active_grant`` for all of them)."""
    covering = {code: [] for code in purpose_codes}
    for version, purposes in session.execute(select(Notice.version, Notice.purposes)):
        for code in covering:
            if code in (purposes or []):
                covering[code].append(version)
    covered = [and_(Grant.purpose_code == code, Grant.notice_version.in_(versions))
               for code, versions in covering.items() if versions]
    query = select(Grant.customer_id, Grant.organization_id, Grant.purpose_code).where(
        or_(*covered) if covered else false(), *_active(now()))
    if organization_ids is not None:
        query = query.where(Grant.organization_id.in_(list(organization_ids)))
    return query

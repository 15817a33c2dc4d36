"""Pages: the carmaker's payments desk — On Call renewals paid by bank transfer are recorded here.

Only the payee's own staff reach a payment; a receipt, reversal or refund is audited like every admin
change. Each form carries a fresh one-time key, so sending it twice records the money once.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request

from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.payments import desk as payee_desk
from forecourt.payments import service as payments_service
from forecourt.web.deps import AdminPage, DbSession, PaymentGateway
from forecourt.web.views.forms import Form, attempt, text
from forecourt.web.views.render import render
from forecourt.web.views.till import METHOD_NAMES, amount_of

router = APIRouter(prefix="/admin/payments", tags=["pages"])


@router.get("")
def desk(request: Request, principal: AdminPage, session: DbSession, error: str | None = None):
    payments = payee_desk.list_for_payee(session=session, principal=principal)
    entries = payments_service.entries_of(session=session, payment_ids=[p.id for p in payments])
    rows = [dict(payment=p, entries=[e for e in entries if e.payment_id == p.id],
                 balance=payments_service.balance_of(session=session, payment=p),
                 outstanding=payee_desk.outstanding(session=session, payment=p)) for p in payments]
    reversed_ids = {e.reverses_entry_id for e in entries if e.reverses_entry_id}
    return render(request, "admin/payments.html", rows=rows, error=error, key=secrets.token_urlsafe(16),
                  method_names=METHOD_NAMES, reversed_ids=reversed_ids)


@router.post("/{reference}/receipts")
def receipt(reference: str, principal: AdminPage, session: DbSession, form: Form):
    return attempt(session, "/admin/payments", lambda: payee_desk.desk_receipt(
        session=session, principal=principal, reference=reference, amount=amount_of(form),
        method=text(form, "method") or "", key=text(form, "key") or "", note=text(form, "note") or ""),
        _("Payment %(reference)s recorded.", reference=reference))


@router.post("/{reference}/entries/{entry_id}/reversal")
def reversal(reference: str, entry_id: Id, principal: AdminPage, session: DbSession, form: Form):
    return attempt(session, "/admin/payments", lambda: payee_desk.desk_reversal(
        session=session, principal=principal, reference=reference, entry_id=entry_id,
        reason=text(form, "reason") or ""), _("Receipt on %(reference)s reversed.", reference=reference))


@router.post("/{reference}/refunds")
def refund(reference: str, principal: AdminPage, session: DbSession, gateway: PaymentGateway, form: Form):
    return attempt(session, "/admin/payments", lambda: payee_desk.desk_refund(
        session=session, gateway=gateway, principal=principal, reference=reference, amount=amount_of(form),
        key=text(form, "key") or "", reason=text(form, "reason") or ""), _("Refund on %(reference)s recorded.", reference=reference))

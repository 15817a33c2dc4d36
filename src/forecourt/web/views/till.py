"""Pages: a dealer's till — its cashier records what buyers paid, reverses a mistake, refunds a cancellation.

Every form carries a fresh one-time key, so a double click or a reload records the money once.
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request

from forecourt.core import money
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _, Labels, N_
from forecourt.core.schemas import Id
from forecourt.sales import orders, till
from forecourt.web.deps import CashierPage, DbSession, PaymentGateway
from forecourt.web.views.forms import Form, attempt, text
from forecourt.web.views.orders import ENTRY_NAMES, PAYMENT_NAMES, STEP_NAMES
from forecourt.web.views.render import render

router = APIRouter(tags=["pages"])
METHOD_NAMES = Labels({"cash": N_("Cash"), "card_terminal": N_("Card terminal"), "transfer": N_("Bank transfer")})


def amount_of(form) -> Decimal:
    try:
        amount = Decimal((text(form, "amount") or "").replace("€", "").replace("₩", "").replace(",", ""))
    except InvalidOperation:
        raise Invalid(_("Enter the amount as a number, e.g. 4200.00 (in won without decimals)."),
                      field="amount") from None
    if not amount.is_finite():
        raise Invalid(_("Enter the amount as a number, e.g. 4200.00 (in won without decimals)."), field="amount")
    return amount


@router.get("/till")
def till_orders(request: Request, principal: CashierPage, session: DbSession):
    views = [orders.describe(session=session, order=o) for o in till.list_orders(session=session, principal=principal)]
    return render(request, "till/orders.html", orders=views, step_names=STEP_NAMES, payment_names=PAYMENT_NAMES)


@router.get("/till/orders/{number}")
def till_order(request: Request, number: str, principal: CashierPage, session: DbSession, error: str | None = None):
    order = till.open_order(session=session, principal=principal, number=number)
    view = orders.describe(session=session, order=order)
    return render(request, "till/order.html", order=view, error=error, key=secrets.token_urlsafe(16),
                  step_names=STEP_NAMES, payment_names=PAYMENT_NAMES, entry_names=ENTRY_NAMES,
                  method_names=METHOD_NAMES, symbol=money.currency_symbol(view["currency"]),
                  step=money.input_step(view["currency"]),
                  as_input=lambda amount: money.input_amount(amount, view["currency"]))


@router.post("/till/orders/{number}/receipts")
def record_receipt(number: str, principal: CashierPage, session: DbSession, gateway: PaymentGateway, form: Form):
    return attempt(session, f"/till/orders/{number}", lambda: till.record_receipt(
        session=session, gateway=gateway, principal=principal, number=number, amount=amount_of(form),
        method=text(form, "method") or "", key=text(form, "key") or "", note=text(form, "note") or ""),
        _("Receipt recorded; the buyer sees the payment in their portal."))


@router.post("/till/orders/{number}/receipts/{entry_id}/reversal")
def reverse_receipt(number: str, entry_id: Id, principal: CashierPage, session: DbSession, form: Form):
    return attempt(session, f"/till/orders/{number}", lambda: till.reverse_receipt(
        session=session, principal=principal, number=number, entry_id=entry_id, reason=text(form, "reason") or ""),
        _("Receipt reversed; both entries stay in the ledger."))


@router.post("/till/orders/{number}/refunds")
def refund(number: str, principal: CashierPage, session: DbSession, gateway: PaymentGateway, form: Form):
    return attempt(session, f"/till/orders/{number}", lambda: till.refund(
        session=session, gateway=gateway, principal=principal, number=number, amount=amount_of(form),
        key=text(form, "key") or "", reason=text(form, "reason") or ""), _("Refund recorded."))

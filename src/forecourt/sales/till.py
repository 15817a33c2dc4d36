"""The delivering dealer's till: its cashier records the money a buyer paid in person or by transfer.

Only a cashier of the order's delivering dealer reaches an order here; for anyone else it does not
exist. The till shows order numbers, cars and amounts, never the buyer, so it needs no consent. Each
receipt, reversal and refund is audited and undone only by another entry, never edited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal
from forecourt.core.errors import Conflict, NotFound
from forecourt.core.i18n import _
from forecourt.payments import service as payments_service
from forecourt.payments.providers import MANUAL, Gateway
from forecourt.sales.models import Order
from forecourt.sales.orders import SUBJECT, _by_number, money_of

if TYPE_CHECKING:  # annotations only: the objects come from the other domain's service
    from forecourt.payments.models import PaymentEntry


def open_order(*, session: Session, principal: Principal, number: str) -> Order:
    order = _by_number(session, number)
    if order is None or principal.organization_id is None:
        raise NotFound(_("Order not found"))
    payments_service.check_cashier(principal, order.dealer_id)  # NotFound for anyone but its cashiers
    return order


def list_orders(*, session: Session, principal: Principal) -> list[Order]:
    """Orders with money to take or to give back: open ones, and cancelled ones with a refund due."""
    payments_service.check_cashier(principal, principal.organization_id)
    rows = list(session.scalars(select(Order).where(Order.dealer_id == principal.organization_id,
                                                    Order.status != "delivered")
                                .order_by(Order.created_at.desc(), Order.id.desc())))
    balances = payments_service.balances(session=session, subject_kind=SUBJECT, subject_ids=[o.id for o in rows])
    return [o for o in rows if o.status != "cancelled" or balances[o.id].net > 0]


def record_receipt(*, session: Session, gateway: Gateway, principal: Principal, number: str, amount, method: str,
                   key: str, note: str = "") -> PaymentEntry:
    """Money taken for the order: the deposit first, then the balance, never more than is due."""
    order = open_order(session=session, principal=principal, number=number)
    if (done := payments_service.entry_by_key(session=session, provider=MANUAL, key=key)) is not None:
        ours = {p.id for p in payments_service.payments_of(session=session, subject_kind=SUBJECT,
                                                           subject_id=order.id)}
        if done.payment_id not in ours or done.kind != "receipt":
            raise Conflict(_("This form was already used for another entry; reload the page."), field="key")
        return done  # the same form sent twice
    if order.status in ("cancelled", "delivered"):
        raise Conflict(_("Order %(number)s is %(status)s; it takes no more payments.", number=order.number,
                         status=order.status))
    paid = money_of(session=session, order=order)["paid"]
    most = payments_service.money(order.price) - paid
    if most <= 0:
        raise Conflict(_("Order %(number)s is paid in full.", number=order.number))
    kind = "deposit" if paid < payments_service.money(order.deposit) else "balance"
    payment = payments_service.request(session=session, gateway=gateway, provider=MANUAL, purpose=f"order_{kind}",
                                       subject_kind=SUBJECT, subject_id=order.id, customer_id=order.customer_id,
                                       payee_id=order.dealer_id, amount=amount)
    return payments_service.record_receipt(session=session, principal=principal, payment_id=payment.id,
                                           amount=amount, method=method, key=key, note=note, most=most)


def reverse_receipt(*, session: Session, principal: Principal, number: str, entry_id: int,
                    reason: str) -> PaymentEntry:
    order = open_order(session=session, principal=principal, number=number)
    if order.status == "delivered":
        raise Conflict(_("The car was handed over; money taken for it is refunded, not reversed."))
    ours = {p.id for p in payments_service.payments_of(session=session, subject_kind=SUBJECT, subject_id=order.id)}
    entry = payments_service.entry_or_none(session=session, entry_id=entry_id)
    if entry is None or entry.payment_id not in ours:
        raise NotFound(_("Receipt not found"))
    return payments_service.reverse(session=session, principal=principal, entry_id=entry_id, reason=reason)


def refund(*, session: Session, gateway: Gateway, principal: Principal, number: str, amount, key: str,
           reason: str = "") -> list[PaymentEntry]:
    """Money handed back for a cancelled order (what was paid at the till; card payments went back by card)."""
    order = open_order(session=session, principal=principal, number=number)
    if order.status != "cancelled":
        raise Conflict(_("Refunds are for cancelled orders; a receipt recorded by mistake is reversed instead."))
    return payments_service.refund_subject(session=session, gateway=gateway, principal=principal,
                                           subject_kind=SUBJECT, subject_id=order.id, amount=amount, key=key,
                                           reason=reason, provider=MANUAL)

"""A payee's desk: payments that no till owns, such as On Call renewals paid by bank transfer.

The carmaker's administrators record the transfer when it arrives, quoting the payment's reference;
only the payee's cashiers see its payments. Everything else is the ledger's (``payments.service``).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal
from forecourt.payments.models import Payment, PaymentEntry
from forecourt.payments.providers import Gateway
from forecourt.payments.service import (balance_of, check_cashier, get_by_reference, money, record_receipt, refund,
                                        reverse)


def list_for_payee(*, session: Session, principal: Principal, status: str | None = None,
                   limit: int = 200) -> list[Payment]:
    """The payments owed to the caller's organization, newest first; only its cashiers see them."""
    check_cashier(principal, principal.organization_id)
    query = select(Payment).where(Payment.payee_id == principal.organization_id)
    if status:
        query = query.where(Payment.status == status)
    return list(session.scalars(query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)))


def get_for_payee(*, session: Session, principal: Principal, reference: str) -> Payment:
    payment = get_by_reference(session=session, reference=reference)
    check_cashier(principal, payment.payee_id)
    return payment


def outstanding(*, session: Session, payment: Payment) -> Decimal:
    return max(Decimal(0), money(payment.amount) - balance_of(session=session, payment=payment).net)


def desk_receipt(*, session: Session, principal: Principal, reference: str, amount, method: str, key: str,
                 note: str = "") -> PaymentEntry:
    """Money for a payment request arrived (a bank transfer quoting its reference)."""
    payment = get_for_payee(session=session, principal=principal, reference=reference)
    return record_receipt(session=session, principal=principal, payment_id=payment.id, amount=amount,
                          method=method, key=key, note=note, most=outstanding(session=session, payment=payment))


def desk_reversal(*, session: Session, principal: Principal, reference: str, entry_id: int,
                  reason: str) -> PaymentEntry:
    payment = get_for_payee(session=session, principal=principal, reference=reference)
    return reverse(session=session, principal=principal, entry_id=entry_id, reason=reason, payment_id=payment.id)


def desk_refund(*, session: Session, gateway: Gateway, principal: Principal, reference: str, amount, key: str,
                reason: str = "") -> PaymentEntry | None:
    payment = get_for_payee(session=session, principal=principal, reference=reference)
    return refund(session=session, gateway=gateway, principal=principal, payment_id=payment.id, amount=amount,
                  key=key, reason=reason)

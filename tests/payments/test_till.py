"""The manual provider: a cashier of the payee records money, audited, undone only by a reversal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from forecourt.core.auth import Role
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.parties.models import AuditEntry
from forecourt.payments import service as payments_service
from forecourt.payments.models import PaymentEntry
from forecourt.payments.providers import Gateway
from forecourt.sales import orders, till
from tests.factories import fast_password_hashing  # noqa: F401  (autouse fixture)
from tests.sales.orders_scene import cashier_of, order_in_state


def _receipt(session, cashier, order, amount, key):
    return till.record_receipt(session=session, gateway=Gateway(), principal=cashier, number=order.number,
                               amount=amount, method="cash", key=key)


def _money(session, order):
    money = orders.money_of(session=session, order=order)
    return money["state"], float(money["paid"])


def test_only_a_cashier_of_the_delivering_dealer_records_a_receipt(make, session):
    dealer, elsewhere = make.dealer(), make.dealer()
    order = order_in_state(make, make.customer(), dealer, "placed")
    strangers = [cashier_of(make, elsewhere), make.principal(make.staff(dealer, Role.DEALER_SALES)),
                 make.principal(make.staff(dealer, Role.DEALER_SERVICE)), make.principal(make.staff(make.carmaker()))]
    for principal in strangers:
        with pytest.raises(NotFound):
            _receipt(session, principal, order, 4200, f"KEY-{principal.user_id}-x")
        with pytest.raises(NotFound):
            till.open_order(session=session, principal=principal, number=order.number)
    assert _money(session, order) == ("awaiting_deposit", 0.0)
    assert session.scalar(select(func.count(PaymentEntry.id))) == 0

    cashier = cashier_of(make, dealer)
    entry = _receipt(session, cashier, order, 4200, "KEY-OWN-0001")
    assert (entry.kind, entry.recorded_by_user_id, entry.method) == ("receipt", cashier.user_id, "cash")
    assert _money(session, order) == ("deposit_paid", 4200.0)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "payment.receipt")).one()
    assert audit.actor_user_id == cashier.user_id and audit.details["amount"] == "4200.00"
    assert [o.number for o in till.list_orders(session=session, principal=cashier)] == [order.number]
    assert till.list_orders(session=session, principal=cashier_of(make, elsewhere)) == []


def test_a_reversal_undoes_a_mistaken_receipt_and_both_stay(make, session):
    dealer = make.dealer()
    order = order_in_state(make, make.customer(), dealer, "placed")
    cashier = cashier_of(make, dealer)
    receipt = _receipt(session, cashier, order, 4200, "KEY-REV-0001")
    with pytest.raises(Invalid, match="why"):
        till.reverse_receipt(session=session, principal=cashier, number=order.number, entry_id=receipt.id, reason="")
    with pytest.raises(NotFound):  # another dealer's cashier cannot touch it
        till.reverse_receipt(session=session, principal=cashier_of(make, make.dealer()), number=order.number,
                             entry_id=receipt.id, reason="not ours")
    reversal = till.reverse_receipt(session=session, principal=cashier, number=order.number, entry_id=receipt.id,
                                    reason="recorded on the wrong order")
    assert (reversal.kind, reversal.reverses_entry_id, float(reversal.amount)) == ("reversal", receipt.id, 4200.0)
    again = till.reverse_receipt(session=session, principal=cashier, number=order.number, entry_id=receipt.id,
                                 reason="clicked twice")
    assert again.id == reversal.id
    assert _money(session, order) == ("awaiting_deposit", 0.0)
    kinds = [(p["kind"], p["reversed"]) for p in orders.payments_of(session=session, order_id=order.id)]
    assert kinds == [("receipt", False), ("reversal", False)]
    view = orders.describe(session=session, order=order)
    assert [p["reversed"] for p in view["payments"]] == [True, False]
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "payment.reversal")) == 1
    # the money can be taken again, properly
    _receipt(session, cashier, order, 4200, "KEY-REV-0002")
    assert _money(session, order) == ("deposit_paid", 4200.0)


def test_a_handed_over_order_is_refunded_not_reversed(make, session):
    dealer = make.dealer()
    buyer = make.customer()
    order = order_in_state(make, buyer, dealer, "paid")
    order.status = "delivered"
    session.flush()
    cashier = cashier_of(make, dealer)
    receipt = session.scalars(select(PaymentEntry).where(PaymentEntry.kind == "receipt")).first()
    with pytest.raises(Conflict, match="handed over"):
        till.reverse_receipt(session=session, principal=cashier, number=order.number, entry_id=receipt.id,
                             reason="too late")
    with pytest.raises(Conflict, match="cancelled orders"):
        till.refund(session=session, gateway=Gateway(), principal=cashier, number=order.number, amount=1,
                    key="KEY-REFUND-01")


def test_a_deposit_held_at_the_till_is_captured_in_part_or_released(make, session):
    """The manual half of what car sharing needs: authorise, capture (the rest released), release."""
    dealer = make.dealer()
    cashier = cashier_of(make, dealer)
    gateway = Gateway()
    held = payments_service.request(session=session, gateway=gateway, purpose="sharing_deposit",
                                    subject_kind="reservation", subject_id=7, customer_id=None, payee_id=dealer.id,
                                    amount=300, capture="manual")
    payments_service.record_authorisation(session=session, principal=cashier, payment_id=held.id, amount=300,
                                          method="card_terminal", key="HOLD-0001")
    assert payments_service.balance_of(session=session, payment=held).held == Decimal("300.00")
    payments_service.capture(session=session, gateway=gateway, principal=cashier, payment_id=held.id, amount=80,
                             key="CAPTURE-0001")
    balance = payments_service.balance_of(session=session, payment=held)
    assert (held.status, balance.net, balance.held) == ("paid", Decimal("80.00"), Decimal(0))

    other = payments_service.request(session=session, gateway=gateway, purpose="sharing_deposit",
                                     subject_kind="reservation", subject_id=8, customer_id=None, payee_id=dealer.id,
                                     amount=300, capture="manual")
    payments_service.record_authorisation(session=session, principal=cashier, payment_id=other.id, amount=300,
                                          method="card_terminal", key="HOLD-0002")
    with pytest.raises(NotFound):
        payments_service.release(session=session, gateway=gateway, principal=cashier_of(make, make.dealer()),
                                 payment_id=other.id, key="RELEASE-X")
    payments_service.release(session=session, gateway=gateway, principal=cashier, payment_id=other.id,
                             key="RELEASE-0002")
    balance = payments_service.balance_of(session=session, payment=other)
    assert (other.status, balance.net, balance.held) == ("cancelled", Decimal(0), Decimal(0))

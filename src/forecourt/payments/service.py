"""The payments ledger: requests for money, what providers confirmed, what cashiers recorded.

Money counts only through an entry: a receipt the card provider confirmed in a signed notification,
or one a cashier of the payee recorded at the till. A customer can ask to pay, never say they paid.
Every manual entry names its cashier and is in the admin audit trail; a mistaken receipt is undone
by a reversal (kept beside it), money paid back by a refund. Each entry carries the key of the fact
it records, so a notification delivered twice or a form sent twice counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.core import references
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now
from forecourt.core.db import plain_row
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service
from forecourt.payments.models import Payment, PaymentEntry
from forecourt.payments.providers import MANUAL, Confirmed, Gateway

CENT = Decimal("0.01")
# Who takes money for an organization: a dealer's cashier, the carmaker's administrators.
CASHIER_ROLES = (Role.DEALER_CASHIER, Role.CARMAKER_ADMIN)
METHODS = ("cash", "card_terminal", "transfer")


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def euros(value) -> str:
    return f"€{money(value):,.2f}"


@dataclass(frozen=True)
class Balance:
    """The money on one payment or one subject, from its entries alone."""

    received: Decimal = Decimal(0)
    reversed: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    held: Decimal = Decimal(0)

    @property
    def net(self) -> Decimal:
        """What the payee holds for good: received, less reversed and refunded."""
        return self.received - self.reversed - self.refunded

    def __add__(self, other: Balance) -> Balance:
        return Balance(self.received + other.received, self.reversed + other.reversed,
                       self.refunded + other.refunded, self.held + other.held)


def _balance(entries: list[PaymentEntry]) -> Balance:
    sums = {kind: sum((money(e.amount) for e in entries if e.kind == kind), Decimal(0))
            for kind in ("receipt", "reversal", "refund", "authorisation", "release")}
    held = max(Decimal(0), sums["authorisation"] - sums["release"] - sums["receipt"])
    return Balance(sums["receipt"], sums["reversal"], sums["refund"], held if sums["authorisation"] else Decimal(0))


# --- reading -------------------------------------------------------------------------------------

def get(*, session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(_("Payment not found"))
    return payment


def get_by_reference(*, session: Session, reference: str) -> Payment:
    payment = session.scalars(select(Payment).where(Payment.reference == (reference or "").strip().upper())).first()
    if payment is None:
        raise NotFound(_("Payment not found"))
    return payment


def payments_of(*, session: Session, subject_kind: str, subject_id: int) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.subject_kind == subject_kind,
                                                      Payment.subject_id == subject_id)
                                .order_by(Payment.created_at, Payment.id)))


def entry_or_none(*, session: Session, entry_id: int) -> PaymentEntry | None:
    return session.get(PaymentEntry, entry_id)


def entries_of(*, session: Session, payment_ids: list[int]) -> list[PaymentEntry]:
    if not payment_ids:
        return []
    return list(session.scalars(select(PaymentEntry).where(PaymentEntry.payment_id.in_(payment_ids))
                                .order_by(PaymentEntry.at, PaymentEntry.id)))


def balance_of(*, session: Session, payment: Payment) -> Balance:
    return _balance(entries_of(session=session, payment_ids=[payment.id]))


def balances(*, session: Session, subject_kind: str, subject_ids: list[int]) -> dict[int, Balance]:
    """Each subject's money in one read (a dealer's list of orders, an owner's subscriptions)."""
    found = {subject_id: Balance() for subject_id in subject_ids}
    if not subject_ids:
        return found
    rows = session.execute(select(Payment.subject_id, PaymentEntry).join(Payment, Payment.id == PaymentEntry.payment_id)
                           .where(Payment.subject_kind == subject_kind, Payment.subject_id.in_(subject_ids))).all()
    grouped: dict[int, list[PaymentEntry]] = {}
    for subject_id, entry in rows:
        grouped.setdefault(subject_id, []).append(entry)
    return found | {subject_id: _balance(entries) for subject_id, entries in grouped.items()}


def settled(*, session: Session, payment_ids: list[int]) -> set[int]:
    """The payments whose full amount is received and not taken back."""
    payments = {p.id: p for p in session.scalars(select(Payment).where(Payment.id.in_(payment_ids)))} \
        if payment_ids else {}
    grouped: dict[int, list[PaymentEntry]] = {}
    for entry in entries_of(session=session, payment_ids=list(payments)):
        grouped.setdefault(entry.payment_id, []).append(entry)
    return {pid for pid, p in payments.items() if _balance(grouped.get(pid, [])).net >= money(p.amount) > 0}


# --- asking for money ----------------------------------------------------------------------------

def _new_reference(session: Session) -> str:
    """"PAY-" and eight symbols: quoted on a bank transfer, read out at a till."""
    return references.fresh(session, Payment.reference, "PAY", (4, 4))


def request(*, session: Session, gateway: Gateway, purpose: str, subject_kind: str, subject_id: int,
            customer_id: int | None, payee_id: int, amount, provider: str | None = None,
            capture: str = "automatic", currency: str = "EUR") -> Payment:
    """A request for money. An open request for the same thing and amount is reused, so a double
    click or a reload asks the provider once."""
    amount = money(amount)
    if amount <= 0:
        raise Invalid(_("A payment amount must be more than zero."), field="amount")
    chosen = gateway.provider(provider)
    reused = session.scalars(select(Payment).where(
        Payment.subject_kind == subject_kind, Payment.subject_id == subject_id, Payment.purpose == purpose,
        Payment.provider == chosen.name, Payment.status == "open", Payment.amount == amount,
        Payment.capture == capture)).first()
    if reused is not None:
        return reused
    payment = Payment(reference=_new_reference(session), provider=chosen.name, purpose=purpose,
                      subject_kind=subject_kind, subject_id=subject_id, customer_id=customer_id, payee_id=payee_id,
                      amount=amount, currency=currency, capture=capture, status="open", created_at=now(),
                      updated_at=now())
    session.add(payment)
    session.flush()
    opened = chosen.open(payment=payment)
    payment.provider_reference, payment.client_secret = opened.provider_reference, opened.client_secret
    session.flush()
    return payment


def how_to_pay(*, payment: Payment, gateway: Gateway, payee_name: str, kind: str = "") -> dict:
    """The customer's side of a payment request, in words: confirm by card, or pay the payee directly."""
    provider = gateway.provider(payment.provider)
    if provider.online:
        words = _("Confirm the payment of %(amount)s with your card; it counts once the card provider confirms "
                  "it.", amount=euros(payment.amount))
    else:
        words = _("Pay %(amount)s to %(payee)s by bank transfer quoting %(reference)s, or at its desk. It counts "
                  "once %(payee)s records it.", amount=euros(payment.amount), payee=payee_name,
                  reference=payment.reference)
    return dict(provider=payment.provider, kind=kind or payment.purpose, amount=float(payment.amount),
                status=payment.status, reference=payment.reference, client_secret=payment.client_secret,
                publishable_key=getattr(provider, "publishable_key", None) or None, instructions=words)


# --- the cashier (manual provider) ---------------------------------------------------------------

def check_cashier(principal: Principal, payee_id: int) -> None:
    """Only a cashier of the payee records money for it; anyone else finds no such payment."""
    if principal.role not in CASHIER_ROLES or principal.organization_id != payee_id:
        raise NotFound(_("Payment not found"))


def _same_fact(session: Session, provider: str, key: str, payment: Payment, kind: str) -> PaymentEntry | None:
    key = (key or "").strip()
    if not 8 <= len(key) <= 255:
        raise Invalid(_("The form has no valid receipt key; reload the page and try again."), field="key")
    found = session.scalars(select(PaymentEntry).where(PaymentEntry.provider == provider,
                                                       PaymentEntry.provider_reference == key)).first()
    if found is not None and (found.payment_id != payment.id or found.kind != kind):
        raise Conflict(_("This form was already used for another entry; reload the page."), field="key")
    return found


def _add(session: Session, payment: Payment, **values) -> PaymentEntry:
    entry = PaymentEntry(payment_id=payment.id, provider=payment.provider, at=now(), **values)
    session.add(entry)
    payment.updated_at = now()
    session.flush()
    return entry


def _audit(session: Session, principal: Principal, action: str, payment: Payment, entry: PaymentEntry) -> None:
    parties_service.audit(session=session, actor=principal, action=action, target=f"payment {payment.reference}",
                          details={"entry": entry.id, "amount": str(money(entry.amount)), "currency": payment.currency,
                                   "kind": entry.kind,
                                   "subject": f"{payment.subject_kind} {payment.subject_id}", "note": entry.note})


def _method(method: str) -> str:
    if method not in METHODS:
        raise Invalid(_("Say how the money came: cash, card terminal or bank transfer."), field="method")
    return method


def record_receipt(*, session: Session, principal: Principal, payment_id: int, amount, method: str, key: str,
                   note: str = "", most: Decimal | None = None) -> PaymentEntry:
    """A cashier of the payee took money for a manual payment. ``most``: the subject's outstanding amount."""
    payment = get(session=session, payment_id=payment_id)
    check_cashier(principal, payment.payee_id)
    if payment.provider != MANUAL:
        raise Conflict(_("This payment is collected by card; its money is recorded when the card provider "
                         "confirms it."))
    if (done := _same_fact(session, MANUAL, key, payment, "receipt")) is not None:
        return done
    if payment.status in ("cancelled", "reversed"):
        raise Conflict(_("Payment %(ref)s is closed; record the money on a new one.", ref=payment.reference))
    amount = money(amount)
    if amount <= 0:
        raise Invalid(_("A receipt must be more than zero."), field="amount")
    if most is not None and amount > most:
        raise Invalid(_("Only %(due)s is due; record no more than that.", due=euros(most)), field="amount")
    try:
        with session.begin_nested():
            entry = _add(session, payment, kind="receipt", amount=amount, provider_reference=key.strip(),
                         method=_method(method), recorded_by_user_id=principal.user_id,
                         note=(note or "").strip()[:500])
    except IntegrityError:  # the same form sent twice at the same moment: the other request recorded it
        return _same_fact(session, MANUAL, key, payment, "receipt")
    if balance_of(session=session, payment=payment).net >= money(payment.amount):
        payment.status = "paid"
    _audit(session, principal, "payment.receipt", payment, entry)
    return entry


def reverse(*, session: Session, principal: Principal, entry_id: int, reason: str,
            payment_id: int | None = None) -> PaymentEntry:
    """Undo a receipt recorded by mistake; the receipt stays in the ledger with its reversal beside it."""
    receipt = session.get(PaymentEntry, entry_id)
    payment = session.get(Payment, receipt.payment_id) if receipt is not None else None
    if payment is None or (payment_id is not None and payment.id != payment_id):
        raise NotFound(_("Payment not found"))
    check_cashier(principal, payment.payee_id)
    if receipt.kind != "receipt" or receipt.provider != MANUAL:
        raise Conflict(_("Only a receipt recorded at the till can be reversed; card payments are refunded."))
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise Invalid(_("Say why the receipt is reversed."), field="reason")
    done = session.scalars(select(PaymentEntry).where(PaymentEntry.reverses_entry_id == receipt.id)).first()
    if done is not None:
        return done
    if balance_of(session=session, payment=payment).net < money(receipt.amount):
        raise Conflict(_("Part of this money was already refunded; it cannot be reversed as well."))
    try:
        with session.begin_nested():
            entry = _add(session, payment, kind="reversal", amount=money(receipt.amount),
                         provider_reference=f"reversal:{receipt.id}", method=receipt.method,
                         recorded_by_user_id=principal.user_id, reverses_entry_id=receipt.id, note=reason[:500])
    except IntegrityError:  # reversed at the same moment by someone else
        return session.scalars(select(PaymentEntry).where(PaymentEntry.reverses_entry_id == receipt.id)).one()
    if balance_of(session=session, payment=payment).net < money(payment.amount):
        payment.status = "reversed" if balance_of(session=session, payment=payment).net == 0 else "open"
    _audit(session, principal, "payment.reversal", payment, entry)
    return entry


# --- money back, and deposits held ---------------------------------------------------------------

def refund(*, session: Session, gateway: Gateway, principal: Principal, payment_id: int, amount, key: str,
           reason: str = "") -> PaymentEntry | None:
    """Money back to the customer. At the till a cashier hands it over and records it; by card the
    provider refunds it (``None`` while the provider has not confirmed; its notification records it)."""
    payment = get(session=session, payment_id=payment_id)
    if principal.organization_id != payment.payee_id or not principal.role.is_staff:
        raise NotFound(_("Payment not found"))
    if payment.provider == MANUAL:
        check_cashier(principal, payment.payee_id)
    amount = money(amount)
    if (done := _same_fact(session, payment.provider, key, payment, "refund")) is not None:
        return done
    net = balance_of(session=session, payment=payment).net
    if amount <= 0 or amount > net:
        raise Invalid(_("Between €0.01 and %(net)s can be refunded on this payment.", net=euros(net)),
                      field="amount")
    if payment.provider == MANUAL:
        entry = _add(session, payment, kind="refund", amount=amount, provider_reference=key.strip(),
                     method="cash", recorded_by_user_id=principal.user_id, note=(reason or "").strip()[:500])
    else:
        confirmed = gateway.provider(payment.provider).refund(payment=payment, amount=amount, key=key.strip())
        entry = _apply(session, payment, confirmed) if confirmed is not None else None
    if entry is not None:
        _audit(session, principal, "payment.refund", payment, entry)
    return entry


def refund_subject(*, session: Session, gateway: Gateway, principal: Principal, subject_kind: str, subject_id: int,
                   key: str, amount=None, reason: str = "", online_only: bool = False,
                   provider: str | None = None) -> list[PaymentEntry]:
    """Money back on a whole subject (a cancelled order), newest payment first, up to ``amount``
    (everything kept if none). ``online_only``: only what the card provider can refund by itself,
    leaving money taken at the till for its cashier."""
    candidates = []
    for payment in reversed(payments_of(session=session, subject_kind=subject_kind, subject_id=subject_id)):
        if (online_only and not gateway.provider(payment.provider).online) or (provider and payment.provider != provider):
            continue
        net = balance_of(session=session, payment=payment).net
        if net > 0:
            candidates.append((payment, net))
    total = sum((net for _, net in candidates), Decimal(0))
    left = total if amount is None else money(amount)
    if left > total:
        raise Invalid(_("Only %(net)s was paid here, so no more than that can be refunded.", net=euros(total)),
                      field="amount")
    entries = []
    for payment, net in candidates:
        share = min(net, left)
        if share <= 0:
            break
        entry = refund(session=session, gateway=gateway, principal=principal, payment_id=payment.id, amount=share,
                       key=f"{key}:{payment.id}", reason=reason)
        if entry is not None:
            entries.append(entry)
        left -= share
    return entries


def entry_by_key(*, session: Session, provider: str, key: str) -> PaymentEntry | None:
    """The entry a form or notification already recorded, so sending it again changes nothing."""
    return session.scalars(select(PaymentEntry).where(PaymentEntry.provider == provider,
                                                      PaymentEntry.provider_reference == (key or "").strip())).first()


def record_authorisation(*, session: Session, principal: Principal, payment_id: int, amount, method: str,
                         key: str) -> PaymentEntry:
    """A deposit held at the till (a card terminal's pre-authorisation, or cash kept aside)."""
    payment = get(session=session, payment_id=payment_id)
    check_cashier(principal, payment.payee_id)
    if payment.provider != MANUAL or payment.capture != "manual":
        raise Conflict(_("Only a deposit taken at the till is held by hand."))
    if (done := _same_fact(session, MANUAL, key, payment, "authorisation")) is not None:
        return done
    entry = _add(session, payment, kind="authorisation", amount=money(amount), provider_reference=key.strip(),
                 method=_method(method), recorded_by_user_id=principal.user_id)
    payment.status = "authorised"
    _audit(session, principal, "payment.authorisation", payment, entry)
    return entry


def capture(*, session: Session, gateway: Gateway, principal: Principal, payment_id: int, amount,
            key: str) -> PaymentEntry | None:
    """Keep part (or all) of a held deposit; the rest is released. A card capture is recorded when the
    provider confirms it."""
    payment = get(session=session, payment_id=payment_id)
    if principal.organization_id != payment.payee_id or not principal.role.is_staff:
        raise NotFound(_("Payment not found"))
    held = balance_of(session=session, payment=payment).held
    amount = money(amount)
    if payment.status != "authorised" or not 0 <= amount <= held:
        raise Conflict(_("Only a held deposit can be captured, up to %(held)s.", held=euros(held)))
    if payment.provider != MANUAL:
        gateway.provider(payment.provider).capture(payment=payment, amount=amount, key=key)
        return None
    check_cashier(principal, payment.payee_id)
    if (done := _same_fact(session, MANUAL, key, payment, "receipt")) is not None:
        return done
    entry = _add(session, payment, kind="receipt", amount=amount, provider_reference=key.strip(), method="",
                 recorded_by_user_id=principal.user_id, note="captured from the held deposit")
    if held > amount:
        _add(session, payment, kind="release", amount=held - amount, provider_reference=f"{key.strip()}:rest",
             recorded_by_user_id=principal.user_id)
    payment.status = "paid"
    _audit(session, principal, "payment.capture", payment, entry)
    return entry


def release(*, session: Session, gateway: Gateway, principal: Principal, payment_id: int,
            key: str) -> PaymentEntry | None:
    """Give a held deposit back untouched."""
    payment = get(session=session, payment_id=payment_id)
    if principal.organization_id != payment.payee_id or not principal.role.is_staff:
        raise NotFound(_("Payment not found"))
    if payment.status != "authorised":
        raise Conflict(_("Only a held deposit can be released."))
    if payment.provider != MANUAL:
        gateway.provider(payment.provider).release(payment=payment, key=key)
        return None
    check_cashier(principal, payment.payee_id)
    entry = _add(session, payment, kind="release", amount=balance_of(session=session, payment=payment).held,
                 provider_reference=key.strip(), recorded_by_user_id=principal.user_id)
    payment.status = "cancelled"
    _audit(session, principal, "payment.release", payment, entry)
    return entry


def cancel_open(*, session: Session, subject_kind: str, subject_id: int) -> None:
    """Requests nobody paid are closed with their subject (a cancelled order takes no more money)."""
    for payment in payments_of(session=session, subject_kind=subject_kind, subject_id=subject_id):
        if payment.status == "open" and balance_of(session=session, payment=payment).received == 0:
            payment.status, payment.updated_at = "cancelled", now()
    session.flush()


# --- what the card provider confirms -------------------------------------------------------------

def receive_notification(*, session: Session, gateway: Gateway, provider: str, payload: bytes,
                         signature: str | None) -> list[PaymentEntry]:
    """A provider's webhook. Its signature is verified before anything is read; each fact it carries is
    recorded once, however often it is delivered."""
    facts = gateway.provider(provider).confirmations(payload=payload, signature=signature)
    recorded = []
    for fact in facts:
        payment = session.scalars(select(Payment).where(Payment.provider == provider,
                                                        Payment.provider_reference == fact.provider_reference)).first()
        if payment is None or fact.currency != payment.currency:
            continue  # not ours (another system on the same account), or not what we asked for
        entry = _apply(session, payment, fact)
        if entry is not None:
            recorded.append(entry)
    return recorded


def _apply(session: Session, payment: Payment, fact: Confirmed) -> PaymentEntry | None:
    existing = session.scalars(select(PaymentEntry).where(PaymentEntry.provider == payment.provider,
                                                          PaymentEntry.provider_reference == fact.fact)).first()
    if existing is not None:
        return None
    balance = balance_of(session=session, payment=payment)
    if fact.kind == "cancelled":
        amount, kind = balance.held, "release"
        payment.status = "cancelled" if balance.received == 0 else payment.status
        if amount <= 0:
            payment.updated_at = now()
            session.flush()
            return None
    else:
        amount, kind = money(fact.amount), fact.kind
    try:
        with session.begin_nested():
            entry = _add(session, payment, kind=kind, amount=amount, provider_reference=fact.fact, method="card",
                         details=fact.details)
    except IntegrityError:  # the same fact arrived twice at the same moment: the other delivery recorded it
        return None
    if kind == "receipt":
        payment.status = "paid"
    elif kind == "authorisation" and payment.status == "open":
        payment.status = "authorised"
    session.flush()
    return entry


# --- the customer's rights -----------------------------------------------------------------------

def export_of(*, session: Session, customer_id: int) -> list[dict]:
    """The customer's payments with their entries (no card data is ever stored)."""
    payments = list(session.scalars(select(Payment).where(Payment.customer_id == customer_id).order_by(Payment.id)))
    entries = entries_of(session=session, payment_ids=[p.id for p in payments])
    return [plain_row(p, skip=("client_secret",)) | {"entries": [plain_row(e, skip=("recorded_by_user_id",))
                                                                  for e in entries if e.payment_id == p.id]}
            for p in payments]


def erase_customer(*, session: Session, customer_id: int) -> int:
    """Payments stay in the payee's books (tax law); they stop naming the person."""
    count = 0
    for payment in session.scalars(select(Payment).where(Payment.customer_id == customer_id)):
        payment.customer_id, payment.client_secret = None, None
        count += 1
    session.flush()
    return count

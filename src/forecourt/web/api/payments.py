"""JSON routes: money — the card provider's notifications, a dealer's till, the carmaker's payments desk.

The notification route is open to the internet and trusts nothing but the signature: an unsigned or
wrongly signed body is answered 400 and changes nothing. The till and the desk belong to the payee's
cashiers; for anyone else their payments do not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from forecourt.core.errors import Invalid
from forecourt.core.schemas import Id
from forecourt.payments import desk
from forecourt.payments import service as payments_service
from forecourt.payments.schemas import EntryOut, PaymentOut, ReceiptIn, RefundIn, ReversalIn
from forecourt.sales import orders, till
from forecourt.sales.schemas.orders import TillOrderDetailOut, TillOrderOut
from forecourt.web.deps import Admin, Cashier, DbSession, PaymentGateway
from forecourt.web.openapi import answers

router = APIRouter(prefix="/api", tags=["payments"])


# --- the card provider ---------------------------------------------------------------------------

@router.post("/payments/stripe/webhook", responses=answers(400, 404))
async def card_notification(request: Request, session: DbSession, gateway: PaymentGateway):
    """Stripe's webhook: verified with the endpoint secret before anything in it is read."""
    payload = await request.body()
    try:
        recorded = payments_service.receive_notification(session=session, gateway=gateway, provider="stripe",
                                                         payload=payload,
                                                         signature=request.headers.get("stripe-signature"))
    except Invalid as refused:
        raise HTTPException(status_code=400, detail=refused.message) from None
    return {"recorded": len(recorded)}


# --- a dealer's till -----------------------------------------------------------------------------

def _till_view(session, order, with_entries: bool = False) -> dict:
    view = orders.describe(session=session, order=order)
    if not with_entries:
        view.pop("payments")
    return view


@router.get("/till/orders", response_model=list[TillOrderOut])
def till_orders(principal: Cashier, session: DbSession):
    return [_till_view(session, o) for o in till.list_orders(session=session, principal=principal)]


@router.get("/till/orders/{number}", response_model=TillOrderDetailOut)
def till_order(number: str, principal: Cashier, session: DbSession):
    return _till_view(session, till.open_order(session=session, principal=principal, number=number), True)


@router.post("/till/orders/{number}/receipts", response_model=EntryOut, status_code=status.HTTP_201_CREATED)
def record_receipt(number: str, body: ReceiptIn, principal: Cashier, session: DbSession, gateway: PaymentGateway):
    """Money the buyer paid at the till or by transfer; sending the same key twice records it once."""
    return till.record_receipt(session=session, gateway=gateway, principal=principal, number=number,
                               amount=body.amount, method=body.method, key=body.key, note=body.note)


@router.post("/till/orders/{number}/receipts/{entry_id}/reversal", response_model=EntryOut,
             status_code=status.HTTP_201_CREATED)
def reverse_receipt(number: str, entry_id: Id, body: ReversalIn, principal: Cashier, session: DbSession):
    """A receipt recorded by mistake; it stays in the ledger with its reversal beside it."""
    return till.reverse_receipt(session=session, principal=principal, number=number, entry_id=entry_id,
                                reason=body.reason)


@router.post("/till/orders/{number}/refunds", response_model=list[EntryOut], status_code=status.HTTP_201_CREATED)
def refund(number: str, body: RefundIn, principal: Cashier, session: DbSession, gateway: PaymentGateway):
    """Money handed back for a cancelled order."""
    return till.refund(session=session, gateway=gateway, principal=principal, number=number, amount=body.amount,
                       key=body.key, reason=body.reason)


# --- the carmaker's payments desk (On Call renewals paid by transfer) ---------------------------

@router.get("/admin/payments", response_model=list[PaymentOut])
def desk_payments(principal: Admin, session: DbSession, state: str | None = None):
    """What is owed to the carmaker (``?state=open``: waiting for the money)."""
    return desk.list_for_payee(session=session, principal=principal, status=state)


@router.post("/admin/payments/{reference}/receipts", response_model=EntryOut, status_code=status.HTTP_201_CREATED)
def desk_receipt(reference: str, body: ReceiptIn, principal: Admin, session: DbSession):
    """A bank transfer quoting the payment's reference arrived."""
    return desk.desk_receipt(session=session, principal=principal, reference=reference,
                                         amount=body.amount, method=body.method, key=body.key, note=body.note)


@router.post("/admin/payments/{reference}/entries/{entry_id}/reversal", response_model=EntryOut,
             status_code=status.HTTP_201_CREATED)
def desk_reversal(reference: str, entry_id: Id, body: ReversalIn, principal: Admin, session: DbSession):
    return desk.desk_reversal(session=session, principal=principal, reference=reference,
                                          entry_id=entry_id, reason=body.reason)


@router.post("/admin/payments/{reference}/refunds", response_model=EntryOut | None,
             status_code=status.HTTP_201_CREATED)
def desk_refund(reference: str, body: RefundIn, principal: Admin, session: DbSession, gateway: PaymentGateway):
    """Money back (by card through the provider; by hand for a transfer): the period it bought stops counting."""
    return desk.desk_refund(session=session, gateway=gateway, principal=principal, reference=reference,
                                        amount=body.amount, key=body.key, reason=body.reason)

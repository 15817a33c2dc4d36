"""JSON routes: On Call — the owner's subscriptions (status per car, renewals paid through the payments interface)."""

from __future__ import annotations

from fastapi import APIRouter, status

from forecourt.assist import subscriptions
from forecourt.assist.schemas.subscriptions import CarOnCallOut, RenewalIn, RenewalOut
from forecourt.core.clock import today
from forecourt.web.deps import DbSession, Me, PaymentGateway

router = APIRouter(prefix="/api", tags=["on call: subscriptions"])


@router.get("/me/on-call", response_model=list[CarOnCallOut])
def my_on_call(me: Me, session: DbSession):
    return subscriptions.overview_for_owner(session=session, customer_id=me.customer_id, today=today())


@router.post("/me/on-call/{vin}/renewals", response_model=RenewalOut, status_code=status.HTTP_201_CREATED)
def renew_on_call(vin: str, body: RenewalIn, me: Me, session: DbSession, gateway: PaymentGateway):
    """A renewal to pay for: it extends On Call once the card provider confirms the payment, or once the
    carmaker records the bank transfer quoting the payment's reference."""
    return subscriptions.buy(session=session, gateway=gateway, customer_id=me.customer_id, vin=vin, plan=body.plan,
                             years=body.years)

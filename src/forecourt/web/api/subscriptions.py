"""JSON routes: On Call — the owner's subscriptions (status per car, paid renewals in test mode)."""

from __future__ import annotations

from fastapi import APIRouter, status

from forecourt.assist import subscriptions
from forecourt.assist.subscription_schemas import CarOnCallOut, RenewalIn, SubscriptionOut
from forecourt.core.clock import today
from forecourt.web.deps import DbSession, Me

router = APIRouter(prefix="/api", tags=["on call: subscriptions"])


@router.get("/me/on-call", response_model=list[CarOnCallOut])
def my_on_call(me: Me, session: DbSession):
    return subscriptions.overview_for_owner(session=session, customer_id=me.customer_id, today=today())


@router.post("/me/on-call/{vin}/renewals", response_model=SubscriptionOut, status_code=status.HTTP_201_CREATED)
def renew_on_call(vin: str, body: RenewalIn, me: Me, session: DbSession):
    """Test mode: no card provider is connected, so the payment is recorded as received."""
    vehicle = subscriptions.vehicle_of_owner(session=session, customer_id=me.customer_id, vin=vin)
    buy = subscriptions.phone_app_plan if body.plan == "phone_app" else subscriptions.renew
    return buy(session=session, customer_id=me.customer_id, vehicle_id=vehicle.id, years=body.years,
               payment_reference=body.payment_reference)

"""JSON routes: On Call for the owner — subscriptions (status per car, renewals paid through the payments
interface), and SOS from the phone app with the case it opened."""

from __future__ import annotations

from fastapi import APIRouter, status

from forecourt.assist import sos, subscriptions
from forecourt.assist.schemas.cases import DriverCaseOut, SosIn
from forecourt.assist.schemas.subscriptions import CarOnCallOut, RenewalIn, RenewalOut
from forecourt.core.clock import today
from forecourt.web import openapi
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


@router.post("/me/vehicles/{vin}/sos", response_model=DriverCaseOut, status_code=status.HTTP_201_CREATED,
             responses=openapi.answers(404))
def call_for_help(vin: str, body: SosIn, me: Me, session: DbSession):
    """SOS pressed in the phone app: opens (or joins) the car's On Call case whatever the subscription."""
    case = sos.call_for_help(session=session, principal=me, vin=vin, latitude=body.latitude,
                             longitude=body.longitude, accuracy_m=body.accuracy_m)
    session.flush()
    return sos.driver_view(session=session, principal=me, number=case.number)


@router.get("/me/on-call/cases/{number}", response_model=DriverCaseOut, responses=openapi.answers(404))
def my_case(number: str, me: Me, session: DbSession):
    """Where the driver's own case stands and who is coming."""
    return sos.driver_view(session=session, principal=me, number=number)

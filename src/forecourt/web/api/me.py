"""The customer's own data: profile, preferences, cars, who may see what, who looked, export, erase."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from forecourt.consent import service as consent_service
from forecourt.consent.schemas import AccessOut, ConsentRow, GrantIn, GrantOut, ReceiptOut
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.core.schemas import Id, Offset
from forecourt.customers import service as customers_service
from forecourt.customers.schemas import CustomerOut, PreferencesIn, PreferencesOut, ProfileIn
from forecourt.parties import service as parties_service
from forecourt.privacy import customer360, rights
from forecourt.privacy.schemas import ExportDocument, VehicleWithOwnership
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.schemas.cars import ServiceDealerIn, ServiceRecordOut, VehicleOut
from forecourt.web.deps import DbSession, Me
from forecourt.web.serialise import export_response, vehicle_with_ownership

router = APIRouter(prefix="/api/me", tags=["my data"])


@router.get("", response_model=CustomerOut)
def my_profile(me: Me, session: DbSession):
    return customers_service.get(session=session, customer_id=me.customer_id)


@router.patch("", response_model=CustomerOut)
def update_my_profile(body: ProfileIn, me: Me, session: DbSession):
    return customers_service.update_profile(session=session, customer_id=me.customer_id,
                                            changes=body.model_dump(exclude_unset=True))


@router.get("/preferences", response_model=PreferencesOut)
def my_preferences(me: Me, session: DbSession):
    return customers_service.get_preferences(session=session, customer_id=me.customer_id)


@router.patch("/preferences", response_model=PreferencesOut)
def update_my_preferences(body: PreferencesIn, me: Me, session: DbSession):
    return customers_service.update_preferences(session=session, customer_id=me.customer_id,
                                                changes=body.model_dump(exclude_unset=True))


@router.get("/vehicles", response_model=list[VehicleWithOwnership])
def my_vehicles(me: Me, session: DbSession, include_past: bool = False):
    pairs = vehicles_service.vehicles_of(session=session, customer_id=me.customer_id, current_only=not include_past)
    return [vehicle_with_ownership(v, o) for v, o in pairs]


@router.get("/vehicles/{vin}/service-history", response_model=list[ServiceRecordOut])
def my_service_history(vin: str, me: Me, session: DbSession):
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    return vehicles_service.service_history_for_owner(session=session, customer_id=me.customer_id, vehicle=vehicle)


@router.patch("/vehicles/{vin}", response_model=VehicleOut)
def choose_my_service_dealer(vin: str, body: ServiceDealerIn, me: Me, session: DbSession):
    dealer = parties_service.get_organization(session=session, organization_id=body.service_dealer_id)
    if dealer.kind != "dealer" or not dealer.is_active:
        raise Invalid(_("Choose an active dealer as your service dealer."), field="service_dealer_id")
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    return vehicles_service.choose_service_dealer(session=session, customer_id=me.customer_id, vehicle=vehicle,
                                                  dealer_id=dealer.id)


@router.get("/consents", response_model=list[ConsentRow])
def my_consents(me: Me, session: DbSession):
    return customer360.consent_matrix(session=session, customer_id=me.customer_id)


@router.put("/consents/{organization_id}/{purpose}", response_model=GrantOut)
def give_consent(organization_id: Id, purpose: str, me: Me, session: DbSession, body: GrantIn | None = None):
    return consent_service.give(session=session, customer_id=me.customer_id, organization_id=organization_id,
                                purpose_code=purpose, notice_version=body.notice_version if body else None,
                                language=body.language if body else None, method="api", recorded_by=me.user_id)


@router.delete("/consents/{organization_id}/{purpose}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_consent(organization_id: Id, purpose: str, me: Me, session: DbSession):
    consent_service.withdraw(session=session, customer_id=me.customer_id, organization_id=organization_id,
                             purpose_code=purpose, method="api", recorded_by=me.user_id)


@router.get("/consent-receipts", response_model=list[ReceiptOut])
def my_consent_receipts(me: Me, session: DbSession):
    return consent_service.ledger_of(session=session, customer_id=me.customer_id)


@router.get("/access-log", response_model=list[AccessOut])
def who_looked(me: Me, session: DbSession, limit: int = Query(default=200, ge=1, le=1000), offset: Offset = 0):
    return customers_service.access_log(session=session, customer_id=me.customer_id, limit=limit, offset=offset)


@router.get("/export")
def download_my_data(me: Me, session: DbSession) -> Response:
    return export_response(rights.export(session=session, customer_id=me.customer_id), me.customer_id)


@router.get("/export/schema")
def export_schema(me: Me) -> dict:
    """The JSON Schema every export conforms to, for tools that read it."""
    return ExportDocument.model_json_schema()


@router.post("/erase")
def erase_me(me: Me, session: DbSession) -> dict:
    return rights.erase(session=session, customer_id=me.customer_id)

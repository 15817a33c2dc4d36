"""The customer 360: everything one steward may see about one customer for a stated purpose, and the
customer's own views that span domains (their cars with the dealers' names, who may see what).

Each section comes from the domain that keeps it, read through its public functions; the consent door
(``customers.service.open_for``) is passed first, so a section the purpose does not open is never read.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.consent.catalogue import PREFERENCES, SALES_HISTORY, SERVICE_HISTORY, VEHICLES
from forecourt.core.auth import Principal
from forecourt.core.clock import now
from forecourt.core.errors import NotFound
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.sales import records as sales_records
from forecourt.vehicles import service as vehicles_service


def customer_360(*, session: Session, principal: Principal, customer_id: int, purpose: str) -> dict:
    """Everything this principal may see about one customer, for the stated purpose."""
    customer, categories = customers_service.open_for(session=session, principal=principal,
                                                      customer_id=customer_id, purpose=purpose, what="customer 360")
    view: dict = {"customer": customer, "purpose": purpose, "categories": categories,
                  "vehicles": [], "service_history": [], "preferences": None, "sales": None, "consents": []}
    if VEHICLES in categories or SERVICE_HISTORY in categories:
        cars = vehicles_service.vehicles_of(session=session, customer_id=customer.id)
        view["vehicles"] = [{"vehicle": vehicle, "ownership": ownership} for vehicle, ownership in cars]
        if SERVICE_HISTORY in categories:
            histories = vehicles_service.service_histories(session=session,
                                                           vehicle_ids=[vehicle.id for vehicle, _ in cars])
            for vehicle, _ in cars:
                view["service_history"].extend(histories[vehicle.id])
    if PREFERENCES in categories:
        view["preferences"] = customers_service.get_preferences(session=session, customer_id=customer.id)
    if SALES_HISTORY in categories and principal.organization_id is not None:
        view["sales"] = sales_records.sales_history(session=session, customer_id=customer.id,
                                                    dealer_id=principal.organization_id)
    view["consents"] = consent_service.grants_of(session=session, customer_id=customer.id,
                                                 organization_id=principal.organization_id)
    return view


def cars_of(*, session: Session, customer_id: int, include_past: bool = False) -> list[dict]:
    """The customer's own cars with the dealers who sold and service them, named for the portal."""
    names: dict[int, str] = {}

    def name(organization_id: int | None) -> str | None:
        if organization_id is None:
            return None
        if organization_id not in names:
            names[organization_id] = parties_service.get_organization(
                session=session, organization_id=organization_id).name
        return names[organization_id]

    return [dict(vehicle=vehicle, owned_since=ownership.started_at, owned_until=ownership.ended_at,
                 selling_dealer=name(vehicle.selling_dealer_id), service_dealer=name(vehicle.service_dealer_id))
            for vehicle, ownership in vehicles_service.vehicles_of(session=session, customer_id=customer_id,
                                                                  current_only=not include_past)]


def consent_matrix(*, session: Session, customer_id: int, extra_organization_ids: tuple[int, ...] = ()) -> list[dict]:
    """"Who can see my data": the organizations that matter to this customer × every consent purpose.

    That is the carmaker, the dealers who sold or service their cars, any organization already
    holding a grant, and any the customer asked to add.
    """
    grants = {(g.organization_id, g.purpose_code): g
              for g in consent_service.grants_of(session=session, customer_id=customer_id)}
    organization_ids = {org_id for org_id, _ in grants} | set(extra_organization_ids)
    try:
        organization_ids.add(parties_service.carmaker(session=session).id)
    except NotFound:
        pass
    for vehicle, _ in vehicles_service.vehicles_of(session=session, customer_id=customer_id):
        organization_ids.update(i for i in (vehicle.selling_dealer_id, vehicle.service_dealer_id) if i)
    organizations = sorted((parties_service.get_organization(session=session, organization_id=i)
                            for i in organization_ids),
                           key=lambda o: ({"carmaker": 0, "dealer": 1, "partner": 2}[o.kind], o.name))
    purposes = [p for p in consent_service.list_purposes(session=session) if p.needs_consent]
    rows = []
    for organization in organizations:
        for purpose in purposes:
            grant = grants.get((organization.id, purpose.code))
            active = (grant is not None and grant.withdrawn_at is None
                      and (grant.expires_at is None or grant.expires_at > now()))
            rows.append(dict(organization_id=organization.id, organization_name=organization.name,
                             organization_kind=organization.partner_kind or organization.kind,
                             purpose_code=purpose.code, purpose_name=purpose.name, granted=active,
                             granted_at=grant.granted_at if active else None,
                             notice_version=grant.notice_version if active else None))
    return rows

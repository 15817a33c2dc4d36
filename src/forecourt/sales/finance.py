"""Finance contracts: the loans and leases finance partners granted for cars on the platform.

A finance partner records a contract for a car it financed, naming the car by its VIN; the contract
is the current owner's. The partner's staff may do so only for an owner who granted that partner the
purpose finance partners read for (``marketing_offers``, ``consent.catalogue.ROLE_PURPOSES``): the
same door that lets it write to them when the contract ends. For anyone else — another partner, a
dealer, an owner without that grant, an unknown VIN — the car does not exist (404).

Recording publishes ``FinanceContractRecorded``, so a contract already near its end opens its
occasion at once; the daily job finds the others when their window opens.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import events
from forecourt.core.auth import Principal, Role
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import N_, _
from forecourt.core.money import check_currency
from forecourt.core.schemas import check_period
from forecourt.parties import service as parties_service
from forecourt.sales.events import FinanceContractRecorded
from forecourt.sales.models import FinanceContract
from forecourt.vehicles import service as vehicles_service

PURPOSE = "marketing_offers"
PRODUCTS = {"loan": N_("Loan"), "lease": N_("Lease"), "balloon": N_("Balloon financing")}
LONGEST_YEARS = 10


def _finance_partner(session: Session, principal: Principal) -> int:
    """The principal's finance partner; any other caller finds no contracts at all."""
    if principal.role is not Role.PARTNER_ANALYST or principal.organization_id is None:
        raise NotFound("Finance contract not found")
    organization = parties_service.get_organization(session=session, organization_id=principal.organization_id)
    if organization.kind != "partner" or organization.partner_kind != "finance":
        raise NotFound("Finance contract not found")
    return organization.id


def _check(product: str, starts_on: date, ends_on: date, monthly_amount: Decimal, currency: str) -> str:
    if product not in PRODUCTS:
        raise Invalid(_("The product is one of %(values)s.", values=", ".join(PRODUCTS)), field="product")
    if ends_on <= starts_on:
        raise Invalid(_("The contract ends after it starts; choose an end date after the start date."),
                      field="ends_on")
    problem = check_period(starts_on, ends_on)
    if problem:
        raise Invalid(problem, field="ends_on")
    if monthly_amount <= 0:
        raise Invalid(_("Give the monthly amount the customer pays."), field="monthly_amount")
    return check_currency((currency or "").upper())


def record(*, session: Session, principal: Principal, vin: str, product: str, starts_on: date, ends_on: date,
           monthly_amount: Decimal, currency: str, reference: str = "") -> FinanceContract:
    """Records a contract for the car's current owner, who must have granted this partner its purpose."""
    organization_id = _finance_partner(session, principal)
    currency = _check(product, starts_on, ends_on, monthly_amount, currency)
    try:
        vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    except (NotFound, Invalid):
        raise NotFound("Vehicle not found") from None
    customer_id = vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id)
    if customer_id is None:
        raise NotFound("Vehicle not found")
    try:
        consent_service.require(session=session, principal=principal, customer_id=customer_id, purpose=PURPOSE,
                                what="finance contract")
    except NotFound:
        raise NotFound("Vehicle not found") from None
    return enter(session=session, organization_id=organization_id, vehicle_id=vehicle.id, customer_id=customer_id,
                 product=product, reference=reference, starts_on=starts_on, ends_on=ends_on,
                 monthly_amount=monthly_amount, currency=currency)


def enter(*, session: Session, organization_id: int, vehicle_id: int, customer_id: int, product: str,
          starts_on: date, ends_on: date, monthly_amount: Decimal, currency: str,
          reference: str = "") -> FinanceContract:
    """Writes a contract whose partner, car and owner are already settled (``record``, the demo)."""
    currency = _check(product, starts_on, ends_on, monthly_amount, currency)
    contract = FinanceContract(organization_id=organization_id, vehicle_id=vehicle_id, customer_id=customer_id,
                               product=product, reference=(reference or "").strip(), starts_on=starts_on,
                               ends_on=ends_on, monthly_amount=monthly_amount, currency=currency)
    session.add(contract)
    session.flush()
    events.publish(session, FinanceContractRecorded(contract_id=contract.id, vehicle_id=vehicle_id,
                                                    customer_id=customer_id, organization_id=organization_id))
    return contract


def list_own(*, session: Session, principal: Principal, limit: int = 200) -> list[FinanceContract]:
    organization_id = _finance_partner(session, principal)
    return list(session.scalars(select(FinanceContract).where(FinanceContract.organization_id == organization_id)
                                .order_by(FinanceContract.ends_on, FinanceContract.id).limit(limit)))


def get_own(*, session: Session, principal: Principal, contract_id: int) -> FinanceContract:
    organization_id = _finance_partner(session, principal)
    contract = session.get(FinanceContract, contract_id)
    if contract is None or contract.organization_id != organization_id:
        raise NotFound("Finance contract not found")
    return contract


def to_out(contract: FinanceContract, *, vin: str) -> dict:
    return {"id": contract.id, "vin": vin, "product": contract.product, "reference": contract.reference,
            "starts_on": contract.starts_on, "ends_on": contract.ends_on,
            "monthly_amount": contract.monthly_amount, "currency": contract.currency,
            "customer_id": contract.customer_id}


def vins_of(*, session: Session, contracts: list[FinanceContract]) -> dict[int, str]:
    cars = vehicles_service.get_many(session=session, vehicle_ids={c.vehicle_id for c in contracts})
    return {vehicle_id: car.vin for vehicle_id, car in cars.items()}


# --- for engagement ------------------------------------------------------------------------------

def running_of(*, session: Session, vehicle_ids: list[int], customer_ids: dict[int, int],
               today: date) -> dict[int, list[FinanceContract]]:
    """The contracts of each car's current owner that have not ended by ``today``."""
    found: dict[int, list[FinanceContract]] = {}
    if not vehicle_ids:
        return found
    for contract in session.scalars(select(FinanceContract).where(
            FinanceContract.vehicle_id.in_(vehicle_ids), FinanceContract.ends_on >= today)
            .order_by(FinanceContract.ends_on)):
        if customer_ids.get(contract.vehicle_id) == contract.customer_id:
            found.setdefault(contract.vehicle_id, []).append(contract)
    return found


# --- download my data and erasure ----------------------------------------------------------------

def export_of(*, session: Session, customer_id: int) -> list[dict]:
    rows = session.scalars(select(FinanceContract).where(FinanceContract.customer_id == customer_id)
                           .order_by(FinanceContract.id))
    return [{"id": c.id, "customer_id": customer_id, "organization_id": c.organization_id,
             "vehicle_id": c.vehicle_id, "product": c.product, "reference": c.reference, "starts_on": c.starts_on,
             "ends_on": c.ends_on, "monthly_amount": c.monthly_amount, "currency": c.currency,
             "created_at": c.created_at} for c in rows]


def erase_customer(*, session: Session, customer_id: int) -> int:
    """The partner's own books keep the contract; the platform's copy only timed an occasion."""
    contracts = list(session.scalars(select(FinanceContract).where(FinanceContract.customer_id == customer_id)))
    for contract in contracts:
        session.delete(contract)
    session.flush()
    return len(contracts)

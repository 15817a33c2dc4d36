"""JSON routes of finance partners: the loans and leases they granted for cars on the platform.

Only a finance partner's staff have contracts; for anyone else, and for a car whose owner did not
grant that partner its purpose, there is nothing here (404). ``sales.finance`` decides.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from forecourt.core.schemas import Id
from forecourt.sales import finance
from forecourt.sales.schemas.finance import FinanceContractIn, FinanceContractOut
from forecourt.web.deps import DbSession, Staff
from forecourt.web.openapi import answers

router = APIRouter(prefix="/api/finance", tags=["finance"])


@router.get("/contracts", response_model=list[FinanceContractOut], responses=answers(404))
def list_contracts(session: DbSession, principal: Staff) -> list[dict]:
    contracts = finance.list_own(session=session, principal=principal)
    vins = finance.vins_of(session=session, contracts=contracts)
    return [finance.to_out(c, vin=vins[c.vehicle_id]) for c in contracts]


@router.post("/contracts", response_model=FinanceContractOut, status_code=status.HTTP_201_CREATED,
             responses=answers(404, 422))
def record_contract(body: FinanceContractIn, session: DbSession, principal: Staff) -> dict:
    contract = finance.record(session=session, principal=principal, **body.model_dump())
    return finance.to_out(contract, vin=finance.vins_of(session=session, contracts=[contract])[contract.vehicle_id])


@router.get("/contracts/{contract_id}", response_model=FinanceContractOut, responses=answers(404))
def get_contract(contract_id: Id, session: DbSession, principal: Staff) -> dict:
    contract = finance.get_own(session=session, principal=principal, contract_id=contract_id)
    return finance.to_out(contract, vin=finance.vins_of(session=session, contracts=[contract])[contract.vehicle_id])

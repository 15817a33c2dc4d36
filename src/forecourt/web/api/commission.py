"""JSON routes: the carmaker's commission rules (create, change, retire) and monthly statements per dealer."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import Response

from forecourt.core.schemas import Id
from forecourt.sales import commission, statements
from forecourt.sales.schemas.commission import (CommissionRuleChange, CommissionRuleIn, CommissionRuleOut, RetireIn,
                                                StatementRowOut)
from forecourt.web.deps import Admin, DbSession

router = APIRouter(prefix="/api/admin", tags=["sales: commission"])


@router.get("/commission-rules", response_model=list[CommissionRuleOut])
def rules(principal: Admin, session: DbSession, include_retired: bool = True):
    return commission.list_rules(session=session, include_retired=include_retired)


@router.post("/commission-rules", response_model=CommissionRuleOut, status_code=status.HTTP_201_CREATED)
def create_rule(body: CommissionRuleIn, principal: Admin, session: DbSession):
    return commission.create_rule(session=session, principal=principal, **body.model_dump())


@router.patch("/commission-rules/{rule_id}", response_model=CommissionRuleOut)
def change_rule(rule_id: Id, body: CommissionRuleChange, principal: Admin, session: DbSession):
    return commission.change_rule(session=session, principal=principal, rule_id=rule_id,
                                  changes=body.model_dump(exclude_none=True))


@router.post("/commission-rules/{rule_id}/retire", response_model=CommissionRuleOut)
def retire_rule(rule_id: Id, body: RetireIn, principal: Admin, session: DbSession):
    return commission.retire_rule(session=session, principal=principal, rule_id=rule_id, on=body.on)


@router.get("/commission-statements", response_model=list[StatementRowOut])
def network_month(month: str, principal: Admin, session: DbSession):
    """Every dealer's cars, sales and commission in one month (``?month=2025-06``)."""
    rows = statements.network_month(session=session, month=statements.parse_month(month))
    return [dict(dealer_id=r["dealer"].id, dealer=r["dealer"].name, currency=r["currency"], cars=r["cars"],
                 sales=float(r["sales"]),
                 commission=float(r["commission"])) for r in rows]


@router.get("/commission-statements/{dealer_id}/{month}.csv")
def statement_csv(dealer_id: Id, month: str, principal: Admin, session: DbSession):
    document = statements.statement(session=session, dealer_id=dealer_id, month=statements.parse_month(month))
    return Response(statements.as_csv(document), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{statements.file_name(document, "csv")}"'})


@router.get("/commission-statements/{dealer_id}/{month}.pdf")
def statement_pdf(dealer_id: Id, month: str, principal: Admin, session: DbSession):
    document = statements.statement(session=session, dealer_id=dealer_id, month=statements.parse_month(month))
    return Response(statements.as_pdf(document), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{statements.file_name(document, "pdf")}"'})

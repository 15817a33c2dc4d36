"""Pages: the carmaker's commission rules and the monthly statement of each dealer (CSV and PDF)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request

from forecourt.core.clock import today
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.parties import service as parties_service
from forecourt.sales import commission, statements
from forecourt.vehicles import service as vehicles_service
from forecourt.web.deps import AdminPage, DbSession
from forecourt.web.views.forms import Form, attempt, back_to, text
from forecourt.web.views.render import render

router = APIRouter(prefix="/admin/commission", tags=["pages"])


def _number(form, name: str, default=None):
    raw = text(form, name)
    if raw is None:
        return default
    try:
        value = Decimal(raw.replace(",", "."))
        if not value.is_finite():
            raise InvalidOperation(raw)
        return value
    except InvalidOperation:
        label = {"percent": _("Share in percent"), "fixed": _("Amount per car")}.get(name, name)
        raise Invalid(_("Enter a number for %(replace)s.", replace=label), field=name) from None


def _day(form, name: str) -> date | None:
    raw = text(form, name)
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        raise Invalid(_("Enter a date such as 2025-07-01."), field=name) from None


def _id(form, name: str) -> int | None:
    raw = text(form, name)
    return int(raw) if raw and raw.isdigit() else None


@router.get("")
def rules_page(request: Request, principal: AdminPage, session: DbSession, month: str | None = None,
               error: str | None = None):
    try:
        chosen = statements.parse_month(month) if month else today().replace(day=1)
    except Invalid as problem:
        chosen, error = today().replace(day=1), problem.message
    dealers = parties_service.list_organizations(session=session, kind="dealer", active_only=False)
    models = vehicles_service.list_models(session=session)
    return render(request, "admin/commission.html", rules=commission.list_rules(session=session),
                  dealers={d.id: d for d in dealers}, models={m.id: m for m in models},
                  scope_of=commission.scope_of, terms_of=commission.terms_of, month=chosen, error=error,
                  rows=statements.network_month(session=session, month=chosen), today=today(),
                  currency=commission.currency_for(session=session, principal=principal, dealer_id=None))


@router.post("/rules")
def create_rule(principal: AdminPage, session: DbSession, form: Form):
    return attempt(session, "/admin/commission", lambda: commission.create_rule(
        session=session, principal=principal, dealer_id=_id(form, "dealer_id"), model_id=_id(form, "model_id"),
        percent=_number(form, "percent", 0), fixed=_number(form, "fixed", 0), valid_from=_day(form, "valid_from")),
        _("Rule created; it applies to hand-overs from its start date."))


@router.post("/rules/{rule_id}")
def change_rule(rule_id: Id, principal: AdminPage, session: DbSession, form: Form):
    def change():
        changes = {"percent": _number(form, "percent"), "fixed": _number(form, "fixed"),
                   "valid_from": _day(form, "valid_from")}
        return commission.change_rule(session=session, principal=principal, rule_id=rule_id,
                                      changes={k: v for k, v in changes.items() if v is not None})
    return attempt(session, "/admin/commission", change,
                   _("Rule changed; orders already handed over keep what they earned."))


@router.post("/rules/{rule_id}/retire")
def retire_rule(rule_id: Id, principal: AdminPage, session: DbSession, form: Form):
    try:
        on = _day(form, "on")
    except Invalid as problem:
        return back_to("/admin/commission", error=problem.message)
    return attempt(session, "/admin/commission", lambda: commission.retire_rule(
        session=session, principal=principal, rule_id=rule_id, on=on),
        _("Rule retired; the next most specific rule applies from that day."))

"""Pages: sales — the opportunity board, one deal's page with its forms, and the dealer's stage editor.

Every form posts back here and answers 303 to the deal (or re-renders it with the problem named,
422). A deal about a person opens through the consent door, so each page view is in their access log.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request

from forecourt.core.auth import Role
from forecourt.core.clock import as_utc, now, today
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _
from forecourt.core.money import Money
from forecourt.core.money import total as money_total
from forecourt.core.schemas import Id
from forecourt.customers import service as customers_service
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.sales import opportunities as opportunities_service
from forecourt.sales import quotes as quotes_service
from forecourt.sales import stages as stages_service
from forecourt.sales.schemas.opportunities import (ActivityIn, LostIn, OpportunityIn, OpportunityUpdate, QuoteIn,
                                                   StagesIn)
from forecourt.vehicles import service as vehicles_service
from forecourt.web.deps import DbSession, SalesPage
from forecourt.web.views.forms import Form, text, validate
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

NEW_FIELDS = ("kind", "customer_id", "title", "model_id", "configuration_code", "amount", "expected_close",
              "account_name", "quantity", "rfp_reference", "rfp_due", "rfp_requirements")
DETAIL_FIELDS = ("title", "amount", "expected_close", "owner_user_id", "model_id", "account_name", "quantity",
                 "rfp_reference", "rfp_due", "rfp_requirements")
QUOTE_ROWS = 4
STAGE_SPARE_ROWS = 2


def _back(opportunity_id: Id, message: str, anchor: str = "") -> object:
    return redirect(f"/workspace/opportunities/{opportunity_id}?flash={quote_plus(message)}{anchor}")


def _names(session, customer_ids) -> dict[int, str]:
    """Names of customers the caller has just opened through the consent door (no second log row)."""
    names = {}
    for customer_id in set(customer_ids):
        customer = customers_service.get(session=session, customer_id=customer_id)
        names[customer_id] = customer.full_name or customer.email
    return names


def _reps(session, dealer_id: Id):
    return [(u.id, u.display_name) for u in parties_service.list_users(session=session, organization_id=dealer_id)
            if u.role == Role.DEALER_SALES.value and u.is_active]


def _models(session):
    return [(m.id, m.name) for m in vehicles_service.list_models(session=session)]


# --- the board -----------------------------------------------------------------------------------

@router.get("/workspace/opportunities")
def board(request: Request, principal: SalesPage, session: DbSession, show: str = "mine"):
    show = "all" if show == "all" else "mine"
    deals = opportunities_service.list_for_dealer(session=session, principal=principal,
                                                  owner_user_id=principal.user_id if show == "mine" else None)
    names = _names(session, [d.customer_id for d in deals if d.customer_id])
    moment, day = now(), today()
    columns = []
    for stage in stages_service.open_stages(session=session, dealer_id=principal.organization_id):
        cards = [dict(deal=d, who=names.get(d.customer_id) or d.account_name or "—",
                      days=(moment - as_utc(d.stage_entered_at)).days,
                      overdue=d.expected_close is not None and d.expected_close < day)
                 for d in deals if d.stage_code == stage.code]
        columns.append(dict(stage=stage, cards=cards, total=sum(float(c["deal"].amount) for c in cards)))
    currency = markets.market_or_default(session=session, code=parties_service.get_organization(
        session=session, organization_id=principal.organization_id).market).currency
    # One dealer's deals share its market's currency; ``total`` refuses any that does not.
    return render(request, "opportunities/board.html", columns=columns, show=show, count=len(deals), currency=currency,
                  total=money_total((Money.of(d.amount, d.currency) for d in deals), currency))


# --- a new deal ----------------------------------------------------------------------------------

def _new_page(request, session, principal, *, values=None, errors=None, q=None, status_code=200):
    found = []
    if q:
        found, _ = customers_service.list_visible(session=session, principal=principal, purpose="sales_contact",
                                                  q=q, limit=10)
    values = values or {"kind": "retail", "quantity": 1}
    currency = markets.market_or_default(session=session, code=parties_service.get_organization(
        session=session, organization_id=principal.organization_id).market).currency
    return render(request, "opportunities/new.html", status_code=status_code, values=values, errors=errors or {},
                  q=q or "", found=found, models=_models(session), currency=currency)


@router.get("/workspace/opportunities/new")
def new_page(request: Request, principal: SalesPage, session: DbSession, q: str | None = None, kind: str = "retail"):
    return _new_page(request, session, principal, q=(q or "").strip(),
                     values={"kind": "fleet" if kind == "fleet" else "retail", "quantity": 1})


@router.post("/workspace/opportunities")
def create(request: Request, principal: SalesPage, session: DbSession, form: Form):
    values = {name: text(form, name) for name in NEW_FIELDS}
    values["kind"] = values["kind"] or "retail"
    values["quantity"] = values["quantity"] or 1
    body, errors = validate(OpportunityIn, values)
    if not errors:
        try:
            deal = opportunities_service.create(session=session, principal=principal, values=body.model_dump())
        except (Invalid, Conflict) as problem:
            errors = {problem.field or "form": problem.message}
        else:
            return redirect(f"/workspace/opportunities/{deal.id}?flash=" + quote_plus(_('The deal is on the board.')))
    return _new_page(request, session, principal, values=values, errors=errors, status_code=422)


@router.post("/workspace/leads/{lead_id}/convert")
def convert_lead(lead_id: Id, principal: SalesPage, session: DbSession):
    try:
        deal = opportunities_service.open_from_lead(session=session, principal=principal, lead_id=lead_id)
    except opportunities_service.AlreadyConverted as done:
        return _back(done.opportunity_id, done.message)
    except (Invalid, Conflict) as problem:
        return redirect(f"/workspace/leads/{lead_id}?flash={quote_plus(problem.message)}")
    return _back(deal.id, _("The lead is now an opportunity."))


# --- one deal ------------------------------------------------------------------------------------

def _detail_page(request, session, principal, opportunity_id: Id, *, errors=None, form_values=None,
                 status_code=200):
    view = opportunities_service.detail(session=session, principal=principal, opportunity_id=opportunity_id)
    deal = view["opportunity"]
    customer = customers_service.get(session=session, customer_id=deal.customer_id) if deal.customer_id else None
    users = {u.id: u.display_name for u in parties_service.list_users(session=session,
                                                                      organization_id=deal.dealer_id)}
    stage = next((s for s in view["stages"] if s.code == deal.stage_code), None)
    return render(request, "opportunities/detail.html", status_code=status_code, view=view, deal=deal,
                  customer=customer, stage=stage, users=users, reps=_reps(session, deal.dealer_id),
                  models=_models(session), errors=errors or {}, values=form_values or {},
                  lost_reasons=opportunities_service.LOST_REASONS, factors=opportunities_service.BUYING_FACTORS,
                  activity_kinds=opportunities_service.ACTIVITY_KINDS, quote_rows=QUOTE_ROWS,
                  prefill=quotes_service.prefill(session=session, opportunity=deal),
                  overdue=deal.expected_close is not None and deal.expected_close < today())


def _act(request, session, principal, opportunity_id: Id, schema, values: dict, action, done: str,
         anchor: str = ""):
    """Validate, act, then 303 back with ``done``; or the deal page again with the problem, 422."""
    body, errors = validate(schema, values) if schema is not None else (None, {})
    if not errors:
        try:
            action(body)
        except Invalid as problem:
            errors = {problem.field or "form": problem.message}
        else:
            return _back(opportunity_id, done, anchor)
    return _detail_page(request, session, principal, opportunity_id, errors=errors, form_values=values,
                        status_code=422)


@router.get("/workspace/opportunities/{opportunity_id}")
def detail(request: Request, opportunity_id: Id, principal: SalesPage, session: DbSession):
    return _detail_page(request, session, principal, opportunity_id)


@router.post("/workspace/opportunities/{opportunity_id}/details")
def save_details(request: Request, opportunity_id: Id, principal: SalesPage, session: DbSession, form: Form):
    values = {name: text(form, name) for name in DETAIL_FIELDS if name in form}
    return _act(request, session, principal, opportunity_id, OpportunityUpdate, values,
                lambda body: opportunities_service.update(session=session, principal=principal,
                                                          opportunity_id=opportunity_id,
                                                          changes=body.model_dump(exclude_unset=True)),
                _("The details are saved."))


@router.post("/workspace/opportunities/{opportunity_id}/factors")
def save_factors(request: Request, opportunity_id: Id, principal: SalesPage, session: DbSession, form: Form):
    chosen = {key: form.get(f"covered_{key}") == "yes" for key in opportunities_service.BUYING_FACTORS
              if form.get(f"decides_{key}") == "yes"}
    return _act(request, session, principal, opportunity_id, OpportunityUpdate, {"buying_factors": chosen},
                lambda body: opportunities_service.update(session=session, principal=principal,
                                                          opportunity_id=opportunity_id,
                                                          changes={"buying_factors": body.buying_factors}),
                _("The buying factors are saved."), "#factors")


@router.post("/workspace/opportunities/{opportunity_id}/stage")
def move(request: Request, opportunity_id: Id, principal: SalesPage, session: DbSession, form: Form):
    values = {"stage_code": text(form, "stage_code")}
    return _act(request, session, principal, opportunity_id, None, values,
                lambda _: opportunities_service.move(session=session, principal=principal,
                                                     opportunity_id=opportunity_id,
                                                     stage_code=values["stage_code"] or ""),
                _("The deal has moved."))


@router.post("/workspace/opportunities/{opportunity_id}/activities")
def log_activity(request: Request, opportunity_id: Id, principal: SalesPage, session: DbSession, form: Form):
    values = {name: text(form, name) for name in ("kind", "notes", "happened_at", "model_id")}
    values["notes"] = values["notes"] or ""
    return _act(request, session, principal, opportunity_id, ActivityIn, values,
                lambda body: opportunities_service.log_activity(session=session, principal=principal,
                                                                opportunity_id=opportunity_id, **body.model_dump()),
                _("The activity is logged."), "#activities")


@router.post("/workspace/opportunities/{opportunity_id}/won")
def win(request: Request, opportunity_id: Id, principal: SalesPage, session: DbSession):
    return _act(request, session, principal, opportunity_id, None, {},
                lambda _: opportunities_service.win(session=session, principal=principal,
                                                    opportunity_id=opportunity_id),
                _("Congratulations: the deal is won."))


@router.post("/workspace/opportunities/{opportunity_id}/lost")
def lose(request: Request, opportunity_id: Id, principal: SalesPage, session: DbSession, form: Form):
    values = {"reason": text(form, "reason"), "post_mortem": text(form, "post_mortem") or ""}
    return _act(request, session, principal, opportunity_id, LostIn, values,
                lambda body: opportunities_service.lose(session=session, principal=principal,
                                                        opportunity_id=opportunity_id, reason=body.reason,
                                                        post_mortem=body.post_mortem),
                _("The deal is closed as lost; the reason is recorded."))


def _quote_lines(form) -> list[dict]:
    lines = []
    columns = ("configuration_code", "description", "quantity", "unit_price", "discount_percent")
    for row in zip(*(form.getlist(f"line_{c}") for c in columns), strict=False):
        line = {c: (str(v).strip() or None) for c, v in zip(columns, row, strict=True)}
        if any(line[c] for c in ("configuration_code", "description", "unit_price")):
            line["quantity"] = line["quantity"] or 1
            line["discount_percent"] = line["discount_percent"] or 0
            lines.append(line)
    return lines


@router.post("/workspace/opportunities/{opportunity_id}/quotes")
def add_quote(request: Request, opportunity_id: Id, principal: SalesPage, session: DbSession, form: Form):
    values = {"lines": _quote_lines(form), "valid_until": text(form, "valid_until"),
              "note": text(form, "note") or ""}
    return _act(request, session, principal, opportunity_id, QuoteIn, values,
                lambda body: quotes_service.add_quote(session=session, principal=principal,
                                                      opportunity_id=opportunity_id,
                                                      lines=[line.model_dump() for line in body.lines],
                                                      valid_until=body.valid_until, note=body.note),
                _("A new quote version is ready."), "#quotes")


@router.post("/workspace/opportunities/{opportunity_id}/quotes/{version}/send")
def send_quote(request: Request, opportunity_id: Id, version: Id, principal: SalesPage, session: DbSession):
    return _act(request, session, principal, opportunity_id, None, {},
                lambda _: quotes_service.send(session=session, principal=principal, opportunity_id=opportunity_id,
                                              version=version),
                _("Version %(version)s is marked as sent.", version=version), "#quotes")


@router.post("/workspace/opportunities/{opportunity_id}/quotes/{version}/accept")
def accept_quote(request: Request, opportunity_id: Id, version: Id, principal: SalesPage, session: DbSession):
    return _act(request, session, principal, opportunity_id, None, {},
                lambda _: quotes_service.accept(session=session, principal=principal, opportunity_id=opportunity_id,
                                                version=version),
                _("Version %(version)s is accepted; its total is now the deal's amount.", version=version), "#quotes")


# --- the dealer's sales process ------------------------------------------------------------------

def _stage_rows(session, dealer_id: Id) -> list[dict]:
    rows = [dict(code=s.code, name=s.name, probability=s.probability, position=i)
            for i, s in enumerate(stages_service.open_stages(session=session, dealer_id=dealer_id), start=1)]
    return rows + [dict(code="", name="", probability="", position=len(rows) + i)
                   for i in range(1, STAGE_SPARE_ROWS + 1)]


def _stages_page(request, session, principal, *, rows=None, won_name=None, lost_name=None, error=None,
                 status_code=200):
    current = stages_service.stages_for(session=session, dealer_id=principal.organization_id)
    outcomes = {s.outcome: s.name for s in current if s.outcome}
    return render(request, "opportunities/stages.html", status_code=status_code,
                  rows=rows or _stage_rows(session, principal.organization_id),
                  won_name=won_name or outcomes.get("won", "Won"), lost_name=lost_name or outcomes.get("lost", "Lost"),
                  own=stages_service.has_own_stages(session=session, dealer_id=principal.organization_id),
                  error=error)


@router.get("/workspace/stages")
def stages_page(request: Request, principal: SalesPage, session: DbSession):
    return _stages_page(request, session, principal)


@router.post("/workspace/stages")
def save_stages(request: Request, principal: SalesPage, session: DbSession, form: Form):
    rows = []
    columns = ("code", "name", "probability", "position")
    removed = set(form.getlist("remove"))
    for row in zip(*(form.getlist(f"stage_{c}") for c in columns), strict=False):
        values = {c: str(v).strip() for c, v in zip(columns, row, strict=True)}
        if not values["code"] and not values["name"]:
            continue
        rows.append(values | {"removed": values["code"] in removed and bool(values["code"])})
    won_name, lost_name = text(form, "won_name") or "", text(form, "lost_name") or ""

    def problem(message: str):
        return _stages_page(request, session, principal, rows=rows, won_name=won_name, lost_name=lost_name,
                            error=message, status_code=422)

    kept = [r for r in rows if not r["removed"]]
    try:
        kept.sort(key=lambda r: float(r["position"] or 0))
    except ValueError:
        return problem("Use numbers for the order of the stages.")
    body, errors = validate(StagesIn, {
        "stages": [{"code": r["code"] or None, "name": r["name"], "probability": r["probability"] or 0}
                   for r in kept], "won_name": won_name, "lost_name": lost_name})
    if errors:
        return problem("Give every stage a name and a probability between 0 and 100 %, and keep at least one "
                       "open stage.")
    try:
        stages_service.save_dealer_stages(session=session, dealer_id=principal.organization_id,
                                          stages=[s.model_dump() for s in body.stages], won_name=body.won_name,
                                          lost_name=body.lost_name)
    except Invalid as refused:
        return problem(refused.message)
    return redirect("/workspace/stages?flash=" + quote_plus(_('Your sales process is saved.')))

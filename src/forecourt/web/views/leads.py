"""Pages: sales — leads. The request form anyone can fill in, and the rep's lead list and lead page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request

from forecourt.core.clock import now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.sales import configurator
from forecourt.sales import intake
from forecourt.sales import leads as leads_service
from forecourt.sales import routing
from forecourt.sales.codes import display_code
from forecourt.sales.schemas.leads import LeadIn
from forecourt.vehicles import service as vehicles_service
from forecourt.web.deps import DbSession, MaybePrincipal, SalesPage
from forecourt.web.views import form_guard
from forecourt.web.views.forms import Form, text, validate, whole_number
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

PAGE_SIZE = 25
FIELDS = ("first_name", "last_name", "email", "phone", "postcode", "city", "wants", "preferred_date", "dealer_id",
          "configuration_code", "message")


def _configuration(session, code: str | None) -> dict | None:
    if not code:
        return None
    try:
        return configurator.describe(session=session, configuration=configurator.get_by_code(session=session,
                                                                                             code=code))
    except (Invalid, NotFound):
        return None


def _form(request: Request, session, principal, *, values: dict, errors: dict, status_code: int = 200):
    dealers = routing.dealers_by_distance(session=session, postcode=values.get("postcode"), city=values.get("city"))
    context = dict(values=values, errors=errors, dealers=dealers,
                   configuration=_configuration(session, values.get("configuration_code")),
                   chosen=next((d for d, _ in dealers if str(d.id) == str(values.get("dealer_id") or "")), None))
    if principal is not None:  # the session's CSRF token protects the form
        return render(request, "leads/new.html", status_code=status_code, form_token="", **context)
    nonce, signed = form_guard.form_token(request)
    response = render(request, "leads/new.html", status_code=status_code, form_token=signed, **context)
    return form_guard.attach(request, response, nonce)


@router.get("/leads/new")
def new_lead(request: Request, session: DbSession, principal: MaybePrincipal, code: str | None = None,
             dealer_id: Id | None = None, postcode: str | None = None, city: str | None = None,
             wants: str = "test_drive"):
    # A visitor's tick only asks for an e-mailed link: the permission is given when its owner follows it,
    # so the box starts ticked. A logged-in customer's tick is the permission itself: they tick it.
    values = dict(configuration_code=code or "", dealer_id=dealer_id, postcode=postcode or "", city=city or "",
                  wants=wants if wants in leads_service.WANTS else "test_drive", allow_contact=principal is None)
    if principal is not None and principal.is_customer:  # their own profile fills their own form
        me = customers_service.get(session=session, customer_id=principal.customer_id)
        values |= dict(first_name=me.first_name, last_name=me.last_name, email=me.email, phone=me.phone,
                       postcode=postcode or me.postcode or "", city=city or me.city or "")
    return _form(request, session, principal, values=values, errors={})


@router.get("/leads/new/dealers")
def dealer_choice(request: Request, session: DbSession, postcode: str | None = None, city: str | None = None,
                  dealer_id: str | None = None):
    """The dealer list again, nearest first, when the visitor types their postcode (htmx)."""
    dealers = routing.dealers_by_distance(session=session, postcode=postcode, city=city)
    return render(request, "leads/_dealer_choice.html", dealers=dealers, values={"dealer_id": dealer_id}, errors={})


@router.post("/leads/new")
def submit_lead(request: Request, session: DbSession, principal: MaybePrincipal, form: Form):
    if principal is None:
        form_guard.check(request, str(form.get("form_token") or ""))
    values = {name: text(form, name) for name in FIELDS}
    values["message"] = values["message"] or ""
    values["wants"] = values["wants"] or "call"
    values["allow_contact"] = form.get("allow_contact") == "yes"
    if values["wants"] != "test_drive":
        values["preferred_date"] = None
    body, errors = validate(LeadIn, {k: v for k, v in values.items() if v is not None})
    if body is not None:
        try:
            taken = intake.take_lead(session=session, source=None, principal=principal,
                                     **body.model_dump(exclude={"email"}), email=str(body.email) if body.email else None)
        except Invalid as error:
            errors = {error.field or "form": error.message}
        else:
            return _thanks(request, principal, taken, values)
    return _form(request, session, principal, values=values, errors=errors, status_code=422)


def _thanks(request: Request, principal, taken, values: dict):
    """Says what happens next; a visitor who did not allow contact can ask for the confirmation link in
    one click (the same request again, ticked, joins the open lead at the same dealer)."""
    again = {k: v for k, v in values.items() if k in FIELDS and v} | {"dealer_id": taken.dealer.id}
    if principal is not None:
        return render(request, "leads/thanks.html", taken=taken, dealer=taken.dealer, again=again,
                      form_token="", logged_in=True)
    nonce, signed = form_guard.form_token(request)
    response = render(request, "leads/thanks.html", taken=taken, dealer=taken.dealer, again=again,
                      form_token=signed, logged_in=False)
    return form_guard.attach(request, response, nonce)


# --- the rep's side ----------------------------------------------------------------------------------

def _colour(score: int | None) -> str:
    if score is None:
        return "#888"
    return "#1a7f37" if score >= 60 else "#b7791f" if score >= 30 else "#b42318"


@router.get("/workspace/leads")
def lead_list(request: Request, principal: SalesPage, session: DbSession, status: str | None = "open",
              source: str | None = None, purpose: str = leads_service.PURPOSE,
              page: int = Query(default=1, ge=1, le=100_000)):
    items, total, waiting = leads_service.list_leads(session=session, principal=principal, status=status or None,
                                                     source=source or None, purpose=purpose, limit=PAGE_SIZE,
                                                     offset=(page - 1) * PAGE_SIZE)
    models = {m.id: m.name for m in vehicles_service.list_models(session=session)}
    organization = parties_service.get_organization(session=session, organization_id=principal.organization_id)
    moment = now()
    rows = [dict(lead=lead, model=models.get(lead.model_id), colour=_colour(lead.score),
                 age=max(0, (moment - lead.created_at).days)) for lead in items]
    return render(request, "leads/list.html", rows=rows, total=total, waiting=waiting, status=status or "",
                  source=source or "", page=page, page_size=PAGE_SIZE, organization=organization,
                  sources=leads_service.SOURCE_NAMES, purpose=purpose)


@router.get("/workspace/leads/{lead_id}")
def lead_page(request: Request, lead_id: Id, principal: SalesPage, session: DbSession):
    view = leads_service.view(session=session, principal=principal, lead_id=lead_id)
    models = {m.id: m.name for m in vehicles_service.list_models(session=session)}
    candidates = leads_service.merge_candidates(session=session, principal=principal, lead=view["lead"])
    return render(request, "leads/detail.html", view=view, lead=view["lead"], model=models.get(view["model_id"]),
                  colour=_colour(view["score"]), candidates=candidates, sources=leads_service.SOURCE_NAMES,
                  display_code=display_code(view["configuration_code"]) if view["configuration_code"] else None,
                  dealer=parties_service.get_organization(session=session, organization_id=principal.organization_id))


@router.post("/workspace/leads/{lead_id}/status")
def lead_status(lead_id: Id, principal: SalesPage, session: DbSession, form: Form):
    try:
        lead = leads_service.set_status(session=session, principal=principal, lead_id=lead_id,
                                        status=text(form, "status") or "")
    except Invalid as error:
        return redirect(f"/workspace/leads/{lead_id}?flash={quote(error.message)}")
    return redirect(f"/workspace/leads/{lead_id}?flash=" + quote(_('Marked %(status)s.', status=lead.status)))


@router.post("/workspace/leads/{lead_id}/merge")
def lead_merge(lead_id: Id, principal: SalesPage, session: DbSession, form: Form):
    duplicate_id = whole_number(text(form, "duplicate_id"))
    if duplicate_id is None:
        return redirect(f"/workspace/leads/{lead_id}?flash=" + quote(_('Choose the lead to merge into this one.')))
    try:
        leads_service.merge(session=session, principal=principal, keep_id=lead_id, duplicate_id=duplicate_id)
    except Invalid as error:
        return redirect(f"/workspace/leads/{lead_id}?flash={quote(error.message)}")
    return redirect(f"/workspace/leads/{lead_id}?flash=" + quote(_('Lead #%(duplicate_id)s merged into this one.', duplicate_id=duplicate_id)))

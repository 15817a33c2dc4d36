"""Pages where a partner's staff create, change and withdraw their organization's offers.

The form sends what the JSON API takes (``OfferIn``) and the same service checks it, so a rule no car
can meet is refused with the field named. What the schema refuses (a word where a number belongs, a
date the browser did not send as a date) is said in the reader's language beside the field, not in
the validator's English. Another organization's offer does not exist here (404), as in the API.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import ValidationError

from forecourt.consent import service as consent_service
from forecourt.core.clock import today
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _, gettext
from forecourt.core.schemas import Id
from forecourt.engagement import kinds, offers
from forecourt.engagement.schemas import OfferIn
from forecourt.web.deps import DbSession, StaffPage
from forecourt.web.views.forms import Form, back_to, text
from forecourt.web.views.render import render

router = APIRouter(tags=["pages"])
LIST_FIELDS = ("models", "markets")


def _schema_message(kind: str, context: dict) -> str:
    """Pydantic's error, said in the reader's language."""
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return _("Give a whole number.")
    if kind in ("decimal_parsing", "decimal_type", "decimal_max_digits", "decimal_max_places",
                "decimal_whole_digits", "finite_number"):
        return _("Give a number, for example 19.90.")
    if kind.startswith("date") or kind.startswith("datetime"):
        return _("Give the date as YYYY-MM-DD.")
    if kind in ("string_too_long", "too_long"):
        return _("Too long: at most %(most)s.", most=context.get("max_length", ""))
    if kind in ("greater_than_equal", "greater_than"):
        return _("Give at least %(least)s.", least=context.get("ge", context.get("gt", "")))
    if kind in ("less_than_equal", "less_than"):
        return _("Give at most %(most)s.", most=context.get("le", context.get("lt", "")))
    if kind == "missing":
        return _("Fill this in.")
    return _("This value is not valid here.")


def field_errors(error: ValidationError) -> dict[str, str]:
    """One message per form field (a list's item errors show at the list's field)."""
    errors: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "title"
        errors.setdefault(field, _schema_message(item["type"], item.get("ctx") or {}))
    return errors


def values_of(form) -> dict:
    """The form as ``OfferIn`` takes it: blank means "not given", lists are comma-separated."""
    def listed(name: str) -> list[str]:
        return [v.strip() for v in (text(form, name) or "").replace(";", ",").split(",") if v.strip()]

    def given(name: str):
        return text(form, name)

    return {"title": given("title") or "", "body": given("body") or "", "purpose": given("purpose") or "",
            "occasion_kinds": [str(k) for k in form.getlist("occasion_kinds")],
            "models": listed("models"), "markets": [m.upper() for m in listed("markets")],
            "min_age_years": given("min_age_years"), "max_age_years": given("max_age_years"),
            "min_km": given("min_km"), "max_km": given("max_km"),
            "price": given("price"), "currency": (given("currency") or "").upper() or None,
            "benefit": given("benefit"), "valid_from": given("valid_from") or "",
            "valid_until": given("valid_until") or "", "action": given("action") or "",
            "action_code": given("action_code"), "relevance": given("relevance") or 50}


def _fresh() -> dict:
    start = today()
    return {"valid_from": start.isoformat(), "valid_until": (start + timedelta(days=90)).isoformat(),
            "relevance": 50, "occasion_kinds": [], "models": [], "markets": []}


def _shown(offer) -> dict:
    return offers.to_out(offer) | {"valid_from": offer.valid_from.isoformat(),
                                   "valid_until": offer.valid_until.isoformat()}


def _page(request: Request, session, principal, *, offer=None, values=None, errors=None, status_code=200):
    return render(request, "engagement/offers.html", status_code=status_code,
                  offers=offers.list_own(session=session, principal=principal), editing=offer,
                  occasion_kinds=kinds.OCCASIONS, errors=errors or {},
                  actions=[(code, gettext(label)) for code, label in kinds.ACTIONS.items()],
                  purposes=[(code, consent_service.get_purpose(session=session, code=code).name)
                            for code in kinds.OFFER_PURPOSES],
                  values=values or (_shown(offer) if offer is not None else _fresh()))


def _save(request: Request, session, principal, form, offer=None):
    values = values_of(form)
    try:
        body = OfferIn.model_validate(values)
        with session.begin_nested():
            if offer is None:
                offers.create(session=session, principal=principal, offer_in=body.model_dump())
            else:
                offers.update(session=session, principal=principal, offer_id=offer.id, offer_in=body.model_dump())
    except ValidationError as error:
        errors = field_errors(error)
    except Invalid as problem:
        errors = {problem.field or "title": problem.message}
    else:
        return back_to("/workspace/offers", flash=_("Offer saved. It reaches drivers at their next occasion.")
                       if offer is None else _("Offer changed. Messages composed from now on carry the change."))
    return _page(request, session, principal, offer=offer, values=values, errors=errors, status_code=422)


@router.get("/workspace/offers")
def offers_page(request: Request, principal: StaffPage, session: DbSession):
    return _page(request, session, principal)


@router.post("/workspace/offers")
def create_offer_page(request: Request, principal: StaffPage, session: DbSession, form: Form):
    return _save(request, session, principal, form)


@router.get("/workspace/offers/{offer_id}")
def offer_page(request: Request, offer_id: Id, principal: StaffPage, session: DbSession):
    """The offer in the form, to change it (another organization's: 404)."""
    return _page(request, session, principal, offer=offers.get_own(session=session, principal=principal,
                                                                   offer_id=offer_id))


@router.post("/workspace/offers/{offer_id}")
def change_offer_page(request: Request, offer_id: Id, principal: StaffPage, session: DbSession, form: Form):
    offer = offers.get_own(session=session, principal=principal, offer_id=offer_id)
    return _save(request, session, principal, form, offer=offer)


@router.post("/workspace/offers/{offer_id}/withdraw")
def withdraw_offer_page(offer_id: Id, principal: StaffPage, session: DbSession):
    offers.withdraw(session=session, principal=principal, offer_id=offer_id)
    return back_to("/workspace/offers", flash=_("Offer withdrawn: no new message carries it."))

"""Partners' offers: created, changed and withdrawn by their own organization only.

A rule no car can meet (a minimum age above the maximum, a model the carmaker does not build, an
offer that ends before it starts) is refused with the field named, so a partner never waits for
take-up from an offer that can reach nobody.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.consent.catalogue import CONSENT
from forecourt.core.auth import Principal
from forecourt.core.clock import now, today
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.money import check_currency
from forecourt.engagement import kinds
from forecourt.engagement.models import Offer
from forecourt.parties import markets as parties_markets
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import warranty
from forecourt.workshop.jobs import get_job


def _organization_of(principal: Principal) -> int:
    if principal.organization_id is None or principal.is_customer:
        raise NotFound("Offer not found")
    return principal.organization_id


def _check(session: Session, organization_id: int, values: dict) -> dict:
    """The offer's values, cleaned, or ``Invalid`` naming the first thing no car could meet."""
    unknown = [k for k in values["occasion_kinds"] if k not in kinds.OCCASIONS]
    if not values["occasion_kinds"] or unknown:
        raise Invalid(_("Choose the occasions this offer is for, of: %(known)s.",
                        known=", ".join(kinds.OCCASIONS)), field="occasion_kinds")
    values["occasion_kinds"] = sorted(set(values["occasion_kinds"]))
    if values["purpose"] not in kinds.OFFER_PURPOSES or \
            consent_service.get_purpose(session=session, code=values["purpose"]).legal_basis != CONSENT:
        raise Invalid(_("An offer rests on a purpose the driver grants: one of %(known)s.",
                        known=", ".join(kinds.OFFER_PURPOSES)), field="purpose")
    organization = parties_service.get_organization(session=session, organization_id=organization_id)
    if values["purpose"] == kinds.USAGE_BASED and organization.partner_kind != "insurance":
        raise Invalid(_("Only an insurer may offer a quote based on the driver's driving."), field="purpose")
    if organization.partner_kind == "insurance" and values["action"] == kinds.ASK_QUOTE \
            and values["purpose"] != kinds.USAGE_BASED:
        raise Invalid(_("An insurer's quote rests on the driver's grant of their driving behaviour."),
                      field="purpose")
    known_models = {m.code for m in vehicles_service.list_models(session=session)}
    strange = [m for m in values["models"] if m not in known_models]
    if strange:
        raise Invalid(_("No car of model %(models)s exists in this network; the models are %(known)s.",
                        models=", ".join(strange), known=", ".join(sorted(known_models))), field="models")
    values["models"] = sorted(set(values["models"]))
    values["markets"] = sorted({parties_markets.get_market(session=session, code=code, field="markets").code
                                for code in values["markets"]})
    for low, high, field in (("min_age_years", "max_age_years", "max_age_years"), ("min_km", "max_km", "max_km")):
        if values[low] is not None and values[high] is not None and values[low] > values[high]:
            raise Invalid(_("No car can meet this rule: the lower bound is above the upper bound."), field=field)
    if values["valid_from"] > values["valid_until"]:
        raise Invalid(_("The offer ends before it starts; choose an end after the start."), field="valid_until")
    if values["valid_until"] < today():
        raise Invalid(_("The offer would already have ended; choose an end in the future."), field="valid_until")
    if values["price"] is None and not values["benefit"]:
        raise Invalid(_("Say what the driver gets: a price or a benefit."), field="price")
    if values["price"] is not None:
        if not values["currency"]:
            raise Invalid(_("A price needs its currency."), field="currency")
        values["currency"] = check_currency(values["currency"].upper())
    elif values["currency"]:
        raise Invalid(_("A currency needs a price."), field="currency")
    _check_action(session, values)
    return values


def _check_action(session: Session, values: dict) -> None:
    action, code = values["action"], values["action_code"]
    if action not in kinds.ACTIONS:
        raise Invalid(_("The call to action is one of %(known)s.", known=", ".join(kinds.ACTIONS)), field="action")
    if action == kinds.BOOK_SERVICE:
        try:
            job = get_job(code or "")
        except (NotFound, Invalid, KeyError):
            raise Invalid(_("Name the workshop job the driver books."), field="action_code") from None
        if job.code == "recall":
            raise Invalid(_("Recall work is booked from the recall notice."), field="action_code")
    elif action == kinds.BUY_EXTENSION:
        try:
            warranty.get_product(session=session, code=code or "")
        except (NotFound, Invalid):
            raise Invalid(_("Name the extended warranty the driver buys."), field="action_code") from None
    else:
        values["action_code"] = None


def create(*, session: Session, principal: Principal, offer_in: dict) -> Offer:
    organization_id = _organization_of(principal)
    offer = Offer(organization_id=organization_id, **_check(session, organization_id, dict(offer_in)))
    session.add(offer)
    session.flush()
    return offer


def get_own(*, session: Session, principal: Principal, offer_id: int) -> Offer:
    """An offer of the caller's own organization; anyone else's does not exist for them (404)."""
    offer = session.get(Offer, offer_id)
    if offer is None or offer.organization_id != _organization_of(principal):
        raise NotFound("Offer not found")
    return offer


def update(*, session: Session, principal: Principal, offer_id: int, offer_in: dict) -> Offer:
    offer = get_own(session=session, principal=principal, offer_id=offer_id)
    for key, value in _check(session, offer.organization_id, dict(offer_in)).items():
        setattr(offer, key, value)
    session.flush()
    return offer


def withdraw(*, session: Session, principal: Principal, offer_id: int) -> Offer:
    """No new message carries it; messages already sent keep it (the driver may still accept)."""
    offer = get_own(session=session, principal=principal, offer_id=offer_id)
    offer.withdrawn_at = offer.withdrawn_at or now()
    session.flush()
    return offer


def list_own(*, session: Session, principal: Principal) -> list[Offer]:
    return list(session.scalars(select(Offer).where(Offer.organization_id == _organization_of(principal))
                                .order_by(Offer.withdrawn_at.is_not(None), Offer.valid_until.desc(), Offer.id)))


def get(*, session: Session, offer_id: int) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise NotFound("Offer not found")
    return offer


def to_out(offer: Offer) -> dict:
    return {c: getattr(offer, c) for c in (
        "id", "organization_id", "title", "body", "purpose", "occasion_kinds", "models", "markets", "min_age_years",
        "max_age_years", "min_km", "max_km", "price", "currency", "benefit", "valid_from", "valid_until", "action",
        "action_code", "relevance")} | {"withdrawn": offer.withdrawn_at is not None}

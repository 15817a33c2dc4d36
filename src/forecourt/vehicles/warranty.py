"""Warranty: the carmaker's terms per model, what covers one car today, and extended warranties.

A car's cover is a chain: the new-car warranty from the day it was first handed to an owner (or,
for a car nobody has owned yet, never started), then any extended warranties, each starting where
the previous cover ends and adding years and kilometres to it. A dealer only offers an extension;
the owner buys it in the portal, so nothing is ever bought in the owner's name. Components (powertrain, the traction
battery of an electric car) have their own, usually longer, terms. Kilometres come from the
odometer the caller passes in (vehicles cannot read telemetry); when it is unknown we say so rather
than guess.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core import dates, outbox
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _, Labels, N_
from forecourt.core.money import Money, format_money
from forecourt.parties import service as parties_service
from forecourt.vehicles.models import (Ownership, Vehicle, VehicleModel, WarrantyContract, WarrantyOffer,
                                       WarrantyProduct, WarrantyTerms)

DEFAULT_MARKET = "DE"
EXPIRING_DAYS = 90
EXPIRING_KM = 5_000
MAX_YEARS, MAX_KM = 30, 1_000_000
COMPONENT_NAMES = Labels({"vehicle": N_("Whole car"), "powertrain": N_("Engine and gearbox"), "battery": N_("Traction battery"),
                   "paint": N_("Paint"), "corrosion": N_("Rust perforation"), "electrics": N_("Electrics")})


def km(value: int) -> str:
    return f"{dates.format_number(value)} km"


def day(value: date) -> str:
    return dates.format_date(value, "long")


def add_years(start: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


# --- terms -----------------------------------------------------------------------------------------

def terms_for(*, session: Session, model_id: int, market: str = DEFAULT_MARKET) -> WarrantyTerms | None:
    return session.scalars(select(WarrantyTerms).where(WarrantyTerms.model_id == model_id,
                                                       WarrantyTerms.market == market)).first()


def _check_period(years, distance, where: str) -> None:
    if not isinstance(years, int) or not 0 < years <= MAX_YEARS:
        raise Invalid(_("%(where)s: years must be a whole number from 1 to %(max_years)s.", where=where, max_years=MAX_YEARS), field="years")
    if not isinstance(distance, int) or not 0 < distance <= MAX_KM:
        raise Invalid(_("%(where)s: kilometres must be a whole number from 1 to %(max_km)s.", where=where, max_km=dates.format_number(MAX_KM)), field="km")


def set_terms(*, session: Session, model_code: str, years: int, km: int, components: list[dict] | None = None,
              market: str = DEFAULT_MARKET) -> WarrantyTerms:
    """The carmaker sets (or changes) a model's new-car warranty; it applies to every car of the model."""
    model = session.scalars(select(VehicleModel).where(VehicleModel.code == model_code)).first()
    if model is None:
        raise NotFound("Model not found")
    _check_period(years, km, _("The new-car warranty"))
    lines = []
    for spec in components or []:
        name = str(spec.get("component") or "").strip()
        if not name:
            raise Invalid(_("Each component needs a name (for example 'powertrain')."), field="components")
        _check_period(spec.get("years"), spec.get("km"), _("The warranty on “%(component)s”", component=name))
        line = {"component": name, "years": spec["years"], "km": spec["km"]}
        if spec.get("propulsion"):
            line["propulsion"] = list(spec["propulsion"])
        lines.append(line)
    terms = terms_for(session=session, model_id=model.id, market=market)
    if terms is None:
        terms = WarrantyTerms(model_id=model.id, market=market)
        session.add(terms)
    terms.years, terms.km, terms.components = years, km, lines
    session.flush()
    return terms


# --- coverage --------------------------------------------------------------------------------------

def warranty_start(*, session: Session, vehicle: Vehicle) -> tuple[date | None, str]:
    """The day the new-car warranty began, and what that day is."""
    first = session.scalars(select(Ownership.started_at).where(Ownership.vehicle_id == vehicle.id)
                            .order_by(Ownership.started_at)).first()
    if first is not None:
        return first.date(), "handed to its first owner"
    if vehicle.production_date is not None:
        return vehicle.production_date, "built"
    return None, "not yet sold"


def contracts_for(*, session: Session, vehicle_id: int) -> list[WarrantyContract]:
    return list(session.scalars(select(WarrantyContract).where(WarrantyContract.vehicle_id == vehicle_id)
                                .order_by(WarrantyContract.starts_on, WarrantyContract.id)))


def _judge(ends_on: date, km_limit: int, odometer_km: int | None, today: date, starts_on: date | None = None) -> dict:
    """Status and words for one line of cover."""
    days_left = (ends_on - today).days
    km_left = None if odometer_km is None else km_limit - odometer_km
    if starts_on is not None and today < starts_on and (km_left is None or km_left > 0):
        status = "upcoming"
        words = _("Starts on %(start)s; runs until %(end)s or %(km)s.", start=day(starts_on), end=day(ends_on),
                  km=km(km_limit))
    elif days_left <= 0:
        status, words = "expired", _("Expired on %(day)s.", day=day(ends_on))
    elif km_left is not None and km_left <= 0:
        status, words = "expired", _("Expired at %(km)s: the car has done %(odometer)s.", km=km(km_limit),
                                     odometer=km(odometer_km))
    else:
        distance = (_("%(km)s left", km=km(km_left)) if km_left is not None
                    else _("kilometres left unknown (no odometer reading yet)"))
        soon = days_left <= EXPIRING_DAYS or (km_left is not None and km_left <= EXPIRING_KM)
        status = "expiring_soon" if soon else "covered"
        words = _("%(state)s: until %(end)s or %(km)s — %(days)s days and %(distance)s.",
                  state=_("Expiring soon") if soon else _("Covered"), end=day(ends_on), km=km(km_limit),
                  days=days_left, distance=distance)
    return dict(status=status, words=words, expires_on=ends_on, km_limit=km_limit, days_left=max(days_left, 0),
                km_left=None if km_left is None else max(km_left, 0))


def _applies(spec: dict, vehicle: Vehicle) -> bool:
    return not spec.get("propulsion") or vehicle.propulsion in spec["propulsion"]


def coverage(*, session: Session, vehicle: Vehicle, odometer_km: int | None, today: date,
             odometer_source: str | None = None, market: str = DEFAULT_MARKET) -> dict:
    """What covers this car today, line by line, in words; ``status`` sums up the whole-car cover."""
    terms = terms_for(session=session, model_id=vehicle.trim.model_id, market=market)
    start, start_basis = warranty_start(session=session, vehicle=vehicle)
    result = dict(vin=vehicle.vin, model=vehicle.model_name, market=market, starts_on=start, start_basis=start_basis,
                  odometer_km=odometer_km, odometer_source=odometer_source if odometer_km is not None else None,
                  lines=[], contracts=[], expires_on=None, km_limit=None, days_left=None, km_left=None,
                  time_used_percent=None, km_used_percent=None)
    if terms is None:
        return result | dict(status="no_terms", words=_("No warranty terms are recorded for the %(model)s.", model=vehicle.model_name))
    if start is None:
        return result | dict(status="not_started", words=(
            _("The new-car warranty (%(years)s years or %(km)s) starts when the car is handed to its first owner.",
              years=terms.years, km=km(terms.km))))
    # the whole-car chain: new-car warranty, then each extension where the previous cover ends
    ends_on, km_limit = add_years(start, terms.years), terms.km
    base = _judge(ends_on, km_limit, odometer_km, today)
    result["lines"].append(dict(component="vehicle", name=COMPONENT_NAMES["vehicle"], source=N_("New-car warranty"),
                                years=terms.years, km=terms.km, starts_on=start, **base))
    extended_components: set[str] | None = set()  # None: an extension covers every component
    for contract in contracts_for(session=session, vehicle_id=vehicle.id):
        product = session.get(WarrantyProduct, contract.product_id)
        judged = _judge(contract.ends_on, contract.km_limit, odometer_km, today, starts_on=contract.starts_on)
        result["contracts"].append(dict(id=contract.id, product_code=product.code, name=product.name,
                                        starts_on=contract.starts_on, price=float(contract.price),
                                        currency=contract.currency or "EUR", **judged))
        if contract.ends_on > ends_on or contract.km_limit > km_limit:
            ends_on, km_limit = max(ends_on, contract.ends_on), max(km_limit, contract.km_limit)
        if extended_components is not None:
            extended_components = None if not product.components else extended_components | set(product.components)
    whole = _judge(ends_on, km_limit, odometer_km, today)
    for spec in terms.components or []:
        if not _applies(spec, vehicle):
            continue
        own_end, own_km = add_years(start, spec["years"]), spec["km"]
        if extended_components is None or spec["component"] in extended_components:
            own_end, own_km = max(own_end, ends_on), max(own_km, km_limit)
        result["lines"].append(dict(component=spec["component"],
                                    name=COMPONENT_NAMES.get(spec["component"], spec["component"].capitalize()),
                                    source=N_("New-car warranty"), years=spec["years"], km=spec["km"], starts_on=start,
                                    **_judge(own_end, own_km, odometer_km, today)))
    span = max((ends_on - start).days, 1)
    result |= dict(status=whole["status"], expires_on=ends_on, km_limit=km_limit, days_left=whole["days_left"],
                   km_left=whole["km_left"],
                   time_used_percent=min(100, max(0, round(100 * (today - start).days / span))),
                   km_used_percent=None if odometer_km is None else min(100, round(100 * odometer_km / km_limit)))
    extended = " (with extended warranty)" if len(result["contracts"]) else ""
    result["words"] = whole["words"].replace(":", f"{extended}:", 1) if whole["status"] != "expired" else (
        whole["words"])
    return result


# --- extended warranty -----------------------------------------------------------------------------

def list_products(*, session: Session, model_id: int | None = None, active_only: bool = True) -> list[WarrantyProduct]:
    query = select(WarrantyProduct)
    if active_only:
        query = query.where(WarrantyProduct.is_active.is_(True))
    if model_id is not None:
        query = query.where((WarrantyProduct.model_id.is_(None)) | (WarrantyProduct.model_id == model_id))
    return list(session.scalars(query.order_by(WarrantyProduct.years, WarrantyProduct.price, WarrantyProduct.code)))


def get_product(*, session: Session, code: str) -> WarrantyProduct:
    product = session.scalars(select(WarrantyProduct).where(WarrantyProduct.code == code)).first()
    if product is None or not product.is_active:
        raise Invalid(_("There is no extended warranty '%(code)s' on sale.", code=code), field="product_code")
    return product


OFFER_DAYS = 30


def _extendable(session: Session, vehicle: Vehicle, product: WarrantyProduct, odometer_km: int | None,
                today: date) -> dict:
    """Today's cover, if this product may extend it; else ``Invalid`` saying why not.

    Only a car still under warranty (new-car or an extension) can be extended: a car whose cover has
    lapsed would bring its unknown faults into the contract."""
    if product.model_id is not None and product.model_id != vehicle.trim.model_id:
        raise Invalid(_("'%(name)s' is not offered for the %(model_name)s.", name=product.name, model_name=vehicle.model_name), field="product_code")
    cover = coverage(session=session, vehicle=vehicle, odometer_km=odometer_km, today=today)
    if cover["status"] in ("no_terms", "not_started"):
        raise Invalid(_("This car cannot be extended: %(words)s", words=cover['words']), field="vin")
    if cover["status"] == "expired":
        ended = cover["words"].removesuffix(".")
        raise Invalid(_("The warranty of this car has ended (%(value)s); an extended warranty can only be sold while the car is still covered.", value=ended[:1].lower() + ended[1:]), field="vin")
    return cover


def _owner_of(session: Session, vehicle_id: int) -> int | None:
    return session.scalars(select(Ownership.customer_id).where(Ownership.vehicle_id == vehicle_id,
                                                               Ownership.ended_at.is_(None))).first()


def offer_extended(*, session: Session, principal: Principal, vehicle_id: int, product_code: str,
                   odometer_km: int | None = None, today: date | None = None,
                   basis: str = "warranty_work", tell: bool = True) -> WarrantyOffer:
    """A dealer offers an extension to the car's current owner, who finds it in the portal. Nothing is
    bought until the owner accepts it (``accept_offer``); the price is fixed now, the start when
    accepted. ``basis``: the purpose the dealer read the car for (the message's reason to be sent).
    ``tell=False``: no message announces it (the caller tells the owner its own way)."""
    if principal.organization_id is None:
        raise NotFound("Vehicle not found")
    offer, created = _place_offer(session, seller_id=principal.organization_id, vehicle_id=vehicle_id,
                                  product_code=product_code, odometer_km=odometer_km, today=today)
    if created and tell:
        vehicle = session.get(Vehicle, vehicle_id)
        product = session.get(WarrantyProduct, offer.product_id)
        dealer = parties_service.get_organization(session=session, organization_id=principal.organization_id)
        with outbox.written_for(session, customer_id=offer.customer_id):
            _tell_owner(session, offer, offer.customer_id, dealer, vehicle, product, basis)
    return offer


def buy_extension(*, session: Session, customer_id: int, vehicle_id: int, seller_id: int, product_code: str,
                  odometer_km: int | None = None, today: date | None = None) -> WarrantyContract:
    """The owner buys an extension in one step from an offer the seller made them elsewhere (the one
    click on an offer in their inbox): the same rules as an offer accepted in the portal, with no
    staff member acting, so no principal is invented for the seller."""
    if _owner_of(session, vehicle_id) != customer_id:
        raise NotFound("Vehicle not found")
    offer, _created = _place_offer(session, seller_id=seller_id, vehicle_id=vehicle_id,
                                   product_code=product_code, odometer_km=odometer_km, today=today)
    return accept_offer(session=session, customer_id=customer_id, offer_id=offer.id, odometer_km=odometer_km,
                        today=today)


def _place_offer(session: Session, *, seller_id: int, vehicle_id: int, product_code: str,
                 odometer_km: int | None, today: date | None) -> tuple[WarrantyOffer, bool]:
    """The seller's open offer of this product to the car's owner, made now unless one is waiting."""
    today = today or now().date()
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise NotFound("Vehicle not found")
    owner = _owner_of(session, vehicle_id)
    if owner is None:
        raise Invalid(_("An extended warranty is sold to the car's owner, and this car has none yet."), field="vin")
    product = get_product(session=session, code=product_code)
    _extendable(session, vehicle, product, odometer_km, today)
    waiting = session.scalars(select(WarrantyOffer).where(
        WarrantyOffer.vehicle_id == vehicle.id, WarrantyOffer.customer_id == owner,
        WarrantyOffer.product_id == product.id, WarrantyOffer.dealer_id == seller_id,
        WarrantyOffer.status == "offered", WarrantyOffer.expires_at > now())).first()
    if waiting is not None:
        return waiting, False  # offered already: the owner has it in the portal
    offer = WarrantyOffer(vehicle_id=vehicle.id, product_id=product.id, customer_id=owner,
                          dealer_id=seller_id, price=product.price, status="offered",
                          created_at=now(), expires_at=now() + timedelta(days=OFFER_DAYS))
    session.add(offer)
    session.flush()
    return offer, True


def _tell_owner(session: Session, offer: WarrantyOffer, owner: int, dealer, vehicle: Vehicle, product,
                basis: str) -> None:
    outbox.enqueue(session=session, customer_id=owner, channel="in_app", topic="warranty_offer",
                   subject=_("%(dealer)s offers an extended warranty for your %(car)s", dealer=dealer.name,
                             car=vehicle.model_name),
                   body=_("%(product)s for %(price)s: it would start when today's cover ends. Nothing is bought "
                          "unless you accept it on your car's warranty page.", product=product.name,
                          price=format_money(Money.of(offer.price, product.currency or "EUR"))),
                   basis=basis, dedupe_key=f"warranty-offer:{offer.id}",
                   link=f"/me/vehicles/{vehicle.vin}/service-book")


def offers_for_owner(*, session: Session, customer_id: int, vehicle_id: int | None = None,
                     open_only: bool = False) -> list[WarrantyOffer]:
    query = select(WarrantyOffer).where(WarrantyOffer.customer_id == customer_id)
    if vehicle_id is not None:
        query = query.where(WarrantyOffer.vehicle_id == vehicle_id)
    if open_only:
        query = query.where(WarrantyOffer.status == "offered", WarrantyOffer.expires_at > now())
    return list(session.scalars(query.order_by(WarrantyOffer.created_at.desc(), WarrantyOffer.id.desc())))


def _open_offer(session: Session, customer_id: int, offer_id: int) -> WarrantyOffer:
    offer = session.get(WarrantyOffer, offer_id)
    if offer is None or offer.customer_id is None or offer.customer_id != customer_id:
        raise NotFound("Offer not found")
    if offer.status != "offered":
        raise Conflict(_("This offer was already %(status)s.", status=offer.status))
    if as_utc(offer.expires_at) <= now():
        raise Conflict(_("This offer has expired; ask the dealer for a new one."))
    if _owner_of(session, offer.vehicle_id) != customer_id:
        raise NotFound("Offer not found")  # the car changed hands: the offer was for its former owner
    return offer


def accept_offer(*, session: Session, customer_id: int, offer_id: int, odometer_km: int | None = None,
                 today: date | None = None) -> WarrantyContract:
    """The owner buys what the dealer offered: the contract starts where today's cover ends."""
    today = today or now().date()
    offer = _open_offer(session, customer_id, offer_id)
    vehicle = session.get(Vehicle, offer.vehicle_id)
    product = session.get(WarrantyProduct, offer.product_id)
    cover = _extendable(session, vehicle, product, odometer_km, today)
    starts_on = cover["expires_on"]
    contract = WarrantyContract(vehicle_id=vehicle.id, product_id=product.id, customer_id=customer_id,
                                sold_by_dealer_id=offer.dealer_id, starts_on=starts_on,
                                ends_on=add_years(starts_on, product.years),
                                km_limit=cover["km_limit"] + product.km, price=offer.price,
                                currency=product.currency or "EUR")
    session.add(contract)
    session.flush()
    offer.status, offer.decided_at, offer.contract_id = "accepted", now(), contract.id
    session.flush()
    return contract


def decline_offer(*, session: Session, customer_id: int, offer_id: int) -> WarrantyOffer:
    offer = _open_offer(session, customer_id, offer_id)
    offer.status, offer.decided_at = "declined", now()
    session.flush()
    return offer

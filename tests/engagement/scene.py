"""A driver whose warranty ends in six weeks, the carmaker, a dealer, an insurer and a finance partner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from forecourt.core.clock import now
from forecourt.core.i18n import use_locale
from forecourt.engagement import offers
from forecourt.vehicles import warranty
from forecourt.vehicles.models import WarrantyProduct


@dataclass
class Scene:
    customer: object
    vehicle: object
    carmaker: object
    dealer: object
    insurer: object
    finance: object


def offer_in(**values) -> dict:
    base = dict(title="Extra Care 2", body="Two more years of cover.", purpose="marketing_offers",
                occasion_kinds=["warranty_ends_60", "warranty_ends_30"], models=[], markets=[], min_age_years=None,
                max_age_years=None, min_km=None, max_km=None, price=None, currency=None, benefit="10 % off",
                valid_from=date.today() - timedelta(days=1), valid_until=date.today() + timedelta(days=90),
                action="ask_quote", action_code=None, relevance=50)
    return base | values


def build(make, session) -> Scene:
    carmaker, dealer = make.carmaker(), make.dealer()
    insurer, finance = make.partner("insurance"), make.partner("finance")
    customer = make.customer(first_name="Mira", last_name=f"Okafor{make.n()}", email=f"mira{make.n()}@owner.example")
    # bought 3 years less 40 days ago: a 3-year warranty ends in 40 days (its 60-day occasion is open)
    vehicle = make.vehicle(owner=customer, dealer=dealer, since=now() - timedelta(days=3 * 365 - 40))
    warranty.set_terms(session=session, model_code=vehicle.trim.model.code, years=3, km=100_000)
    session.add(WarrantyProduct(code=f"EXT{make.n()}", name="Extra Care 2", years=2, km=50_000, price=890,
                                components=[]))
    session.flush()
    return Scene(customer, vehicle, carmaker, dealer, insurer, finance)


def product_code(session) -> str:
    return session.query(WarrantyProduct).order_by(WarrantyProduct.id.desc()).first().code


def add_offer(make, session, organization, **values):
    staff = make.staff(organization)
    with use_locale("en"):
        return offers.create(session=session, principal=make.principal(staff), offer_in=offer_in(**values))

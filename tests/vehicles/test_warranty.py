"""Warranty cover: years and kilometres, components, extensions, expiring soon, unknown odometer; offers
that only the owner turns into a sale."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from forecourt.core.auth import Principal, Role
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import warranty
from forecourt.vehicles.models import WarrantyProduct

START = datetime(2023, 3, 15, 10, 0, tzinfo=UTC)


def _car(make, *, since=START, **values):
    owner = make.customer()
    vehicle = make.vehicle(owner=owner, since=since, **values)
    return vehicle, owner


def _terms(session, vehicle, years=2, km=100_000, components=None):
    return warranty.set_terms(session=session, model_code=vehicle.trim.model.code, years=years, km=km,
                              components=components if components is not None else [
                                  {"component": "powertrain", "years": 5, "km": 100_000},
                                  {"component": "battery", "years": 8, "km": 160_000, "propulsion": ["electric"]},
                                  {"component": "glow_plugs", "years": 4, "km": 80_000, "propulsion": ["diesel"]}])


def _product(session, code="EXT2", years=2, km=50_000, price=990, components=None, model_id=None):
    product = WarrantyProduct(code=code, name=f"Extra Care {years}", years=years, km=km, price=price,
                              components=components or [], model_id=model_id)
    session.add(product)
    session.flush()
    return product


def _dealer_principal(make):
    dealer = make.dealer()
    return Principal(user_id=1, role=Role.DEALER_SERVICE, display_name="Advisor", organization_id=dealer.id), dealer


def test_cover_runs_years_and_kilometres_from_the_first_owner(session, make):
    vehicle, _ = _car(make)
    _terms(session, vehicle)
    cover = warranty.coverage(session=session, vehicle=vehicle, odometer_km=40_000, today=date(2024, 3, 15))
    assert cover["starts_on"] == date(2023, 3, 15) and cover["start_basis"] == "handed to its first owner"
    assert cover["expires_on"] == date(2025, 3, 15)
    assert cover["days_left"] == 365 and cover["km_left"] == 60_000 and cover["km_limit"] == 100_000
    assert cover["status"] == "covered"
    assert cover["words"] == "Covered: until 15 March 2025 or 100,000 km — 365 days and 60,000 km left."
    assert cover["time_used_percent"] == 50 and cover["km_used_percent"] == 40


def test_components_have_their_own_terms_and_only_where_they_apply(session, make):
    vehicle, _ = _car(make)  # the factory's trim is electric
    _terms(session, vehicle)
    cover = warranty.coverage(session=session, vehicle=vehicle, odometer_km=120_000, today=date(2026, 3, 1))
    lines = {line["component"]: line for line in cover["lines"]}
    assert set(lines) == {"vehicle", "powertrain", "battery"}  # no glow plugs on an electric car
    assert lines["vehicle"]["status"] == "expired" and cover["status"] == "expired"
    assert lines["powertrain"]["status"] == "expired"  # 120,000 km is past the 100,000 km
    assert "Expired at 100,000 km" in lines["powertrain"]["words"]
    assert lines["battery"]["status"] == "covered"
    assert lines["battery"]["expires_on"] == date(2031, 3, 15) and lines["battery"]["km_left"] == 40_000


def test_expiring_soon_by_days_or_by_kilometres(session, make):
    vehicle, _ = _car(make)
    _terms(session, vehicle, components=[])
    by_days = warranty.coverage(session=session, vehicle=vehicle, odometer_km=10_000, today=date(2025, 1, 1))
    assert by_days["status"] == "expiring_soon" and by_days["days_left"] == 73
    assert by_days["words"].startswith("Expiring soon: until 15 March 2025")
    by_km = warranty.coverage(session=session, vehicle=vehicle, odometer_km=96_000, today=date(2024, 1, 1))
    assert by_km["status"] == "expiring_soon" and by_km["km_left"] == 4_000
    fine = warranty.coverage(session=session, vehicle=vehicle, odometer_km=94_999, today=date(2024, 1, 1))
    assert fine["status"] == "covered"
    ended = warranty.coverage(session=session, vehicle=vehicle, odometer_km=10_000, today=date(2025, 3, 15))
    assert ended["status"] == "expired" and ended["words"] == "Expired on 15 March 2025." and ended["days_left"] == 0


def test_unknown_odometer_is_said_not_guessed(session, make):
    vehicle, _ = _car(make)
    _terms(session, vehicle, components=[])
    cover = warranty.coverage(session=session, vehicle=vehicle, odometer_km=None, today=date(2024, 3, 15))
    assert cover["km_left"] is None and cover["km_used_percent"] is None and cover["status"] == "covered"
    assert "kilometres left unknown (no odometer reading yet)" in cover["words"]


def test_no_terms_and_a_car_nobody_owned_yet(session, make):
    stock = make.vehicle()
    assert warranty.coverage(session=session, vehicle=stock, odometer_km=0, today=date(2024, 1, 1))["status"] == (
        "no_terms")
    _terms(session, stock)
    cover = warranty.coverage(session=session, vehicle=stock, odometer_km=0, today=date(2024, 1, 1))
    assert cover["status"] == "not_started" and "starts when the car is handed to its first owner" in cover["words"]
    built = make.vehicle(production_date=date(2023, 1, 10))
    cover = warranty.coverage(session=session, vehicle=built, odometer_km=5, today=date(2024, 1, 1))
    assert cover["starts_on"] == date(2023, 1, 10) and cover["start_basis"] == "built"


def _bought(session, principal, vehicle, owner, *, odometer_km, today):
    """A dealer's offer, accepted by the owner: the only way an extension is bought."""
    offered = warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id,
                                      product_code="EXT2", odometer_km=odometer_km, today=today)
    return warranty.accept_offer(session=session, customer_id=owner.id, offer_id=offered.id,
                                 odometer_km=odometer_km, today=today)


def test_an_extension_starts_where_the_cover_ends_and_extends_it(session, make):
    vehicle, owner = _car(make)
    _terms(session, vehicle)
    _product(session)
    principal, dealer = _dealer_principal(make)
    contract = _bought(session, principal, vehicle, owner, odometer_km=50_000, today=date(2024, 12, 1))
    assert (contract.starts_on, contract.ends_on, contract.km_limit) == (date(2025, 3, 15), date(2027, 3, 15), 150_000)
    assert float(contract.price) == 990 and contract.customer_id == owner.id and contract.sold_by_dealer_id == dealer.id
    cover = warranty.coverage(session=session, vehicle=vehicle, odometer_km=120_000, today=date(2026, 1, 1))
    assert cover["status"] == "covered" and cover["expires_on"] == date(2027, 3, 15) and cover["km_left"] == 30_000
    assert "with extended warranty" in cover["words"]
    assert cover["contracts"][0]["status"] == "covered"
    lines = {line["component"]: line for line in cover["lines"]}
    assert lines["vehicle"]["status"] == "expired"  # the new-car warranty itself ended
    assert lines["powertrain"]["status"] == "covered"  # an all-component extension carries it on
    # before it starts, the contract says so
    early = warranty.coverage(session=session, vehicle=vehicle, odometer_km=60_000, today=date(2025, 1, 1))
    assert early["contracts"][0]["status"] == "upcoming"
    # a second extension follows the first
    second = _bought(session, principal, vehicle, owner, odometer_km=120_000, today=date(2026, 1, 1))
    assert (second.starts_on, second.km_limit) == (date(2027, 3, 15), 200_000)


def test_an_offer_buys_nothing_until_the_owner_accepts_it(session, make):
    """Attack: a dealer sold an extension in the owner's name without any action from the owner."""
    vehicle, owner = _car(make)
    _terms(session, vehicle)
    _product(session)
    principal, _ = _dealer_principal(make)
    offered = warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id,
                                      product_code="EXT2", odometer_km=50_000, today=date(2024, 12, 1))
    assert offered.status == "offered" and offered.customer_id == owner.id and offered.contract_id is None
    assert warranty.contracts_for(session=session, vehicle_id=vehicle.id) == []
    again = warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id,
                                    product_code="EXT2", odometer_km=50_000, today=date(2024, 12, 1))
    assert again.id == offered.id  # offering twice is one offer
    stranger = make.customer()
    with pytest.raises(NotFound):
        warranty.accept_offer(session=session, customer_id=stranger.id, offer_id=offered.id, today=date(2024, 12, 1))
    declined = warranty.decline_offer(session=session, customer_id=owner.id, offer_id=offered.id)
    assert declined.status == "declined" and warranty.contracts_for(session=session, vehicle_id=vehicle.id) == []
    with pytest.raises(Conflict):
        warranty.accept_offer(session=session, customer_id=owner.id, offer_id=offered.id, today=date(2024, 12, 1))


def test_the_owner_buys_in_one_step_only_their_own_car(session, make):
    """One click on an offer in the inbox buys the extension for the owner, and nobody else."""
    vehicle, owner = _car(make)
    _terms(session, vehicle)
    _product(session)
    _, dealer = _dealer_principal(make)
    stranger = make.customer()
    with pytest.raises(NotFound):
        warranty.buy_extension(session=session, customer_id=stranger.id, vehicle_id=vehicle.id, seller_id=dealer.id,
                               product_code="EXT2", odometer_km=50_000, today=date(2024, 12, 1))
    assert warranty.offers_for_owner(session=session, customer_id=owner.id) == []  # nothing offered by it
    contract = warranty.buy_extension(session=session, customer_id=owner.id, vehicle_id=vehicle.id,
                                      seller_id=dealer.id, product_code="EXT2", odometer_km=50_000,
                                      today=date(2024, 12, 1))
    assert contract.customer_id == owner.id and contract.sold_by_dealer_id == dealer.id
    assert contract.starts_on == date(2025, 3, 15)
    offers = warranty.offers_for_owner(session=session, customer_id=owner.id, vehicle_id=vehicle.id)
    assert [(o.status, o.contract_id) for o in offers] == [("accepted", contract.id)]


def test_selling_is_refused_once_the_cover_has_ended(session, make):
    vehicle, owner = _car(make)
    _terms(session, vehicle)
    _product(session)
    principal, _ = _dealer_principal(make)
    with pytest.raises(Invalid, match="has ended .*only be sold while the car is still covered"):
        warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id, product_code="EXT2",
                                odometer_km=10_000, today=date(2025, 6, 1))
    with pytest.raises(Invalid, match="expired at 100,000 km"):
        warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id, product_code="EXT2",
                                odometer_km=101_000, today=date(2024, 6, 1))
    with pytest.raises(Invalid, match="no extended warranty 'NOPE'"):
        warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id, product_code="NOPE",
                                odometer_km=1, today=date(2024, 6, 1))
    other_model = vehicles_service.create_model(session=session, code=f"OM{make.n()}", name="Other", body="suv",
                                                year_from=2020)
    _product(session, code="OTHER", model_id=other_model.id)
    with pytest.raises(Invalid, match="is not offered for the Aurora"):
        warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id, product_code="OTHER",
                                odometer_km=1, today=date(2024, 6, 1))
    stock = make.vehicle()
    with pytest.raises(Invalid, match="has none yet"):
        warranty.offer_extended(session=session, principal=principal, vehicle_id=stock.id, product_code="EXT2")
    with pytest.raises(NotFound):
        warranty.offer_extended(session=session, principal=principal, vehicle_id=999_999, product_code="EXT2")
    # offered while covered, accepted after the cover ended: not sold
    offered = warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id,
                                      product_code="EXT2", odometer_km=10_000, today=date(2024, 6, 1))
    with pytest.raises(Invalid, match="only be sold while the car is still covered"):
        warranty.accept_offer(session=session, customer_id=owner.id, offer_id=offered.id, odometer_km=10_000,
                              today=date(2025, 6, 1))


def test_terms_are_validated_and_replaced(session, make):
    vehicle, _ = _car(make)
    with pytest.raises(Invalid, match="years must be a whole number"):
        warranty.set_terms(session=session, model_code=vehicle.trim.model.code, years=0, km=100_000)
    with pytest.raises(Invalid, match="The warranty on “battery”: kilometres"):
        warranty.set_terms(session=session, model_code=vehicle.trim.model.code, years=2, km=100_000,
                           components=[{"component": "battery", "years": 8, "km": -1}])
    with pytest.raises(NotFound):
        warranty.set_terms(session=session, model_code="NO-SUCH-MODEL", years=2, km=1)
    first = _terms(session, vehicle)
    again = warranty.set_terms(session=session, model_code=vehicle.trim.model.code, years=3, km=150_000)
    assert first.id == again.id and (again.years, again.km, again.components) == (3, 150_000, [])
    assert warranty.terms_for(session=session, model_id=vehicle.trim.model_id).years == 3
    assert warranty.terms_for(session=session, model_id=vehicle.trim.model_id, market="FR") is None


def test_products_on_sale_for_a_model(session, make):
    vehicle, _ = _car(make)
    everywhere = _product(session, code="ALL-3", years=3)
    own = _product(session, code="OWN-1", years=1, model_id=vehicle.trim.model_id)
    retired = _product(session, code="OLD-1", years=1)
    retired.is_active = False
    codes = [p.code for p in warranty.list_products(session=session, model_id=vehicle.trim.model_id)]
    assert own.code in codes and everywhere.code in codes and "OLD-1" not in codes
    assert codes.index("OWN-1") < codes.index("ALL-3")  # shortest first

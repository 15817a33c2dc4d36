"""Quotes on fleet deals: versions supersede each other, totals are computed, acceptance sets the amount."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from forecourt.core.auth import Role
from forecourt.core.errors import Invalid, NotFound
from forecourt.sales import opportunities as opps
from forecourt.sales import quotes
from tests.sales.test_opportunities import configuration, principal_of


@pytest.fixture
def fleet(make, session):
    dealer = make.dealer()
    rep = principal_of(session, make.staff(dealer, Role.DEALER_SALES))
    deal = opps.create(session=session, principal=rep, values=dict(kind="fleet", account_name="Kiel Taxi eG",
                                                                   quantity=20, rfp_reference="KT-1"))
    return rep, deal


def test_versions_supersede_and_totals_are_computed(make, session, fleet):
    rep, deal = fleet
    config = configuration(make, total=40000)
    first = quotes.add_quote(session=session, principal=rep, opportunity_id=deal.id, lines=[
        {"configuration_code": config.code, "quantity": 20, "discount_percent": 7.5},
        {"description": "Wallbox installation", "quantity": 20, "unit_price": 899.99}],
        valid_until=date.today() + timedelta(days=30), note="First answer to the RFP")
    # 20 × 40 000 × 92.5 % = 740 000; 20 × 899.99 = 17 999.80
    assert [line["line_total"] for line in first.lines] == [740000.0, 17999.8]
    assert float(first.total) == 757999.8 and first.version == 1 and first.status == "draft"
    assert first.lines[0]["description"].startswith("Aurora") and first.lines[0]["unit_price"] == 40000.0
    quotes.send(session=session, principal=rep, opportunity_id=deal.id, version=1)
    assert first.status == "sent"
    second = quotes.add_quote(session=session, principal=rep, opportunity_id=deal.id, lines=[
        {"description": "Aurora Comfort, fleet spec", "quantity": 3, "unit_price": 100.005, "discount_percent": 0}])
    assert (second.version, first.status, second.status) == (2, "superseded", "draft")
    assert float(second.total) == 300.03
    with pytest.raises(Invalid, match="superseded"):
        quotes.accept(session=session, principal=rep, opportunity_id=deal.id, version=1)
    quotes.accept(session=session, principal=rep, opportunity_id=deal.id, version=2)
    assert second.status == "accepted" and float(deal.amount) == 300.03
    with pytest.raises(NotFound):
        quotes.send(session=session, principal=rep, opportunity_id=deal.id, version=9)


def test_bad_lines_are_refused_in_words(make, session, fleet):
    rep, deal = fleet
    for lines, message in (([], "at least one line"),
                           ([{"quantity": 2, "unit_price": 10}], "Line 1: describe what is offered"),
                           ([{"description": "Mats", "quantity": 1}], "Line 1: give a unit price"),
                           ([{"description": "Mats", "unit_price": 5, "discount_percent": 120}], "between 0 and 100"),
                           ([{"configuration_code": "NOPE-NOPE"}], "no configuration with this code")):
        with pytest.raises(Invalid, match=message):
            quotes.add_quote(session=session, principal=rep, opportunity_id=deal.id, lines=lines)
    with pytest.raises(Invalid, match="in the past"):
        quotes.add_quote(session=session, principal=rep, opportunity_id=deal.id,
                         lines=[{"description": "Mats", "unit_price": 5}], valid_until=date.today() - timedelta(days=1))
    assert opps.quotes_of(session=session, opportunity_id=deal.id) == []


def test_another_dealer_cannot_quote(make, session, fleet):
    _, deal = fleet
    other = principal_of(session, make.staff(make.dealer(), Role.DEALER_SALES))
    with pytest.raises(NotFound):
        quotes.add_quote(session=session, principal=other, opportunity_id=deal.id,
                         lines=[{"description": "Mats", "unit_price": 5}])

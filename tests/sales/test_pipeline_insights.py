"""Pipeline insights: lead conversion, buying factors, fleet tenders and lessons, with known answers.

Built on the hand-made pipeline of ``pipeline_data`` (frozen at its ``NOW``, first quarter of 2026),
plus leads tied to some of its deals, buying factors on the closed ones, and three fleet deals.
"""

from __future__ import annotations

import re

import csv
import io
from datetime import timedelta

import pytest

from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.sales import pipeline
from forecourt.sales.models import Lead, Opportunity
from tests.factories import browser_for
from tests.sales.pipeline_data import FROM, NOW, TO, at, build, deal

PERIOD = {"date_from": FROM.isoformat(), "date_to": TO.isoformat()}


def _lead(session, dealer, source, model, created, status="new", deal_id=None) -> Lead:
    lead = Lead(dealer_id=dealer.id, source=source, model_id=model.id, status=status, created_at=created,
                updated_at=created)
    session.add(lead)
    session.flush()
    if deal_id is not None:
        _deal(session, deal_id).lead_id = lead.id
    return lead


def _deal(session, ref) -> Opportunity:
    return ref if isinstance(ref, Opportunity) else session.get(Opportunity, ref)


@pytest.fixture
def data(make, session):
    built = build(make, session)
    d, b, ids = built.dealer, built.dealer_b, built.ids
    _lead(session, d, "web_form", built.m1, at(2026, 1, 1), "converted", ids[4])  # 4 days to deal 4
    _lead(session, d, "test_drive", built.m2, at(2026, 1, 7), "converted", ids[5])  # 3 days to deal 5
    _lead(session, d, "web_form", built.m1, at(2026, 2, 10), "contacted")  # not (yet) a deal
    _lead(session, d, "event", built.m1, at(2026, 2, 11), "merged")  # merged: counted in the other one
    _lead(session, d, "web_form", built.m1, at(2025, 12, 1), "disqualified")  # before the period
    _lead(session, b, "web_form", built.m1, at(2026, 1, 1), "converted", ids[9])  # 1 day to deal 9
    _deal(session, ids[4]).buying_factors = {"price": True, "safety": False}
    _deal(session, ids[5]).buying_factors = {"price": False}
    _deal(session, ids[6]).buying_factors = {"price": True, "trade_in_value": True}
    fleet = []
    for status, rfp, quantity, amount, reason, note in (
            ("won", "RFP-1", 10, 300000, None, ""), ("lost", "RFP-2", 5, 175000, "price", "We were 5,000 € too high."),
            ("lost", None, 4, 120000, "competitor", "")):
        row = deal(session, dealer=d, rep=built.rep1, model=built.m1, amount=amount, created=at(2026, 1, 20),
                   path=["new", status], status=status, closed=at(2026, 2, 20), reason=reason, note=note, kind="fleet")
        row.rfp_reference, row.quantity = rfp, quantity
        fleet.append(row.id)
    session.commit()
    built.ids["fleet"] = fleet
    return built


@pytest.fixture
def scope_of(make, session):
    def scope(login, **filters):
        return pipeline.scope_for(session=session, principal=make.principal(login), date_from=FROM, date_to=TO,
                                  **filters)
    return scope


def test_lead_conversion_by_source_month_and_days(session, data, scope_of):
    with frozen_at(NOW):
        figures = pipeline.insights(session=session, scope=scope_of(data.rep1))
    leads = figures["leads"]
    assert leads["total"] == {"key": None, "label": None, "leads": 3, "converted": 2, "rate": 0.6667,
                              "median_days": 3.5}
    by_source = {r["key"]: r for r in leads["source"]}
    assert (by_source["web_form"]["leads"], by_source["web_form"]["converted"]) == (2, 1)
    assert by_source["web_form"]["median_days"] == 4 and by_source["test_drive"]["median_days"] == 3
    assert by_source["web_form"]["label"] == "Web form"
    assert [(m["key"], m["leads"], m["converted"]) for m in leads["month"]] == [
        ("2026-01", 2, 2), ("2026-02", 1, 0), ("2026-03", 0, 0)]
    assert [r["key"] for r in leads["dealer"]] == [data.dealer.id]  # a rep sees their own dealer only
    assert {r["label"] for r in leads["model"]} == {data.m1.name, data.m2.name}


def test_the_carmaker_sees_the_network_and_names_dealers(session, data, make, scope_of):
    admin = make.staff(make.carmaker(), Role.CARMAKER_ADMIN)
    figures = pipeline.insights(session=session, scope=scope_of(admin))
    total = figures["leads"]["total"]
    assert total["leads"] >= 4 and total["converted"] >= 3
    names = {r["key"]: r["label"] for r in figures["leads"]["dealer"]}
    assert names[data.dealer.id] == data.dealer.name and names[data.dealer_b.id] == data.dealer_b.name
    # the network's deals are read another way on SQLite (the whole table in order): the same answers
    network = {f["code"]: f for f in figures["buying_factors"]["factors"]}
    assert (network["price"]["won"], network["price"]["lost"]) >= (2, 1)
    assert figures["tenders"]["rfp"]["won"] >= 1 and figures["lessons"]["written"] >= 2
    one_dealer = pipeline.insights(session=session, scope=scope_of(admin, dealer_id=data.dealer.id))
    assert one_dealer["buying_factors"] == pipeline.insights(session=session, scope=scope_of(data.rep1))["buying_factors"]


def test_buying_factors_in_won_and_lost_deals(session, data, scope_of):
    figures = pipeline.insights(session=session, scope=scope_of(data.rep1))
    factors = {f["code"]: f for f in figures["buying_factors"]["factors"]}
    assert figures["buying_factors"]["won"] == 3 and figures["buying_factors"]["lost"] == 4
    price = factors["price"]
    assert (price["won"], price["lost"], price["win_rate"], price["covered_win_rate"]) == (2, 1, 0.6667, 0.5)
    assert price["won_share"] == 0.6667 and price["lost_share"] == 0.25
    assert (factors["safety"]["won"], factors["safety"]["lost"]) == (1, 0)
    assert (factors["trade_in_value"]["won"], factors["trade_in_value"]["lost"]) == (0, 1)
    assert figures["buying_factors"]["factors"][0]["code"] == "price"  # most named first


def test_fleet_tenders_win_rate_and_price_gap(session, data, scope_of):
    tenders = pipeline.insights(session=session, scope=scope_of(data.rep1))["tenders"]
    assert tenders["rfp"] == {"won": 1, "lost": 1, "lost_on_price": 1, "win_rate": 0.5}
    assert tenders["no_rfp"] == {"won": 0, "lost": 1, "lost_on_price": 0, "win_rate": 0.0}
    [eur] = tenders["prices"]
    assert (eur["currency"], eur["won_per_car"], eur["lost_per_car"], eur["gap_per_car"]) == ("EUR", 30000, 35000,
                                                                                              5000)
    assert eur["gap_share"] == 0.1667


def test_lessons_across_post_mortems(session, data, scope_of):
    lessons = pipeline.insights(session=session, scope=scope_of(data.rep1))["lessons"]
    assert (lessons["lost"], lessons["written"]) == (4, 2)
    by_reason = {r["reason"]: (r["lost"], r["written"]) for r in lessons["by_reason"]}
    assert by_reason == {"price": (2, 2), "competitor": (2, 0)}
    assert [n["note"] for n in lessons["notes"]] == ["We were 5,000 € too high.",
                                                     "Too expensive compared with the rival offer."]


def test_a_rep_of_another_dealer_sees_none_of_it(session, data, scope_of):
    figures = pipeline.insights(session=session, scope=scope_of(data.rep3))
    assert figures["leads"]["total"]["leads"] == 1 and figures["lessons"]["lost"] == 0
    assert figures["tenders"]["rfp"]["won"] == 0


def test_the_page_draws_every_chart_and_the_csv_matches(make, client, data):
    browser = browser_for(make, data.rep1)
    with frozen_at(NOW):
        page = browser.get("/workspace/pipeline/insights", params=PERIOD)
        export = browser.get("/workspace/pipeline/insights.csv", params=PERIOD)
        other = client.get("/api/pipeline/insights", params=PERIOD | {"dealer_id": data.dealer_b.id},
                           headers=data.rep1.headers)
        api = client.get("/api/pipeline/insights", params=PERIOD, headers=data.rep1.headers)
    assert page.status_code == 200
    html = page.text
    for chart in ("lead-months-chart", "lead-source-chart", "lead-dealer-chart", "lead-model-chart", "factors-chart",
                  "tenders-chart", "lessons-chart"):
        assert f'<svg id="{chart}"' in html
    # the charts are drawn on the server: the page's body loads no script but the site's menu
    assert re.findall(r'<script[^>]*src="([^"]+)"', html.split("<main", 1)[-1]) == ["/static/js/menu.js"]
    assert "We were 5,000 € too high." in html and data.dealer_b.name not in html
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert ["leads", "conversion rate", "all", "0.6667"] in rows
    assert ["tenders", "price gap per car (EUR)", "RFP", "5000.0"] in rows
    assert any(r[:2] == ["lesson", "post-mortem"] and r[3] == "We were 5,000 € too high." for r in rows)
    assert other.status_code == 404
    assert api.status_code == 200 and api.json()["leads"]["total"]["converted"] == 2


def test_a_note_is_never_a_spreadsheet_formula(session, data, scope_of):
    session.get(Opportunity, data.ids["fleet"][1]).post_mortem = "=HYPERLINK(\"http://x\")"
    session.commit()
    figures = pipeline.insights(session=session, scope=scope_of(data.rep1), notes=pipeline.CSV_NOTES)
    text = pipeline.insights_csv_text(figures=figures)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_a_german_reader_gets_german_numbers(make, data):
    browser = browser_for(make, data.rep1)
    with frozen_at(NOW):
        page = browser.get("/workspace/pipeline/insights", params=PERIOD, headers={"Accept-Language": "de"})
    assert page.status_code == 200 and "66,7" in page.text


def test_the_period_moves_with_the_leads(make, session, data, scope_of):
    scope = scope_of(data.rep1)
    later = pipeline.scope_for(session=session, principal=make.principal(data.rep1),
                               date_from=FROM + timedelta(days=40), date_to=TO)
    assert pipeline.insights(session=session, scope=later)["leads"]["total"]["leads"] == 1
    assert pipeline.insights(session=session, scope=scope)["leads"]["total"]["leads"] == 3

"""The shapes the dashboards' queries take for speed (shared passes, per-month counts, conditional
sums, one lookup per deal in the funnel) give the same answers as the plain definitions."""

from __future__ import annotations

from datetime import date

import pytest

from forecourt.core.clock import frozen_at
from forecourt.sales import pipeline
from forecourt.sales.pipeline.dashboards import Facts
from tests.sales.pipeline_data import FROM, NOW, TO, at, build, deal
from tests.sales.test_pipeline import principal


@pytest.fixture
def data(make, session):
    return build(make, session)


def scope(session, login, **filters):
    filters = {"date_from": FROM, "date_to": TO} | filters
    with frozen_at(NOW):
        return pipeline.scope_for(session=session, principal=principal(session, login), **filters)


def test_the_page_shares_one_pass_and_says_what_each_dashboard_says(session, data):
    mine = scope(session, data.rep1)
    page = pipeline.dashboard(session=session, scope=mine)
    assert page["volume"] == pipeline.volume(session=session, scope=mine)
    assert page["speed"] == pipeline.speed(session=session, scope=mine)
    assert page["performance"] == pipeline.performance(session=session, scope=mine)
    assert page["trend"] == pipeline.trend(session=session, scope=mine)
    assert page["benchmark"] == pipeline.network_benchmark(session=session, scope=mine)


def test_months_are_clipped_to_a_period_that_starts_and_ends_mid_month(session, data):
    mid = scope(session, data.rep1, date_from=date(2026, 1, 11), date_to=date(2026, 2, 3))
    assert [(m, start.date(), end.date()) for m, start, end in mid.month_ranges()] == [
        ("2026-01", date(2026, 1, 11), date(2026, 2, 1)), ("2026-02", date(2026, 2, 1), date(2026, 2, 4))]
    months = pipeline.trend(session=session, scope=mid)["months"]
    # started: deal 6 (15 Jan), deals 1 and 7 (1 Feb); deal 5 (10 Jan) is a day early.
    # won: deal 5 on 20 Jan; deal 4 on 4 Feb is a day late
    assert [(m["month"], m["new"], m["won"], m["lost"], m["value_won"]) for m in months] == [
        ("2026-01", 1, 1, 0, 60000.0), ("2026-02", 2, 0, 0, 0.0)]


def test_lost_reasons_outside_the_list_and_missing_ones_are_counted(make, session, data):
    for reason in ("warranty", "warranty", None):
        deal(session, dealer=data.dealer, rep=data.rep2, model=data.m1, amount=1000, created=at(2026, 3, 2),
             path=["new", "lost"], status="lost", closed=at(2026, 3, 5), reason=reason)
    figures = pipeline.performance(session=session, scope=scope(session, data.rep1))
    assert [(r["reason"], r["count"]) for r in figures["lost_reasons"]] == [
        ("warranty", 2), ("competitor", 1), ("other", 1), ("price", 1)]
    assert by_reason(figures)["warranty"]["label"] == "Warranty"
    assert Facts(session, scope(session, data.rep1)).lost == {"2026-01": 0, "2026-02": 1, "2026-03": 4}


def by_reason(figures):
    return {r["reason"]: r for r in figures["lost_reasons"]}


def test_the_funnel_remembers_how_far_a_deal_got_before_it_went_back(session, data):
    before = [s["reached"] for s in pipeline.speed(session=session, scope=scope(session, data.rep1))["funnel"]]
    # reached negotiation, was sent back to qualified and is still open there
    deal(session, dealer=data.dealer, rep=data.rep1, model=data.m1, amount=1000, created=at(2026, 3, 2),
         path=["new", "qualified", "offer", "negotiation", "qualified"], entered=at(2026, 3, 10))
    after = [s["reached"] for s in pipeline.speed(session=session, scope=scope(session, data.rep1))["funnel"]]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1, 1, 0]

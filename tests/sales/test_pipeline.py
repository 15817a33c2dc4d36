"""Every pipeline figure on a hand-made dataset with known answers (tests/sales/pipeline_data.py)."""

from __future__ import annotations

from datetime import date

import pytest

from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid, NotFound
from forecourt.parties import service as parties_service
from forecourt.sales import pipeline
from tests.sales.pipeline_data import FROM, NOW, TO, build
from tests.factories import admin_login


@pytest.fixture
def data(make, session):
    return build(make, session)


def principal(session, login):
    return parties_service.principal_for(parties_service.get_user(session=session, user_id=login.user_id))


def scope(session, login, **filters):
    filters = {"date_from": FROM, "date_to": TO} | filters
    with frozen_at(NOW):
        return pipeline.scope_for(session=session, principal=principal(session, login), **filters)


def by_code(rows, key="code"):
    return {row[key]: row for row in rows}


def test_volume_counts_and_values_open_deals_by_stage(session, data):
    figures = pipeline.volume(session=session, scope=scope(session, data.rep1))
    stages = by_code(figures["stages"])
    assert (stages["qualified"]["count"], stages["qualified"]["value"]) == (2, 50000.0)
    assert (stages["offer"]["count"], stages["offer"]["value"]) == (1, 50000.0)
    assert stages["new"]["count"] == 0 and stages["negotiation"]["count"] == 0
    assert (figures["open_count"], figures["open_value"]) == (3, 100000.0)
    probability = {s.code: s.probability for s in pipeline.stages(session=session)}
    assert figures["weighted_forecast"] == pytest.approx(
        50000 * probability["qualified"] / 100 + 50000 * probability["offer"] / 100)
    assert (figures["won_count"], figures["lost_count"], figures["won_value"]) == (2, 2, 100000.0)
    assert [s["code"] for s in figures["stages"]] == ["new", "qualified", "test_drive", "offer", "negotiation"]


def test_ageing_with_a_frozen_clock_and_overdue_deals(session, data):
    figures = pipeline.speed(session=session, scope=scope(session, data.rep1))
    ageing = by_code(figures["ageing"])
    assert (ageing["qualified"]["count"], ageing["qualified"]["mean_days"], ageing["qualified"]["median_days"]) == (
        2, 6.0, 6.0)
    assert (ageing["offer"]["mean_days"], ageing["offer"]["median_days"]) == (4.0, 4.0)
    assert ageing["new"]["mean_days"] is None
    overdue = figures["overdue"]
    assert (overdue["count"], overdue["value"]) == (2, 50000.0)
    assert [(s["code"], s["count"]) for s in overdue["by_stage"]] == [("qualified", 2)]
    assert [b["count"] for b in overdue["by_days_late"]] == [1, 1, 0, 0]  # 1 day and 14 days late


def test_conversion_follows_the_stage_changes_and_counts_skipped_stages_as_passed(session, data):
    figures = pipeline.speed(session=session, scope=scope(session, data.rep1))
    funnel = [(s["code"], s["reached"]) for s in figures["funnel"]]
    assert funnel == [("new", 7), ("qualified", 6), ("test_drive", 4), ("offer", 3), ("negotiation", 2), ("won", 2)]
    first = figures["conversion"][0]
    assert (first["from_code"], first["to_code"], first["reached"], first["went_on"]) == ("new", "qualified", 7, 6)
    assert first["rate"] == pytest.approx(6 / 7, abs=1e-4)
    assert by_code(figures["conversion"], "from_code")["negotiation"]["rate"] == 1.0


def test_cycle_time_of_won_deals(session, data):
    cycle = pipeline.speed(session=session, scope=scope(session, data.rep1))["cycle_time"]
    assert cycle == {"won": 2, "mean_days": 20.0, "median_days": 20.0}  # 30 and 10 days; deal 8 is outside


def test_performance_win_rate_reasons_targets_and_lessons(session, data):
    figures = pipeline.performance(session=session, scope=scope(session, data.rep1))
    assert (figures["won"], figures["lost"], figures["win_rate"], figures["value_won"]) == (2, 2, 0.5, 100000.0)
    assert [(r["reason"], r["count"], r["share"]) for r in figures["lost_reasons"]] == [
        ("competitor", 1, 0.5), ("price", 1, 0.5)]
    targets = by_code(figures["targets"], "month")
    assert (targets["2026-01"]["target_units"], targets["2026-01"]["won_units"], targets["2026-01"]["won_value"]) == (
        2, 1, 60000.0)
    assert targets["2026-01"]["units_percent"] == 50.0
    assert (targets["2026-02"]["target_value"], targets["2026-02"]["won_value"]) == (50000.0, 40000.0)
    assert "2026-03" not in targets  # no target and nothing won
    assert [(lesson["reason"], lesson["note"]) for lesson in figures["lessons"]] == [
        ("price", "Too expensive compared with the rival offer.")]
    assert figures["lessons"][0]["dealer_id"] is None  # a dealer is not told dealer ids


def test_trend_by_month(session, data):
    months = pipeline.trend(session=session, scope=scope(session, data.rep1))["months"]
    assert [(m["month"], m["new"], m["won"], m["lost"], m["value_won"]) for m in months] == [
        ("2026-01", 3, 1, 0, 60000.0), ("2026-02", 3, 1, 1, 40000.0), ("2026-03", 1, 0, 1, 0.0)]


def test_filters_by_rep_model_and_period(session, data):
    rep1 = scope(session, data.rep1, rep_id=data.rep1.user_id)
    assert pipeline.volume(session=session, scope=rep1)["open_count"] == 2
    assert pipeline.performance(session=session, scope=rep1)["win_rate"] == 0.5  # deal 4 won, deal 6 lost
    rep_targets = pipeline.performance(session=session, scope=rep1)["targets"]
    assert [(t["month"], t["target_units"], t["target_value"]) for t in rep_targets] == [("2026-02", 1, 45000.0)]

    model2 = scope(session, data.rep1, model_id=data.m2.id)
    assert by_code(pipeline.volume(session=session, scope=model2)["stages"])["offer"]["count"] == 1
    assert pipeline.volume(session=session, scope=model2)["open_count"] == 1
    performance = pipeline.performance(session=session, scope=model2)
    assert (performance["won"], performance["lost"], performance["targets"]) == (1, 1, [])

    february = scope(session, data.rep1, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28))
    assert [m["month"] for m in pipeline.trend(session=session, scope=february)["months"]] == ["2026-02"]
    assert pipeline.speed(session=session, scope=february)["funnel"][0]["reached"] == 3  # deals 1, 2, 7
    performance = pipeline.performance(session=session, scope=february)
    assert (performance["won"], performance["lost"]) == (1, 1)  # deals 4 and 6


def test_a_rep_sees_only_their_own_dealer(session, data):
    with pytest.raises(NotFound):
        scope(session, data.rep1, dealer_id=data.dealer_b.id)
    with pytest.raises(NotFound):
        scope(session, data.rep1, rep_id=data.rep3.user_id)
    mine = scope(session, data.rep1)
    assert mine.dealer_id == data.dealer.id and not mine.carmaker_view
    theirs = pipeline.volume(session=session, scope=scope(session, data.rep3))
    assert (theirs["open_count"], theirs["won_count"], theirs["won_value"]) == (1, 1, 70000.0)


def test_the_carmaker_sees_the_network_and_may_narrow_to_a_dealer(make, session, data):
    admin = admin_login(make)
    network = pipeline.volume(session=session, scope=scope(session, admin))
    assert (network["open_count"], network["won_count"], network["won_value"]) == (4, 3, 170000.0)
    only_b = pipeline.volume(session=session, scope=scope(session, admin, dealer_id=data.dealer_b.id))
    assert only_b["open_count"] == 1
    lessons = pipeline.performance(session=session, scope=scope(session, admin))["lessons"]
    assert lessons[0]["dealer_id"] == data.dealer.id


def test_other_roles_and_bad_periods_are_refused(make, session, data):
    from forecourt.core.auth import Role

    advisor = make.staff(data.dealer, Role.DEALER_SERVICE)
    with pytest.raises(NotFound):
        scope(session, advisor)
    with pytest.raises(Invalid):
        scope(session, data.rep1, date_from=date(2026, 3, 1), date_to=date(2026, 2, 1))


def test_the_default_period_is_the_last_twelve_whole_months(session, data):
    with frozen_at(NOW):
        default = pipeline.scope_for(session=session, principal=principal(session, data.rep1))
    assert (default.date_from, default.date_to) == (date(2025, 4, 1), date(2026, 3, 15))
    assert len(default.months()) == 12


def test_no_customer_data_in_any_figure(make, session, data):
    from forecourt.sales.models import Opportunity

    customer = make.customer(first_name="Zacharias", last_name="Quirinius", email="zq@private.example")
    session.get(Opportunity, data.ids[1]).customer_id = customer.id
    session.get(Opportunity, data.ids[1]).title = "Aurora for Zacharias Quirinius"
    session.flush()
    text = repr(pipeline.dashboard(session=session, scope=scope(session, data.rep1)))
    for marker in ("Zacharias", "Quirinius", "zq@private.example"):
        assert marker not in text

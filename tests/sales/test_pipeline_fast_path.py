"""The page's shortcuts (each deal's ``stages_reached`` kept as stage changes are written, shared passes
over the covering indexes) give the figures a plain reading of every deal and stage change gives, on a
random pipeline with deals sent back, skipped stages, losses and deals outside the period."""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

import pytest
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.sales import pipeline
from forecourt.sales.models import Opportunity, StageChange
from forecourt.sales.pipeline.sql import median_of
from forecourt.vehicles import service as vehicles_service
from tests.factories import admin_login
from tests.sales.pipeline_data import FROM, LADDER, NOW, TO, at, deal
from tests.sales.test_pipeline import principal

RUNGS = LADDER + ["won"]


def _random_pipeline(make, session, seed: int):
    rng = Random(seed)
    n = make.n()
    dealers = [make.dealer(name=f"Autohaus Zufall {n}-{i}") for i in range(2)]
    reps = [make.staff(dealers[i % 2], Role.DEALER_SALES) for i in range(3)]
    models = [vehicles_service.create_model(session=session, code=f"RZ{n}{i}", name=f"Zufall {n}-{i}",
                                            body="suv", year_from=2020) for i in range(2)]
    for _ in range(120):
        rep = rng.choice(reps)
        dealer = dealers[0] if rep in reps[0::2] else dealers[1]
        # some before the period; never a whole number of days from NOW or from each other (day counts stay exact)
        created = at(2025, 11, 1) + timedelta(hours=rng.randrange(0, 24 * 130), minutes=rng.randrange(1, 59))
        path = ["new"]
        for _ in range(rng.randrange(0, 7)):
            path.append(rng.choice(LADDER))  # forwards, sideways and back
        end = rng.random()
        status, closed, reason = "open", None, None
        entered = min(created + timedelta(days=rng.randrange(0, 40), hours=rng.randrange(1, 24)), NOW)
        if end < 0.3:
            path, status, closed = path + ["won"], "won", entered
        elif end < 0.55:
            path, status, closed, reason = path + ["lost"], "lost", entered, rng.choice(["price", "no_decision", None])
        deal(session, dealer=dealer, rep=rep, model=rng.choice(models), amount=rng.randrange(10_000, 90_000),
             created=created, path=path, status=status, closed=closed, entered=entered, reason=reason,
             expected=(created + timedelta(days=rng.randrange(5, 90))).date(), note="why" if rng.random() < 0.2 else "")
    session.flush()
    return reps


def _plain(session, scope) -> dict:
    """The figures from every row read into Python, by their definitions."""
    deals = session.scalars(select(Opportunity)).all()
    moves: dict[int, list[str]] = {}
    for change in session.scalars(select(StageChange)):
        moves.setdefault(change.opportunity_id, []).append(change.to_stage)

    def mine(o) -> bool:
        if scope.dealer_id is not None and o.dealer_id != scope.dealer_id:
            return False
        if scope.dealer_id is None and scope.currency_dealers is not None and o.dealer_id not in scope.currency_dealers:
            return False
        return scope.rep_id is None or o.owner_user_id == scope.rep_id

    def inside(moment) -> bool:
        return moment is not None and scope.start <= moment < scope.end

    started = [o for o in deals if mine(o) and inside(o.created_at)]
    closed = [o for o in deals if mine(o) and inside(o.closed_at)]
    open_ = [o for o in started if o.status == "open"]
    step = {code: i + 1 for i, code in enumerate(RUNGS)}
    furthest = [max([step.get(code, 0) for code in moves.get(o.id, [])] + [step.get(o.stage_code, 0)])
                for o in started]
    ageing = {}
    for o in open_:
        ageing.setdefault(o.stage_code, []).append(int((scope.now - o.stage_entered_at).total_seconds() // 86400))
    won_days = [int((o.closed_at - o.created_at).total_seconds() // 86400) for o in closed if o.status == "won"]
    today = scope.now.date()
    return {
        "open": {code: (sum(1 for o in open_ if o.stage_code == code),
                        round(sum(float(o.amount) for o in open_ if o.stage_code == code), 2)) for code in LADDER},
        "funnel": [sum(1 for f in furthest if f >= n) for n in range(1, len(RUNGS) + 1)],
        "won": sum(1 for o in closed if o.status == "won"), "lost": sum(1 for o in closed if o.status == "lost"),
        "started": {m: sum(1 for o in started if o.created_at.strftime("%Y-%m") == m) for m in scope.months()},
        "ageing": {code: (len(days), median_of([(d, 1) for d in days])) for code, days in ageing.items()},
        "overdue": sum(1 for o in open_ if o.expected_close is not None and o.expected_close < today),
        "cycle_median": median_of([(d, 1) for d in won_days]),
    }


def _shown(page: dict) -> dict:
    speed = page["speed"]
    return {
        "open": {s["code"]: (s["count"], s["value"]) for s in page["volume"]["stages"] if s["code"] in LADDER},
        "funnel": [s["reached"] for s in speed["funnel"]],
        "won": page["performance"]["won"], "lost": page["performance"]["lost"],
        "started": {m["month"]: m["new"] for m in page["trend"]["months"]},
        "ageing": {s["code"]: (s["count"], s["median_days"]) for s in speed["ageing"] if s["count"]},
        "overdue": speed["overdue"]["count"], "cycle_median": speed["cycle_time"]["median_days"],
    }


@pytest.mark.parametrize("seed", [3, 11])
def test_the_page_agrees_with_a_plain_reading_of_a_random_pipeline(make, session, seed):
    reps = _random_pipeline(make, session, seed)
    for login, filters in ((reps[0], {}), (reps[1], {"rep_id": reps[1].user_id}), (admin_login(make), {})):
        with frozen_at(NOW):
            scope = pipeline.scope_for(session=session, principal=principal(session, login), date_from=FROM,
                                       date_to=TO, **filters)
            page = pipeline.dashboard(session=session, scope=scope)
        assert _shown(page) == _plain(session, scope)
        assert _shown(page)["funnel"][0] > 0


def test_stages_reached_lists_each_stage_once_in_the_order_first_reached(make, session):
    reps = _random_pipeline(make, session, 5)
    sent_back = deal(session, dealer=make.dealer(name=f"Autohaus Zurück {make.n()}"), rep=reps[0],
                     model=vehicles_service.list_models(session=session)[0], amount=1, created=at(2026, 1, 3),
                     path=["new", "offer", "qualified", "offer", "negotiation"], entered=at(2026, 1, 9),
                     expected=date(2026, 2, 1))
    session.refresh(sent_back)
    assert sent_back.stages_reached == ",new,offer,qualified,negotiation,"


def test_the_bulk_loaders_write_the_stages_each_generated_deal_went_through():
    from forecourt.demo.sales_history import DEAL_COLUMNS, Car, Seller, deals

    generated = list(deals(rng=Random(4), now=NOW, sellers=[Seller(dealer_id=1, rep_ids=(7, 8))],
                           cars=[Car(model_id=1, name="Aurora", price=30000.0)], count=300))
    column = DEAL_COLUMNS.index("stages_reached")
    for row, changes in generated:
        assert row[column] == "," + "".join(f"{code}," for code in dict.fromkeys(c[3] for c in changes))
        assert row[DEAL_COLUMNS.index("stage_code")] in row[column].split(",")
    assert {row[column] for row, _ in generated} >= {",new,", ",new,qualified,test_drive,offer,negotiation,won,"}

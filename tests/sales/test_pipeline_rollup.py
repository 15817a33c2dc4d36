"""The pipeline's monthly rollup (``sales.rollup``) stays equal to a recount from the deals through every kind
of write — opened, moved on and back, reassigned, repriced, won, lost, reopened, the customer erased,
deleted — and the dashboards read from it give what a plain reading of the deals gives, for any period."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select

from forecourt.core.auth import Role
from forecourt.core.clock import advance, frozen_at
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.privacy import rights
from forecourt.sales import opportunities as opps
from forecourt.sales import pipeline, rollup
from forecourt.sales.models import Opportunity, StageChange
from forecourt.sales.pipeline import monthly
from forecourt.vehicles import service as vehicles_service
from tests.factories import Factory, admin_login
from tests.sales.test_opportunities import principal_of, shop, walk_in  # noqa: F401 (shop is a fixture)
from tests.sales.test_pipeline import principal
from tests.sales.test_pipeline_fast_path import _plain, _random_pipeline, _shown

LATE_JANUARY = datetime(2026, 1, 30, 22, 15, tzinfo=UTC)


def recount_agrees(session) -> None:
    assert rollup.differences(session=session) == []


def rows_of(session, table, dealer_id: int) -> dict[tuple, tuple]:
    columns = table.__table__.c
    keys = [c.name for c in table.__table__.primary_key.columns if c.name != "dealer_id"]
    measures = [c.name for c in table.__table__.columns if not c.primary_key]
    return {tuple(row[k] for k in keys): tuple(row[m] for m in measures) for row in session.execute(
        select(table.__table__).where(columns.dealer_id == dealer_id)).mappings()}


def test_every_write_of_a_deal_keeps_the_rollup_equal_to_a_recount(make, session, shop):  # noqa: F811
    dealer, rep, customer = shop
    other_rep = principal_of(session, make.staff(dealer, Role.DEALER_SALES))
    model = vehicles_service.create_model(session=session, code=f"RU{make.n()}", name="Rollup", body="suv",
                                          year_from=2020)
    with frozen_at(LATE_JANUARY):
        retail = walk_in(session, rep, customer, amount=30000)
        fleet = opps.create(session=session, principal=rep, values=dict(
            kind="fleet", account_name="Stadtwerke", quantity=3, amount=90000))
        recount_agrees(session)
        assert rows_of(session, rollup.StartedDeals, dealer.id) == {
            ("2026-01", "open", "new", ",new,", rep.user_id, 0): (2,)}

        advance(timedelta(days=2))  # into February: moves do not change the month a deal started in
        for stage in ("qualified", "offer", "qualified", "negotiation"):  # forwards, back and on again
            opps.move(session=session, principal=rep, opportunity_id=retail.id, stage_code=stage)
            recount_agrees(session)
        assert rows_of(session, rollup.StartedDeals, dealer.id)[
            ("2026-01", "open", "negotiation", ",new,qualified,offer,negotiation,", rep.user_id, 0)] == (1,)

        # reassigned to another rep, repriced and given a model, one change at a time and all at once
        opps.update(session=session, principal=rep, opportunity_id=retail.id, changes={"amount": 31500})
        opps.update(session=session, principal=rep, opportunity_id=retail.id,
                    changes={"owner_user_id": other_rep.user_id, "model_id": model.id, "title": "Rollup SUV"})
        recount_agrees(session)

        advance(timedelta(days=3, hours=5))
        opps.win(session=session, principal=other_rep, opportunity_id=retail.id)
        opps.lose(session=session, principal=rep, opportunity_id=fleet.id, reason="price")
        recount_agrees(session)
        closed = rows_of(session, rollup.ClosedDeals, dealer.id)
        assert closed[("2026-02", other_rep.user_id, model.id, "won")] == (1, 3150000, 5 * 86400000 + 5 * 3600000)
        assert closed[("2026-02", rep.user_id, 0, "lost")] == (1, 9000000, 0)
        assert rows_of(session, rollup.ClosedDetail, dealer.id) == {
            ("won", "", 5, "2026-02", other_rep.user_id, model.id): (1,),
            ("lost", "price", 0, "2026-02", rep.user_id, 0): (1,)}

        # reopened as a correction would do it: back in negotiation, no longer closed
        advance(timedelta(days=1))
        session.add(StageChange(opportunity_id=retail.id, from_stage="won", to_stage="negotiation",
                                changed_at=LATE_JANUARY + timedelta(days=6, hours=5)))
        retail.status, retail.stage_code, retail.closed_at = "open", "negotiation", None
        session.flush()
        recount_agrees(session)
        assert ("2026-02", other_rep.user_id, model.id, "won") not in rows_of(session, rollup.ClosedDeals, dealer.id)

        # won by an online order; then the customer is erased: the deal stays in the dealer's books
        opps.close_won_by_order(session=session, opportunity_id=retail.id, at=LATE_JANUARY + timedelta(days=7))
        rights.erase(session=session, customer_id=customer.id)
        session.refresh(retail)
        assert retail.customer_id is None and retail.status == "won"
        recount_agrees(session)

        # a deal deleted with its history leaves no row behind
        session.execute(delete(StageChange).where(StageChange.opportunity_id == fleet.id))
        session.delete(fleet)
        session.flush()
        recount_agrees(session)
    assert all(key[1] != "lost" for key in rows_of(session, rollup.ClosedDeals, dealer.id))
    assert sum(n for (n,) in rows_of(session, rollup.StartedDeals, dealer.id).values()) == 1


def test_a_deal_moved_to_another_dealer_or_back_in_time_moves_its_rows(make, session, shop):  # noqa: F811
    dealer, rep, customer = shop
    elsewhere = make.dealer()
    with frozen_at(LATE_JANUARY):
        deal = walk_in(session, rep, customer, amount=20000)
        deal.created_at = LATE_JANUARY - timedelta(days=40)  # imported with the day it really started
        session.flush()
        recount_agrees(session)
        assert {key[0] for key in rows_of(session, rollup.StartedDeals, dealer.id)} == {"2025-12"}
        deal.dealer_id = elsewhere.id
        session.flush()
        recount_agrees(session)
    assert rows_of(session, rollup.StartedDeals, dealer.id) == {}
    assert len(rows_of(session, rollup.StartedDeals, elsewhere.id)) == 1


def test_deals_written_around_the_orm_are_counted_by_a_rebuild(make, session):
    reps = _random_pipeline(make, session, 7)
    recount_agrees(session)
    dealer_id = session.scalar(select(Opportunity.dealer_id).where(Opportunity.owner_user_id == reps[0].user_id)
                               .limit(1))
    first = session.scalar(select(func.max(Opportunity.id))) + 1
    session.execute(insert(Opportunity.__table__), [  # as a bulk loader writes them: no ORM, no rollup
        {"id": first + n, "dealer_id": dealer_id, "owner_user_id": reps[0].user_id, "kind": "retail",
         "title": "Loaded", "quantity": 1, "amount": 1000 + n, "currency": "EUR", "stage_code": "won",
         "status": "won", "buying_factors": {}, "post_mortem": "", "rfp_requirements": "",
         "created_at": datetime(2026, 2, 1, 9, tzinfo=UTC) + timedelta(days=n),
         "stage_entered_at": datetime(2026, 2, 20, tzinfo=UTC), "closed_at": datetime(2026, 2, 20, tzinfo=UTC),
         "stages_reached": ",new,won,"} for n in range(3)])
    assert len(rollup.differences(session=session)) >= 3
    counts = rollup.rebuild(session=session)
    assert counts["sales_rollup_started"] == session.scalar(select(func.count()).select_from(rollup.StartedDeals))
    recount_agrees(session)
    from tests.sales.pipeline_data import FROM, NOW, TO
    with frozen_at(NOW):
        scope = pipeline.scope_for(session=session, principal=principal(session, admin_login(make)), date_from=FROM,
                                   date_to=TO)
        assert _shown(pipeline.dashboard(session=session, scope=scope)) == _plain(session, scope)


@pytest.mark.parametrize("period", [(date(2026, 1, 11), date(2026, 2, 3)), (date(2025, 12, 31), date(2026, 3, 14)),
                                    (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 3, 2), date(2026, 4, 30))])
def test_periods_that_cut_months_read_the_edges_from_the_deals(make, session, period):
    """Deals closed after the moment of looking (in the rest of the month) are taken away, not forgotten."""
    from tests.sales.pipeline_data import NOW
    reps = _random_pipeline(make, session, 13)
    late = session.scalars(select(Opportunity).where(Opportunity.status == "won").limit(4)).all()
    for n, deal in enumerate(late):  # closed in the future of NOW, in NOW's month and the next
        deal.closed_at = NOW + timedelta(days=3 + 9 * n, hours=2)
    session.flush()
    for login, filters in ((reps[0], {}), (admin_login(make), {})):
        with frozen_at(NOW):
            scope = pipeline.scope_for(session=session, principal=principal(session, login), date_from=period[0],
                                       date_to=period[1], **filters)
            assert _shown(pipeline.dashboard(session=session, scope=scope)) == _plain(session, scope)


def test_a_cut_month_is_read_from_the_side_with_fewer_days_before_now():
    now = datetime(2026, 3, 15, 12, tzinfo=UTC)
    day = timedelta(days=1)
    # the last twelve months to today: the rest of March is after now, so March is its rollup row less that rest
    whole, added, removed = monthly.pieces(datetime(2025, 4, 1, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC), now)
    assert whole[0] == "2025-04" and whole[-1] == "2026-03" and len(whole) == 12
    assert added == [] and removed == [(datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))]
    # a period from the 3rd of a past month: two days taken away beat 29 days added
    whole, added, removed = monthly.pieces(datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), now)
    assert (whole, added, removed) == (["2026-01"], [], [(datetime(2026, 1, 1, tzinfo=UTC),
                                                          datetime(2026, 1, 3, tzinfo=UTC))])
    # the middle of a past month: the part inside is shorter
    start = datetime(2026, 2, 10, tzinfo=UTC)
    assert monthly.pieces(start, start + 5 * day, now) == ([], [(start, start + 5 * day)], [])


def test_two_transactions_changing_one_deal_at_once_leave_the_rollup_exact(fresh_database_url):
    """The second writer takes the deal out of the rollup only once the first has committed, as the first
    left it (PostgreSQL: the row is locked before it is read; SQLite: the write turn)."""
    sessions = make_sessionmaker(get_engine(fresh_database_url("rollup_race")))
    with transaction(sessions) as session:
        dealer = Factory(session=session, client=None).dealer()
        deal = Opportunity(dealer_id=dealer.id, title="A car", amount=30000, stage_code="new", status="open")
        session.add(deal)
    done = []

    def reprice() -> None:
        with transaction(sessions, write=True) as other:
            other.get(Opportunity, deal.id).amount = 35000
        done.append(True)

    with transaction(sessions, write=True) as first:
        won = first.get(Opportunity, deal.id)
        won.status, won.stage_code, won.closed_at = "won", "won", won.created_at + timedelta(days=3)
        first.flush()
        second = threading.Thread(target=reprice)
        second.start()
        second.join(timeout=1)
        assert second.is_alive() and not done  # waits for the first to finish
    second.join(timeout=30)
    assert done
    with sessions() as session:
        recount_agrees(session)
        assert session.execute(select(rollup.ClosedDeals.deals, rollup.ClosedDeals.amount_cents)).all() == [(1, 3500000)]

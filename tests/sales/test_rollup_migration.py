"""Migration 0029 fills the pipeline's monthly rollup from the deals already there (as the application counts
them: a recount finds nothing to change) and adds the index of open deals; going back removes both. On SQLite
and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import func, inspect, select, text

from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.migrations import downgrade, upgrade
from forecourt.sales import rollup
from tests import conftest

BEFORE = "0028_eng20b"
# id, owner, model, status, stage, reason, amount, created, closed
DEALS = [(1, 7, 3, "open", "offer", None, "30000.10", "2025-01-05 10:00:00", None),
         (2, 7, 3, "won", "won", None, "41000.00", "2025-01-20 08:00:00", "2025-02-03 20:00:00"),
         (3, None, None, "lost", "lost", None, "15000.00", "2025-01-21 09:00:00", "2025-02-10 09:00:00"),
         (4, 7, 3, "lost", "lost", "price", "22000.55", "2025-02-01 00:00:00", "2025-02-02 00:00:00"),
         (5, 7, 3, "won", "won", None, "39000.00", "2025-01-31 23:30:00", "2025-02-05 23:29:00")]


@pytest.fixture
def old_database(tmp_path):
    if conftest.test_database_kind() == "postgresql":
        name = f"forecourt_test_m0029_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = conftest._create_pg_database(name)
        yield url
        get_engine(url).dispose()
        conftest._drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'old.db'}"


def test_existing_deals_are_rolled_up_as_the_application_counts_them(old_database):
    upgrade(old_database, BEFORE)
    with get_engine(old_database).begin() as connection:
        connection.execute(text("insert into organizations (id, kind, code, name, country, opening_hours, service_bays, "
                                "is_active, created_at) values (1, 'dealer', 'D-1', 'Autohaus Spree', 'DE', '{}', 0, "
                                "true, '2025-01-01 00:00:00')"))
        connection.execute(text("insert into users (id, email, display_name, password_hash, role, organization_id, "
                                "is_active, created_at) values (7, 'rep@example.test', 'Rep', 'x', 'dealer_sales', 1, "
                                "true, '2025-01-01 00:00:00')"))
        connection.execute(text("insert into vehicle_models (id, code, name, body, year_from) values "
                                "(3, 'AU', 'Aurora', 'hatchback', 2020)"))
        for deal_id, owner, model, status, stage, reason, amount, created, closed in DEALS:
            connection.execute(text(
                "insert into sales_opportunities (id, dealer_id, owner_user_id, model_id, kind, title, quantity, amount, "
                "currency, stage_code, status, lost_reason, buying_factors, post_mortem, rfp_requirements, created_at, "
                "stage_entered_at, closed_at, stages_reached) values (:id, 1, :owner, :model, 'retail', 'A car', 1, "
                ":amount, 'EUR', :stage, :status, :reason, '{}', '', '', :created, :created, :closed, :reached)"),
                {"id": deal_id, "owner": owner, "model": model, "amount": amount, "stage": stage, "status": status,
                 "reason": reason, "created": created, "closed": closed, "reached": f",new,{stage},"})
    upgrade(old_database)

    with make_sessionmaker(get_engine(old_database))() as session:
        assert rollup.differences(session=session) == []
        started = dict(session.execute(select(rollup.StartedDeals.month, func.sum(rollup.StartedDeals.deals))
                                       .group_by(rollup.StartedDeals.month)).all())
        assert started == {"2025-01": 4, "2025-02": 1}
        closed = {(r.status, r.owner_user_id, r.model_id): (r.month, r.deals, r.amount_cents, r.cycle_ms)
                  for r in session.scalars(select(rollup.ClosedDeals))}
        assert closed == {("won", 7, 3): ("2025-02", 2, 8000000, (14 * 24 + 12) * 3600000 + 5 * 86400000 - 60000),
                          ("lost", 0, 0): ("2025-02", 1, 1500000, 0), ("lost", 7, 3): ("2025-02", 1, 2200055, 0)}
        detail = {(r.status, r.lost_reason, r.cycle_days): r.deals for r in session.scalars(select(rollup.ClosedDetail))}
        assert detail == {("won", "", 14): 1, ("won", "", 4): 1, ("lost", "other", 0): 1, ("lost", "price", 0): 1}
    indexes = {i["name"] for i in inspect(get_engine(old_database)).get_indexes("sales_opportunities")}
    assert "ix_sales_opportunities_open" in indexes

    downgrade(old_database, BEFORE)
    engine = get_engine(old_database)
    engine.dispose()
    tables = set(inspect(engine).get_table_names())
    assert not tables & {"sales_rollup_started", "sales_rollup_closed", "sales_rollup_closed_detail"}
    assert "sales_opportunities" in tables
    assert "ix_sales_opportunities_open" not in {i["name"] for i in inspect(engine).get_indexes("sales_opportunities")}

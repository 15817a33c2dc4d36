"""Migration 0028 fills every existing deal's ``stages_reached`` from its stage changes (each stage once,
a deal without any keeps ","), and going back removes the column. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import inspect, text

from forecourt.core.db import get_engine
from forecourt.migrations import downgrade, upgrade
from tests import conftest

MOVES = {1: ["new", "qualified", "offer", "qualified", "offer", "negotiation"], 2: ["new", "lost"], 3: []}


@pytest.fixture
def old_database(tmp_path):
    if conftest.test_database_kind() == "postgresql":
        name = f"forecourt_test_m0028_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = conftest._create_pg_database(name)
        yield url
        get_engine(url).dispose()
        conftest._drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'old.db'}"


def test_existing_deals_get_the_stages_their_changes_went_through(old_database):
    upgrade(old_database, "0027_partitions")
    with get_engine(old_database).begin() as connection:
        connection.execute(text("insert into organizations (id, kind, code, name, country, opening_hours, service_bays, "
                                "is_active, created_at) values (1, 'dealer', 'D-1', 'Autohaus Spree', 'DE', '{}', 0, "
                                "true, '2025-01-01 00:00:00')"))
        change = 0
        for deal_id, moves in MOVES.items():
            connection.execute(text(
                "insert into sales_opportunities (id, dealer_id, kind, title, quantity, amount, currency, stage_code, "
                "status, buying_factors, post_mortem, rfp_requirements, created_at, stage_entered_at) values "
                "(:id, 1, 'retail', 'A car', 1, 1000, 'EUR', :stage, 'open', '{}', '', '', '2025-01-01 00:00:00', "
                "'2025-01-01 00:00:00')"), {"id": deal_id, "stage": moves[-1] if moves else "new"})
            previous = None
            for code in moves:
                change += 1
                connection.execute(text("insert into sales_stage_changes (id, opportunity_id, from_stage, to_stage, "
                                        "changed_at) values (:id, :deal, :before, :code, :at)"),
                                   {"id": change, "deal": deal_id, "before": previous, "code": code,
                                    "at": f"2025-01-{change:02d} 00:00:00"})
                previous = code
    upgrade(old_database)

    with get_engine(old_database).connect() as connection:
        reached = dict(connection.execute(text("select id, stages_reached from sales_opportunities")).all())
    assert {deal: set(filter(None, value.split(","))) for deal, value in reached.items()} == {
        deal: set(moves) for deal, moves in MOVES.items()}
    assert all(value.startswith(",") and value.endswith(",") for value in reached.values())
    assert reached[3] == "," and reached[2].count(",") == 3

    downgrade(old_database, "0027_partitions")
    columns = {c["name"] for c in inspect(get_engine(old_database)).get_columns("sales_opportunities")}
    assert "stages_reached" not in columns and "stage_code" in columns

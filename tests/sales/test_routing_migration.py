"""Migration 0025 reads the English routing sentences of existing leads back into facts, which each
reader then sees in their own language; text it cannot read stays as written. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.core.i18n import use_locale
from forecourt.migrations import downgrade, upgrade
from tests import conftest

REASONS = {
    1: "Chosen by the customer: Autohaus Spree.",
    2: "Nearest dealer with capacity: Autohaus Spree, 12 km away, 1.5 open leads per sales rep.",
    3: "Nearest dealer with capacity: Autohaus Havel, 31 km away, 1 open lead per sales rep (the nearest, "
       "Autohaus Spree at 4 km, has no sales rep yet).",
    4: "Nearest dealer with capacity (17 km)",
    5: "Vom Kunden gewählt: Autohaus Spree.",
    6: "",
}


@pytest.fixture
def old_database(tmp_path):
    if conftest.test_database_kind() == "postgresql":
        name = f"forecourt_test_m0025_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = conftest._create_pg_database(name)
        yield url
        get_engine(url).dispose()
        conftest._drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'old.db'}"


def test_routing_sentences_become_facts_said_in_the_readers_language(old_database):
    from forecourt.sales.models import Lead

    upgrade(old_database, "0024_recalls")
    with get_engine(old_database).begin() as connection:
        connection.execute(text("insert into organizations (id, kind, code, name, country, opening_hours, service_bays, "
                                "is_active, created_at) values (1, 'dealer', 'D-1', 'Autohaus Spree', 'DE', '{}', 0, "
                                "true, '2025-01-01 00:00:00')"))
        for lead_id, reason in REASONS.items():
            connection.execute(text("insert into sales_leads (id, dealer_id, source, message, status, routed_by, "
                                    "routing_reason, score_reasons, created_at, updated_at) values (:id, 1, "
                                    "'web_form', '', 'new', 'location', :reason, '[]', '2025-01-01 00:00:00', "
                                    "'2025-01-01 00:00:00')"), {"id": lead_id, "reason": reason})
    upgrade(old_database)

    with make_sessionmaker(get_engine(old_database))() as session:
        leads = {lead.id: lead for lead in session.query(Lead)}
        assert leads[1].routing_facts == {"code": "customer_choice", "dealer": "Autohaus Spree"}
        assert leads[2].routing_facts == {"code": "nearest", "dealer": "Autohaus Spree", "km": 12.0, "per_rep": 1.5}
        assert leads[3].routing_facts["closest"] == "Autohaus Spree" and leads[3].routing_facts["closest_per_rep"] is None
        assert leads[5].routing_facts == {"code": "recorded", "text": REASONS[5]}
        assert leads[6].routing_facts == {}
        for lead_id in (1, 2, 3):  # the sentence the reader sees is the one written then
            assert leads[lead_id].routing_reason == REASONS[lead_id]
        with use_locale("ko"):
            assert leads[1].routing_reason == "고객이 직접 선택: Autohaus Spree."
            assert "12km" in leads[2].routing_reason.replace(" ", "") and "Autohaus Spree" in leads[2].routing_reason
            assert "영업 담당자" in leads[3].routing_reason
            assert "17" in leads[4].routing_reason and "km" in leads[4].routing_reason
        with use_locale("de"):
            assert leads[1].routing_reason == "Vom Kunden gewählt: Autohaus Spree."
            assert leads[5].routing_reason == REASONS[5]

    downgrade(old_database, "0024_recalls")
    with get_engine(old_database).connect() as connection:
        back = dict(connection.execute(text("select id, routing_reason from sales_leads")).all())
    assert {k: back[k] for k in (1, 2, 3, 5, 6)} == {k: REASONS[k] for k in (1, 2, 3, 5, 6)}
    assert back[4] == "Nearest dealer with capacity (17 km)"

"""Migration 0011 carries the test-mode payments of an existing database into the ledger, so no order
changes its state and no paid renewal stops counting, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from datetime import date

import pytest
from sqlalchemy import text

from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.migrations import upgrade
from tests import conftest

ROWS = """
insert into organizations (id, kind, code, name, country, opening_hours, service_bays, is_active, created_at)
  values (1, 'carmaker', 'AUR', 'Aurora', 'DE', '{}', 0, true, '2025-01-01 00:00:00'),
         (2, 'dealer', 'D-1', 'Autohaus Eins', 'DE', '{}', 0, true, '2025-01-01 00:00:00');
insert into customers (id, language, created_at) values (1, 'en', '2025-01-01 00:00:00');
insert into vehicle_models (id, code, name, body, year_from) values (1, 'M', 'Model', 'suv', 2020);
insert into trims (id, model_id, code, name, propulsion, year_from, base_price)
  values (1, 1, 'T', 'Trim', 'electric', 2020, 40000);
insert into sales_configurations (id, code, trim_id, option_codes, price_lines, base_price, total_price, created_at)
  values (1, 'ABCDEFGH', 1, '[]', '[]', 40000, 40000, '2025-01-01 00:00:00');
insert into sales_orders (id, number, configuration_id, customer_id, dealer_id, price, deposit, paid, payment_state,
                          status, commission_rule, created_at)
  values (1, 'FO-AAA-111', 1, 1, 2, 40000, 4000, 40000, 'paid_in_full', 'delivery_scheduled', '', '2025-01-02 00:00:00'),
         (2, 'FO-BBB-222', 1, 1, 2, 40000, 4000, 0, 'refunded', 'cancelled', '', '2025-01-02 00:00:00');
insert into sales_payments (id, order_id, kind, amount, reference, received_at)
  values (1, 1, 'deposit', 4000, 'TEST-1', '2025-01-03 00:00:00'),
         (2, 1, 'balance', 36000, 'TEST-2', '2025-01-04 00:00:00'),
         (3, 2, 'deposit', 4000, 'TEST-3', '2025-01-03 00:00:00'),
         (4, 2, 'refund', 4000, 'REFUND-FO-BBB-222', '2025-01-05 00:00:00');
insert into vehicles (id, vin, trim_id, model_year, created_at) values (1, 'WFC00000000000001', 1, 2025, '2025-01-01 00:00:00');
insert into assist_subscriptions (id, vehicle_id, customer_id, plan, starts_on, ends_on, price, payment_reference, created_at)
  values (1, 1, 1, 'included', '2020-01-01', '2022-12-31', 0, null, '2020-01-01 00:00:00'),
         (2, 1, 1, 'renewal', '2023-01-01', '2030-12-31', 99, 'TEST-RENEW-1', '2022-12-01 00:00:00');
"""


@pytest.fixture
def old_database(tmp_path):
    if conftest.test_database_kind() == "postgresql":
        name = f"forecourt_test_m0011_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = conftest._create_pg_database(name)
        yield url
        get_engine(url).dispose()
        conftest._drop_pg_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'old.db'}"


def test_test_mode_payments_become_ledger_entries(old_database):
    from forecourt.assist import subscriptions
    from forecourt.payments import service as payments_service
    from forecourt.sales import orders
    from forecourt.sales.models import Order

    upgrade(old_database, "0007")
    with get_engine(old_database).begin() as connection:
        for statement in ROWS.split(";"):
            if statement.strip():
                connection.execute(text(statement))
        if conftest.test_database_kind() == "postgresql":  # rows written with explicit ids: move the sequences on
            for table in ("organizations", "customers", "sales_orders", "assist_subscriptions"):
                connection.execute(text(f"select setval(pg_get_serial_sequence('{table}', 'id'), 10)"))
    upgrade(old_database)

    with make_sessionmaker(get_engine(old_database))() as session:
        paid, cancelled = session.get(Order, 1), session.get(Order, 2)
        assert (orders.money_of(session=session, order=paid)["state"],
                float(orders.money_of(session=session, order=paid)["paid"])) == ("paid_in_full", 40000.0)
        assert orders.money_of(session=session, order=cancelled)["state"] == "refunded"
        kinds = [(e["kind"], e["amount"]) for e in orders.payments_of(session=session, order_id=cancelled.id)]
        assert kinds == [("receipt", 4000.0), ("refund", 4000.0)]
        payments = payments_service.payments_of(session=session, subject_kind="order", subject_id=paid.id)
        assert [(p.purpose, p.provider, p.payee_id, p.customer_id) for p in payments] == [
            ("order_deposit", "manual", 2, 1), ("order_balance", "manual", 2, 1)]
        renewal = subscriptions.latest(session=session, vehicle_id=1)
        assert (renewal.plan, renewal.ends_on) == ("renewal", date(2030, 12, 31))
        (bought,) = payments_service.payments_of(session=session, subject_kind="subscription", subject_id=2)
        assert (bought.payee_id, float(bought.amount), bought.status) == (1, 99.0, "paid")

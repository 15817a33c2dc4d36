"""The exactly-once ledger forgets a key once its message can no longer come again, and not before: a
message redelivered within the window is still stored once, on SQLite (batches of deletes) and on
PostgreSQL (months detached and dropped, late keys of such a month kept)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from forecourt.core import partitions
from forecourt.core.clock import now
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics import devices, ledger
from forecourt.telematics.decoders.primitives import message_key
from forecourt.telematics.ingest import ingest
from forecourt.telematics.models import ReceivedMessage
from forecourt.telematics.readings import Reading, Source
from tests import conftest

KEEP = timedelta(days=14)


def _postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _reading(vin: str, key: str, measured_at) -> Reading:
    return Reading(source=Source.EMBEDDED, device_id=vin, measured_at=measured_at, signals={"Vehicle.Speed": 50.0},
                   message_key=key)


@pytest.fixture
def ledger_of_a_car(make, session):
    """A car's keys: an old month's (received then, and one received only two days ago), today's,
    and two keys of another shape (one received a month ago, one yesterday)."""
    car = make.vehicle()
    devices.register(session=session, kind=Source.EMBEDDED, identifier=car.vin, vehicle_id=car.id)
    moment = now()
    old_month = partitions.month_start(moment, -3)
    if _postgresql(session):
        partitions.create_month(session, ledger.LEDGER, old_month)
    measured_old = old_month + timedelta(days=3)
    keys = {
        "old": (message_key("embedded", car.vin, "1", at=measured_old), measured_old),
        "late": (message_key("embedded", car.vin, "2", at=measured_old), moment - timedelta(days=2)),
        "today": (message_key("embedded", car.vin, "3", at=moment), moment),
        "odd old": ("odd-key-1", moment - timedelta(days=30)),
        "odd new": ("odd-key-2", moment - timedelta(days=1)),
    }
    session.add_all([ReceivedMessage(message_key=key, received_at=at) for key, at in keys.values()])
    session.flush()
    return car, {name: key for name, (key, _) in keys.items()}, measured_old


def _kept(session) -> set[str]:
    return set(session.scalars(select(ReceivedMessage.message_key)))


def test_keys_received_within_the_window_are_kept_and_older_ones_forgotten(ledger_of_a_car, session):
    car, keys, measured_old = ledger_of_a_car
    if _postgresql(session):  # each key in its month's partition, the odd ones in the default
        month = partitions.partition_name(ledger.LEDGER, partitions.month_start(measured_old))
        assert set(session.scalars(text(f"SELECT message_key FROM {month}"))) == {keys["old"], keys["late"]}
        assert set(session.scalars(text(f"SELECT message_key FROM {ledger.LEDGER}_default"))) == {
            keys["odd old"], keys["odd new"]}
    cutoff = now() - KEEP
    months, _ = ledger.forget_months(session=session, cutoff=cutoff)
    assert months == (1 if _postgresql(session) else 0)
    assert ledger.forget_some(session=session, cutoff=cutoff, limit=1) == 1
    assert ledger.forget_some(session=session, cutoff=cutoff) == (0 if _postgresql(session) else 1)
    assert _kept(session) == {keys["late"], keys["today"], keys["odd new"]}
    if _postgresql(session):  # the month is out of the table; its files go in a transaction of their own
        gone = partitions.partition_name(ledger.LEDGER, partitions.month_start(measured_old))
        assert partitions.detached(session, ledger.LEDGER) == [gone]
        assert partitions.drop_detached(session=session, table=ledger.LEDGER) == gone
        assert session.scalar(text("SELECT to_regclass(:n)"), {"n": gone}) is None
        assert partitions.drop_detached(session=session, table=ledger.LEDGER) is None


def test_a_message_redelivered_within_the_window_is_stored_once_and_after_it_again(ledger_of_a_car, session):
    car, keys, measured_old = ledger_of_a_car
    cutoff = now() - KEEP
    ledger.forget_months(session=session, cutoff=cutoff)
    while ledger.forget_some(session=session, cutoff=cutoff) == ledger.BATCH:
        pass
    partitions.drop_detached(session=session, table=ledger.LEDGER)
    again = ingest(session=session, channel="test", readings=[
        _reading(car.vin, keys["late"], measured_old), _reading(car.vin, keys["today"], now())])
    assert (again.stored, again.duplicates) == (0, 2)  # remembered: nothing stored twice
    forgotten = ingest(session=session, channel="test", readings=[_reading(car.vin, keys["old"], measured_old)])
    assert forgotten.stored == 1  # received three months ago: past the window, so it is new again
    assert keys["old"] in _kept(session)


def test_the_job_forgets_old_keys_in_transactions_of_its_own(fresh_database_url):
    from forecourt import worker

    url = fresh_database_url("ledger")
    sessions = make_sessionmaker(get_engine(url))
    moment = now()
    with transaction(sessions) as session:
        old_month = partitions.month_start(moment, -2)
        if _postgresql(session):
            partitions.create_month(session, ledger.LEDGER, old_month)
        session.add_all([ReceivedMessage(message_key=message_key("x", str(n), at=old_month), received_at=old_month)
                         for n in range(25)])
        session.add_all([ReceivedMessage(message_key=f"odd-{n}", received_at=moment - timedelta(days=20 + n))
                         for n in range(25)] + [ReceivedMessage(message_key="fresh", received_at=moment)])
    original = ledger.BATCH
    ledger.BATCH = 10  # several batches
    try:
        result = worker.ledger_retention(sessions, get_settings(database_url=url, ledger_keep_days=14))
    finally:
        ledger.BATCH = original
    with transaction(sessions) as session:
        assert _kept(session) == {"fresh"}
        assert partitions.detached(session, ledger.LEDGER) == []
        postgresql = _postgresql(session)
    assert (result["months"], result["dropped"]) == ((1, 1) if postgresql else (0, 0))
    assert result["keys"] >= 25 if postgresql else result["keys"] == 50


def test_the_migration_moves_the_ledger_into_months_and_back(tmp_path):
    from forecourt.migrations import downgrade, upgrade

    postgresql = conftest.test_database_kind() == "postgresql"
    if postgresql:
        name = f"forecourt_test_m0029_{os.getpid()}"
        url = conftest._create_pg_database(name)
    else:
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    try:
        upgrade(url, "0029_pipe23")
        moment = now()
        rows = {message_key("x", "1", at=moment - timedelta(days=40)): moment - timedelta(days=40),
                message_key("x", "2", at=moment): moment, "odd-key": moment}
        engine = get_engine(url)
        with engine.begin() as connection:
            for key, at in rows.items():
                connection.execute(ReceivedMessage.__table__.insert().values(message_key=key, received_at=at))
        upgrade(url)
        with make_sessionmaker(engine)() as session:
            assert _kept(session) == set(rows)
            assert partitions.is_partitioned(session, ledger.LEDGER) is postgresql
            if postgresql:
                months = partitions.partitions_of(session, ledger.LEDGER)
                assert partitions.partition_name(ledger.LEDGER, partitions.month_start(moment, 3)) in months
                first = partitions.partition_name(ledger.LEDGER, partitions.month_start(moment - timedelta(days=40)))
                assert session.scalar(text(f"SELECT count(*) FROM {first}")) == 1
                assert session.scalar(text(f"SELECT message_key FROM {ledger.LEDGER}_default")) == "odd-key"
        downgrade(url, "0029_pipe23")
        with make_sessionmaker(engine)() as session:
            assert _kept(session) == set(rows)
            assert partitions.is_partitioned(session, ledger.LEDGER) is False
        upgrade(url)
        engine.dispose()
    finally:
        if postgresql:
            conftest._drop_pg_database(name)

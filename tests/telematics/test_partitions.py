"""Samples and positions by month: partitions on PostgreSQL, plain tables on SQLite, the same rows
kept and gone either way."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from forecourt.core import partitions
from forecourt.core.clock import now
from forecourt.telematics import service as telematics_service
from forecourt.telematics.decoders.primitives import message_key
from forecourt.telematics.models import Position, ReceivedMessage, Sample


def _position(vehicle, at) -> Position:
    return Position(vehicle_id=vehicle.id, measured_at=at, latitude=52.5, longitude=13.4, source="embedded")


def _postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def test_postgresql_partitions_by_month_and_sqlite_keeps_plain_tables(session):
    for table in partitions.PARTITIONED:
        assert partitions.is_partitioned(session, table) is _postgresql(session)
    if _postgresql(session):  # the migration made this month's and three months ahead
        names = partitions.partitions_of(session, "telematics_samples")
        assert {partitions.partition_name("telematics_samples", partitions.month_start(now(), shift))
                for shift in range(4)} <= names.keys()
        indexes = session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = :t"), {
            "t": partitions.partition_name("telematics_samples", partitions.month_start(now()))}).all()
        assert len(indexes) == 2, indexes  # its share of the key and of the (vehicle, time, path) index


def test_the_job_creates_months_ahead_and_moves_early_arrivals_out_of_the_default(make, session):
    car = make.vehicle()
    far = partitions.month_start(now(), 7)
    session.add(_position(car, far + timedelta(days=3)))  # a month without its partition yet: the default holds it
    early = message_key("embedded", car.vin, "{}", at=far + timedelta(days=3))  # and the ledger its key
    session.add(ReceivedMessage(message_key=early, received_at=now()))
    session.flush()
    created = partitions.ensure_ahead(session=session, moment=far, months_ahead=1)
    if not _postgresql(session):
        assert created == {}
        return
    assert created == {"telematics_samples": 2, "telematics_positions": 2, "telematics_received": 2}
    assert partitions.ensure_ahead(session=session, moment=far, months_ahead=1) == {
        "telematics_samples": 0, "telematics_positions": 0, "telematics_received": 0}  # a second run finds them
    for table, column in (("telematics_positions", "count(*)"), ("telematics_received", "min(message_key)")):
        assert session.scalar(text(f"SELECT {column} FROM {partitions.partition_name(table, far)}")) in (1, early)
        assert session.scalar(text(f"SELECT count(*) FROM {table}_default")) == 0
    # the ledger's month is the range of keys that begin with one of its seconds, in hex
    assert partitions.bounds("telematics_received", far)[:2] == (
        f"{int(far.timestamp()):010x}", f"{int(partitions.month_start(far, 1).timestamp()):010x}")
    assert early.startswith(f"{int((far + timedelta(days=3)).timestamp()):010x}")


def test_retention_drops_whole_months_and_deletes_the_rest_row_by_row(make, session):
    car = make.vehicle()
    moment = now()
    ages = [400, 200, 120, 95, 91, 89, 30, 1]  # days
    if _postgresql(session):  # months of their own for the old rows, as the scheduler would have made them
        for days in ages:
            partitions.create_month(session, "telematics_positions", partitions.month_start(moment - timedelta(days=days)))
    session.add_all([_position(car, moment - timedelta(days=days)) for days in ages])
    session.add(Sample(vehicle_id=car.id, measured_at=moment - timedelta(days=400), path="Vehicle.Speed", value=1.0))
    session.flush()
    session.execute(text("ANALYZE telematics_positions") if _postgresql(session) else text("SELECT 1"))
    removed = telematics_service.prune_positions(session=session, older_than_days=90)
    kept = session.scalars(select(Position.measured_at).where(Position.vehicle_id == car.id)).all()
    assert sorted(round((moment - at).total_seconds() / 86400) for at in kept) == [1, 30, 89]
    assert session.scalar(select(func.count()).select_from(Sample).where(Sample.vehicle_id == car.id)) == 1
    if _postgresql(session):
        assert removed["partitions"] >= 2  # 400 and 200 days ago at least were months of their own
        # detached in this transaction; their files go with drop_detached, a transaction each
        assert len(partitions.detached(session, "telematics_positions")) == removed["partitions"]
    else:
        assert removed == {"positions": 5, "partitions": 0, "routes": removed["routes"]}


def test_samples_and_positions_take_ids_beyond_32_bits(make, session):
    """A month of a 10,000-car fleet numbers its samples past 2**31; both engines keep such ids."""
    car = make.vehicle()
    big = 2**31 + 12_345
    session.add(Sample(id=big, vehicle_id=car.id, measured_at=now(), path="Vehicle.Speed", value=50.0))
    session.add(Position(id=big + 1, vehicle_id=car.id, measured_at=now(), latitude=52.5, longitude=13.4,
                         source="embedded"))
    session.flush()
    assert session.scalar(select(Sample.id).where(Sample.vehicle_id == car.id)) == big
    assert session.scalar(select(Position.id).where(Position.vehicle_id == car.id)) == big + 1
    session.add(Sample(vehicle_id=car.id, measured_at=now(), path="Vehicle.Speed", value=51.0))
    session.flush()  # the next id is still given by the engine
    if _postgresql(session):
        types = set(session.scalars(text(
            "SELECT data_type FROM information_schema.columns WHERE column_name = 'id' AND "
            "(table_name LIKE 'telematics_samples%' OR table_name LIKE 'telematics_positions%')")).all())
        assert types == {"bigint"}
        assert set(session.scalars(text(
            "SELECT data_type::text FROM pg_sequences WHERE sequencename IN "
            "('telematics_samples_id_seq', 'telematics_positions_id_seq')")).all()) == {"bigint"}

"""The long-life benchmark works end to end with a fleet of two cars: a stream through the real worker
on the first and the last day, the days between bulk-loaded into their partitions, the owner's vehicle
page timed, the months before this one dropped (figures are not asserted: tests never judge time).
PostgreSQL whatever the suite's engine: partitions, and so this benchmark, are PostgreSQL's alone."""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from sqlalchemy import text

from bench import scale_longlife, telemetry
from bench.broker import private_mosquitto
from forecourt.core.db import get_engine
from tests.conftest import PG_ADMIN_URL


def test_a_tiny_month_writes_every_long_life_figure():
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/forecourt_test_longlife_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    console = Console(file=io.StringIO(), width=160)
    days = datetime.now(UTC).day + 1  # reaches back into last month, so retention has a month to drop
    fleet = telemetry.prepare_fleet("postgresql", url, cars=2, trackers=0, console=console)
    try:
        with tempfile.TemporaryDirectory() as folder, private_mosquitto(Path(folder)) as broker:
            figures = scale_longlife.run(fleet, broker, cars=2, days=days, messages=200, page_requests=3,
                                         logs=Path(folder), console=console)
        with get_engine(url).connect() as conn:
            left = conn.scalar(text("SELECT count(*) FROM telematics_samples WHERE measured_at < "
                                    "date_trunc('month', now())"))
            keys_left = conn.scalar(text("SELECT count(*) FROM telematics_received WHERE received_at < "
                                         "date_trunc('month', now())"))
            detached_left = conn.scalar(text("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND NOT "
                                             "relispartition AND relname ~ '^telematics_.*_p[0-9]{6}$'"))
    finally:
        telemetry.drop("postgresql", url)
    messages = 2 * scale_longlife.PER_DAY * (days - 1)
    samples = messages * len(scale_longlife.SIGNALS)
    trips = 2 * scale_longlife.TRIPS_PER_DAY * (days - 1)
    assert figures["longlife_rows_loaded"] == samples + 2 * messages + trips  # samples, positions, keys, trips
    assert figures["longlife_trip_facts_kept"] == trips and figures["longlife_trip_marks_kept"] == 2
    assert figures["longlife_table_rows"]["telematics_samples"] >= samples + 200 * 2  # and the two streams'
    assert figures["longlife_table_rows"]["telematics_received"] == messages + 2 * 200
    for key in ("longlife_msg_per_s_day_1", "longlife_msg_per_s_last_day", f"longlife_msg_per_s_day_{days}",
                "vehicle_page_p95_ms_day_1", "vehicle_page_p95_ms_30_days", "vehicle_live_p95_ms_30_days"):
        assert figures[key] > 0, key
    assert figures["longlife_last_day_vs_first"] > 0
    # last month's samples, positions and message keys: detached, then dropped, a writer beside them
    assert figures["longlife_retention_partitions_detached"] == figures["longlife_retention_partitions_dropped"] == 3
    assert figures["longlife_retention_rows_dropped"] > 0 and left == 0 and keys_left == 0 and detached_left == 0
    assert figures["longlife_retention_writer_inserts"] > 0 and figures["longlife_retention_bytes_dropped"] > 0

"""The working-day benchmark produces every documented figure in a few seconds per phase, with a small
demo network and fleet (figures are not asserted: tests never judge wall-clock time; failed requests
are, because there must be none). Needs Mosquitto; runs on the suite's engine."""

from __future__ import annotations

import io
import json
import os
import uuid

import pytest
from rich.console import Console

from bench import workday
from tests.conftest import PG_ADMIN_URL, _drop_pg_database
from tests.conftest import test_database_kind as database_kind

KIND = database_kind()

@pytest.fixture
def bench_url(tmp_path):
    if KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'workday.db'}"
        return
    name = f"forecourt_test_benchwd_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _drop_pg_database(name)


def test_a_short_working_day_writes_every_figure_and_refuses_nobody(bench_url, tmp_path):
    output = tmp_path / "workday.json"
    sizes = workday.Sizes(seconds=4, cars=10, rate=10, customers=100, rounds=2)
    workday.run(engines=[KIND], sizes=sizes, output=output, console=Console(file=io.StringIO(), width=140),
                urls={KIND: bench_url}, workdir=tmp_path)

    document = json.loads(output.read_text())
    assert {"benchmark", "measured_at", "seconds_per_phase", "rounds", "cars", "target_p95_ms", "machine", KIND} <= set(document)
    figures = document[KIND]
    for phase in ("baseline", "with_telemetry"):
        assert figures[phase]["failed"] == 0, figures[phase]["failure_examples"]
        assert figures[phase]["requests"] > 0
        assert {"login", "landing"} <= set(figures[phase]["by_kind"])
        for row in figures[phase]["by_kind"].values():
            assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"]
    assert figures["telemetry"]["errors"] == 0 and figures["telemetry"]["messages_stored"] > 0
    assert figures["server_counters"]["refused_busy"] == 0
    assert figures["no_failed_requests"] is True
    assert isinstance(figures["meets_p95_target"], bool) and isinstance(figures["meets_ratio_target"], bool)
    if KIND == "sqlite":
        assert figures["wal_max_bytes"] is not None

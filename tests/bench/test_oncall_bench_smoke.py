"""The On Call benchmark produces every documented figure on a tiny fleet with a few alerts (figures
are not asserted: tests never judge wall-clock time). Needs Mosquitto; runs on the suite's engine."""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid

import pytest
from rich.console import Console

from bench import oncall, telemetry
from tests.conftest import PG_ADMIN_URL, _drop_pg_database
from tests.conftest import test_database_kind as database_kind

KIND = database_kind()

pytestmark = pytest.mark.skipif(not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")),
                                reason="needs the mosquitto binary")


@pytest.fixture
def bench_url(tmp_path, monkeypatch):
    monkeypatch.setattr(oncall, "DATA_DIR", tmp_path)
    monkeypatch.setattr(telemetry, "DATA_DIR", tmp_path)
    if KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'oncall.db'}"
        return
    name = f"forecourt_test_benchoc_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _drop_pg_database(name)


def test_a_tiny_run_writes_every_on_call_figure(bench_url, tmp_path):
    output = tmp_path / "oncall.json"
    sizes = oncall.Sizes(cars=12, alerts=4, warmup=1, background_msg_per_s=50, gap_seconds=0.0)
    oncall.run(engines=[KIND], sizes=sizes, output=output, console=Console(file=io.StringIO(), width=140),
               urls={KIND: bench_url})

    document = json.loads(output.read_text())
    assert {"benchmark", "measured_at", "alerts", "target_p99_ms", "machine", KIND} <= set(document)
    figures = document[KIND]
    assert figures["alerts"] == 4 and figures["alerts_missed"] == 0
    assert figures["cases_matching_their_car"] == 4
    for key in ("alert_to_console_p50_ms", "alert_to_console_p99_ms", "background_ingested_msg_per_s"):
        assert figures[key] > 0, key
    assert 0 <= figures["alert_to_case_p99_ms"] <= figures["alert_to_console_max_ms"]
    assert figures["target_p99_ms"] == 250 and isinstance(figures["meets_target"], bool)

"""The telemetry benchmark produces every documented figure on a tiny fleet (figures are not
asserted: tests never judge wall-clock time). Needs Mosquitto; runs on the suite's engine."""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid

import pytest
from rich.console import Console

from bench import telemetry
from tests.conftest import PG_ADMIN_URL, _drop_pg_database
from tests.conftest import test_database_kind as database_kind

KIND = database_kind()

pytestmark = pytest.mark.skipif(not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")),
                                reason="needs the mosquitto binary")


@pytest.fixture
def bench_url(tmp_path, monkeypatch):
    monkeypatch.setattr(telemetry, "DATA_DIR", tmp_path)
    if KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'telemetry.db'}"
        return
    name = f"forecourt_test_benchtel_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _drop_pg_database(name)


def test_a_tiny_run_writes_every_telemetry_figure(bench_url, tmp_path):
    output = tmp_path / "telemetry.json"
    sizes = telemetry.Sizes(messages=60, cars=6, http_requests=4, http_samples=3, http_concurrency=2,
                            trackers=2, tracker_frames=2, records_per_frame=3)
    telemetry.run(engines=[KIND], sizes=sizes, output=output, console=Console(file=io.StringIO(), width=140),
                  urls={KIND: bench_url})

    document = json.loads(output.read_text())
    assert {"benchmark", "measured_at", "messages", "cars", "target_msg_per_s", "machine", KIND} <= set(document)
    figures = document[KIND]
    for key in ("mqtt_qos1_msg_per_s", "mqtt_samples_per_s", "baseline_msg_per_s", "baseline_samples_per_s",
                "http_requests_per_s", "http_samples_per_s", "teltonika_records_per_s"):
        assert figures[key] > 0, key
    assert 0 < figures["ratio_to_baseline"]
    assert figures["messages"] == figures["mqtt_messages"] == figures["baseline_messages"] == 60
    assert figures["mqtt_readings_stored"] == 60 and figures["mqtt_rejected"] == 0
    assert figures["teltonika_records"] == 2 * 2 * 3
    for key in ("load_average_before", "load_average_after", "load_average_before_mqtt", "load_average_after_baseline"):
        assert len(figures[key]) == 3
    assert isinstance(figures["meets_msg_per_s_target"], bool) and isinstance(figures["meets_ratio_target"], bool)

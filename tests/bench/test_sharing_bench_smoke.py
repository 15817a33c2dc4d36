"""The car-sharing benchmark produces every documented figure at a tiny scale (figures are not asserted:
tests never judge wall-clock time). Runs on the suite's engine."""

from __future__ import annotations

import io
import json
import os
import uuid

import pytest
from rich.console import Console

from bench import sharing
from tests.conftest import PG_ADMIN_URL, _drop_pg_database
from tests.conftest import test_database_kind as database_kind

KIND = database_kind()


@pytest.fixture
def bench_url(tmp_path, monkeypatch):
    monkeypatch.setattr(sharing, "DATA_DIR", tmp_path)
    if KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'sharing.db'}"
        return
    name = f"forecourt_test_benchshare_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _drop_pg_database(name)


def test_a_tiny_run_writes_every_sharing_figure(bench_url, tmp_path):
    output = tmp_path / "sharing.json"
    sharing.run(engines=[KIND], hubs_count=20, cars=400, requests=6, warmup=1, output=output,
                console=Console(file=io.StringIO(), width=160), urls={KIND: bench_url}, keep=True)
    document = json.loads(output.read_text())
    assert {"benchmark", "measured_at", "machine", "target_p95_ms", "meets_target", "engines"} <= set(document)
    figures = document["engines"][KIND]
    assert (figures["hubs"], figures["cars"], figures["held_slots"]) == (20, 400, 100 * 12)
    assert figures["search_n"] == 6 and figures["baseline_n"] == 6
    assert figures["search_p95_ms"] > 0 and figures["baseline_p95_ms"] > 0

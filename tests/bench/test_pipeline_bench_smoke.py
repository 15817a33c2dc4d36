"""The pipeline benchmark produces every documented figure at a tiny scale (figures are not
asserted: tests never judge wall-clock time). Runs on the suite's engine."""

from __future__ import annotations

import io
import json
import os
import uuid

import pytest
from rich.console import Console
from sqlalchemy import func, select

from bench import pipeline, runner
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.sales import rollup
from tests.conftest import PG_ADMIN_URL, _drop_pg_database
from tests.conftest import test_database_kind as database_kind

KIND = database_kind()


@pytest.fixture
def bench_url(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "DATA_DIR", tmp_path)
    if KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'pipeline.db'}"
        return
    name = f"forecourt_test_benchpipe_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _drop_pg_database(name)


def test_a_tiny_run_writes_every_pipeline_figure(bench_url, tmp_path):
    output = tmp_path / "pipeline.json"
    pipeline.run(engines=[KIND], opportunities=400, repeats=2, output=output,
                 console=Console(file=io.StringIO(), width=160), urls={KIND: bench_url}, keep=True)
    with make_sessionmaker(get_engine(bench_url))() as session:  # the bulk load's deals are in the rollup
        assert rollup.differences(session=session) == []
        assert session.scalar(select(func.sum(rollup.StartedDeals.deals))) > 400
    get_engine(bench_url).dispose()

    document = json.loads(output.read_text())
    assert {"benchmark", "measured_at", "machine", "opportunities", "stage_changes", "pipeline_dashboard_seconds",
            "dealer_dashboard_seconds", "baseline_seconds", "target_seconds", "meets_target"} <= set(document)
    # 400 benchmark deals on top of the demo network's own
    assert document["opportunities"][KIND] > 400 and document["stage_changes"][KIND] > document["opportunities"][KIND]
    for key in ("pipeline_dashboard_seconds", "dealer_dashboard_seconds"):
        assert set(document[key][KIND]) == set(pipeline.DASHBOARDS)
        assert all(seconds > 0 for seconds in document[key][KIND].values())
    assert document["baseline_seconds"][KIND] > 0
    assert isinstance(document["meets_target"][KIND], bool)
    # the whole network page through the application, beside raw SQL computing the same figures
    page = document["engines"][KIND]["network_page"]
    assert document["network_page_seconds"][KIND] == page["page_median"] > 0
    assert document["network_page_raw_sql_seconds"][KIND] == page["raw_sql_median"] > 0
    assert page["funnel_agrees"] and page["funnel_page"] == page["funnel_raw_sql"] and page["funnel_page"][0] > 0

    scaling = tmp_path / "scaling.json"
    scaling.write_text(json.dumps({"machine": {"cores": 2}, "figures": {"messages": 6000}}))
    pipeline.merge_scaling(document, scaling)
    merged = json.loads(scaling.read_text())
    assert merged["machine"] == {"cores": 2} and merged["figures"] == {"messages": 6000}
    assert merged["network_page_seconds"] == {KIND: page["page_median"]}


def test_the_runner_offers_the_pipeline_benchmark():
    assert "pipeline" in runner.BENCHMARKS

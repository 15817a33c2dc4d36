"""The benchmark machinery works end to end on a tiny network (figures are not asserted: tests
never judge wall-clock time). Runs on SQLite and, with FORECOURT_TEST_DB=postgresql, PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import uuid

import pytest
from rich.console import Console

from sqlalchemy import func, select

from bench import datasets, runner
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.customers.models import Customer
from forecourt.core.config import get_settings
from forecourt.demo.network import build_demo_network
from tests.conftest import PG_ADMIN_URL, _drop_pg_database
from tests.conftest import test_database_kind as database_kind

KIND = database_kind()


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


def test_a_small_run_writes_every_documented_figure(fresh_database_url, tmp_path):
    url = fresh_database_url("bench")
    build_demo_network(settings=get_settings(database_url=url), customers=200, dealers=40, seed=3,
                       console=_quiet())
    output = tmp_path / "customer360.json"
    prepared = [datasets.Dataset(engine=KIND, url=url, customers=200, built_seconds=None)]
    runner.run(prepared=prepared, requests=20, warmup=2, output=output, console=_quiet())

    document = json.loads(output.read_text())
    assert {"benchmark", "measured_at", "machine", "requests_per_variant", "target_p95_ms", KIND} <= set(document)
    figures = document[KIND]
    with make_sessionmaker(get_engine(url))() as session:  # the German customers asked for, and the Korean market's
        assert figures["customers"] == session.scalar(select(func.count()).select_from(Customer)) > 200
    assert figures["reader"].startswith("service@")
    for variant in ("json", "html", "html_ko", "baseline"):
        assert figures[f"{variant}_n"] == 20
        assert 0 < figures[f"{variant}_p50_ms"] <= figures[f"{variant}_p95_ms"]
        assert figures[f"{variant}_mean_ms"] > 0
    assert isinstance(figures["meets_target"], bool)
    assert figures["korean_vs_english"] > 0 and isinstance(figures["korean_within_budget"], bool)
    assert {"python", "cpu_count", "sqlite"} <= set(document["machine"])


@pytest.fixture
def cache_url(tmp_path, monkeypatch):
    """A database the cache may create and drop, with its markers kept out of ``var/``."""
    monkeypatch.setattr(datasets, "DATA_DIR", tmp_path)
    if KIND == "sqlite":
        yield f"sqlite:///{tmp_path / 'cached.db'}"
        return
    name = f"forecourt_test_benchcache_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _drop_pg_database(name)


def test_the_network_is_built_once_and_rebuilt_when_the_schema_changes(cache_url):
    first = datasets.ensure(KIND, 60, console=_quiet(), url=cache_url)
    assert first.built_seconds is not None
    again = datasets.ensure(KIND, 60, console=_quiet(), url=cache_url)
    assert again.built_seconds is None  # reused

    marker = datasets._marker_path(KIND, cache_url)
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "schema": "an-older-revision"}))
    rebuilt = datasets.ensure(KIND, 60, console=_quiet(), url=cache_url)
    assert rebuilt.built_seconds is not None

"""The network benchmark: a dealer's percentile against peers it cannot name; the carmaker sees names."""

from __future__ import annotations

import json

import pytest

from forecourt.core.auth import Role
from forecourt.sales import pipeline
from tests.factories import admin_login
from tests.sales.pipeline_data import build, deal, at
from tests.sales.test_pipeline import scope


@pytest.fixture
def network(make, session):
    data = build(make, session)
    peers = []
    # C: one lost (0 %), D: one won one lost (50 %), E: one lost (0 %); B won its only deal (100 %)
    for outcomes in (["lost"], ["won", "lost"], ["lost"]):
        dealer = make.dealer(name=f"Peer Motors {make.n()}")
        rep = make.staff(dealer, Role.DEALER_SALES)
        for outcome in outcomes:
            deal(session, dealer=dealer, rep=rep, model=data.m1, amount=10000, created=at(2026, 1, 3),
                 path=["new", outcome], status=outcome, closed=at(2026, 1, 13), reason="price" if outcome == "lost" else None)
        peers.append(dealer)
    return data, peers


def test_a_dealer_sees_its_percentile_against_anonymous_peers(session, network):
    data, peers = network
    figures = pipeline.network_benchmark(session=session, scope=scope(session, data.rep1))
    win_rate = {m["code"]: m for m in figures["metrics"]}["win_rate"]
    assert win_rate["value"] == 0.5 and win_rate["peers"] == 4
    assert win_rate["peer_median"] == 0.25  # peers: 1.0, 0.0, 0.5, 0.0
    assert win_rate["percentile"] == 62.5  # beats two, ties one
    assert figures["ranking"] is None
    text = json.dumps(figures)
    for peer in [data.dealer_b, *peers]:
        assert peer.name not in text
        assert f'"dealer_id": {peer.id}' not in text
    cycle = {m["code"]: m for m in figures["metrics"]}["cycle_days"]
    assert cycle["better"] == "lower" and cycle["value"] == 20.0


def test_the_carmaker_sees_the_named_ranking(make, session, network):
    data, peers = network
    figures = pipeline.network_benchmark(session=session, scope=scope(session, admin_login(make)))
    names = [row["dealer"] for row in figures["ranking"]]
    assert data.dealer.name in names and data.dealer_b.name in names and all(p.name in names for p in peers)
    assert figures["ranking"][0]["dealer"] == data.dealer.name  # most value won: 100,000 €
    assert {m["code"]: m for m in figures["metrics"]}["win_rate"]["percentile"] is None  # no dealer chosen


def test_too_few_peers_hide_the_spread(session, make):
    data = build(make, session)  # dealer A has one peer only
    figures = pipeline.network_benchmark(session=session, scope=scope(session, data.rep1))
    win_rate = {m["code"]: m for m in figures["metrics"]}["win_rate"]
    assert win_rate["peers"] == 1
    assert (win_rate["peer_median"], win_rate["peer_q1"], win_rate["percentile"]) == (None, None, None)

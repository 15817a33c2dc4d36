"""How one dealer compares with the rest of the network, without telling it who the others are.

A dealer sees its own figures, its percentile rank and the peers' median and quartiles; the
carmaker also sees the ranking with dealers' names. With fewer than ``MIN_PEERS`` peers the
distribution is withheld, since a handful of values would point at the dealers behind them.
"""

from __future__ import annotations

from decimal import Decimal
from statistics import median, quantiles

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from forecourt.core.i18n import N_
from forecourt.parties import service as parties_service
from forecourt.sales import rollup
from forecourt.sales.pipeline import monthly
from forecourt.sales.pipeline.scope import Scope, network_filters
from forecourt.sales.pipeline.sql import without_jit

MIN_PEERS = 3
# code, label, which way is better
METRICS = (("win_rate", N_("Win rate"), "higher"), ("cycle_days", N_("Days from first contact to win"), "lower"),
           ("conversion", N_("Deals started that were won"), "higher"), ("value_won", N_("Value won"), "higher"))


def _per_dealer(session: Session, scope: Scope) -> dict[int, dict]:
    """Every dealer's figures for the period (the model filter applies to all alike; the rep filter does not),
    from the monthly rollup."""
    def where(source) -> list:
        return network_filters(scope, source=source)

    period = {"start": scope.start, "end": scope.end, "now": scope.now, "where": where}
    closed = monthly.rows(session, rollup.ClosedDeals, **period)
    started = monthly.rows(session, rollup.StartedDeals, **period)
    outcomes: dict[int, dict[str, tuple[int, int, int]]] = {}
    for dealer_id, status, deals, amount, ms in session.execute(
            select(closed.c.dealer_id, closed.c.status, func.sum(closed.c.deals), func.sum(closed.c.amount_cents),
                   func.sum(closed.c.cycle_ms)).group_by(closed.c.dealer_id, closed.c.status)
            .having(func.sum(closed.c.deals) != literal_column("0"))).all():
        outcomes.setdefault(dealer_id, {})[status] = (int(deals), int(amount or 0), int(ms or 0))
    figures: dict[int, dict] = {}
    for dealer_id, by_status in outcomes.items():
        wins, value, ms = by_status.get("won", (0, 0, 0))
        losses = by_status.get("lost", (0, 0, 0))[0]
        figures[dealer_id] = {"win_rate": wins / (wins + losses) if wins + losses else None,
                              "cycle_days": ms / 86_400_000 / wins if wins else None,
                              "value_won": float(Decimal(value) / 100), "conversion": None}
    counts: dict[int, list[int]] = {}
    for dealer_id, status, deals in session.execute(
            select(started.c.dealer_id, started.c.status, func.sum(started.c.deals))
            .group_by(started.c.dealer_id, started.c.status)
            .having(func.sum(started.c.deals) != literal_column("0"))).all():
        entry = counts.setdefault(dealer_id, [0, 0])
        entry[0] += int(deals)
        entry[1] += int(deals) if status == "won" else 0
    for dealer_id, (count, wins) in counts.items():
        entry = figures.setdefault(dealer_id, {"win_rate": None, "cycle_days": None, "value_won": 0.0})
        entry["conversion"] = wins / count if count else None
    return figures


def _percentile(value: float, peers: list[float], better: str) -> float | None:
    """The share of peers this dealer does better than (ties count half)."""
    if value is None or not peers:
        return None
    beaten = sum(1 for p in peers if (p < value if better == "higher" else p > value))
    ties = sum(1 for p in peers if p == value)
    return round(100 * (beaten + ties / 2) / len(peers), 1)


def _spread(values: list[float]) -> dict:
    if len(values) < MIN_PEERS:
        return {"median": None, "q1": None, "q3": None}
    q1, _, q3 = quantiles(values, n=4, method="inclusive")
    return {"median": _round(median(values)), "q1": _round(q1), "q3": _round(q3)}


def _round(value):
    return None if value is None else round(float(value), 4)


def network_benchmark(*, session: Session, scope: Scope) -> dict:
    """The chosen dealer against its peers; for the carmaker without a dealer, the whole network."""
    without_jit(session)
    figures = _per_dealer(session, scope)
    own = figures.get(scope.dealer_id) if scope.dealer_id is not None else None
    peers = {d: f for d, f in figures.items() if d != scope.dealer_id}
    metrics = []
    for code, label, better in METRICS:
        peer_values = [f[code] for f in peers.values() if f.get(code) is not None]
        value = own.get(code) if own else None
        metrics.append({"code": code, "label": label, "better": better, "value": _round(value),
                        "peers": len(peer_values), **{f"peer_{k}": v for k, v in _spread(peer_values).items()},
                        "percentile": _percentile(value, peer_values, better)
                        if len(peer_values) >= MIN_PEERS and scope.dealer_id is not None else None})
    result = {"dealer_id": scope.dealer_id, "peers": len(peers), "min_peers": MIN_PEERS, "metrics": metrics,
              "ranking": None}
    if scope.carmaker_view:
        names = {o.id: o.name for o in parties_service.list_organizations(session=session, kind="dealer",
                                                                             active_only=False)}
        ranking = [{"dealer_id": d, "dealer": names.get(d, f"Dealer {d}"),
                    **{code: _round(f.get(code)) for code, _, _ in METRICS}} for d, f in figures.items()]
        result["ranking"] = sorted(ranking, key=lambda r: (-(r["value_won"] or 0), r["dealer"]))
    return result

"""How one dealer compares with the rest of the network, without telling it who the others are.

A dealer sees its own figures, its percentile rank and the peers' median and quartiles; the
carmaker also sees the ranking with dealers' names. With fewer than ``MIN_PEERS`` peers the
distribution is withheld, since a handful of values would point at the dealers behind them.
"""

from __future__ import annotations

from statistics import median, quantiles

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from forecourt.core.i18n import N_
from forecourt.parties import service as parties_service
from forecourt.sales.models import Opportunity as O
from forecourt.sales.pipeline.scope import Scope, in_period
from forecourt.sales.pipeline.sql import days_between, without_jit

MIN_PEERS = 3
# code, label, which way is better
METRICS = (("win_rate", N_("Win rate"), "higher"), ("cycle_days", N_("Days from first contact to win"), "lower"),
           ("conversion", N_("Deals started that were won"), "higher"), ("value_won", N_("Value won"), "higher"))


def _per_dealer(session: Session, scope: Scope) -> dict[int, dict]:
    """Every dealer's figures for the period (the model filter applies to all alike; the rep filter does not)."""
    model = [O.model_id == scope.model_id] if scope.model_id is not None else []
    if scope.currency_dealers is not None:  # peers are the dealers who sell in the same currency
        model.append(O.dealer_id.in_(scope.currency_dealers))
    won = case((O.status == "won", 1), else_=0)
    closed = session.execute(
        select(O.dealer_id, func.sum(won), func.sum(case((O.status == "lost", 1), else_=0)),
               func.sum(case((O.status == "won", O.amount), else_=0)),
               func.avg(case((O.status == "won", days_between(session, O.closed_at, O.created_at)), else_=None)))
        .where(O.status.in_(("won", "lost")), *in_period(O.closed_at, scope), *model)
        .group_by(O.dealer_id)).all()
    started = session.execute(
        select(O.dealer_id, func.count(), func.sum(won))
        .where(*in_period(O.created_at, scope), *model).group_by(O.dealer_id)).all()
    figures: dict[int, dict] = {}
    for dealer_id, wins, losses, value, cycle in closed:
        wins, losses = int(wins or 0), int(losses or 0)
        figures[dealer_id] = {"win_rate": wins / (wins + losses) if wins + losses else None,
                              "cycle_days": float(cycle) if cycle is not None else None,
                              "value_won": float(value or 0), "conversion": None}
    for dealer_id, count, wins in started:
        entry = figures.setdefault(dealer_id, {"win_rate": None, "cycle_days": None, "value_won": 0.0})
        entry["conversion"] = int(wins or 0) / count if count else None
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

"""Why deals were won or lost, from what reps record but no dashboard showed: the buyer's key buying
factors, the outcome of fleet tenders (RFPs), and the lessons written after losing.

One grouped pass over the deals closed in the period gives all three (no row of a deal leaves the
database, only counts and sums per combination); the notes themselves are read only for the newest
``notes`` lost deals. Fleet prices are compared per car and
per currency: a dealer in Korea and one in Germany never share a figure in money.
"""

from __future__ import annotations

import json

from sqlalchemy import Text, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from forecourt.sales.models import Opportunity as O
from forecourt.sales.opportunities import BUYING_FACTORS
from forecourt.sales.opportunities import LOST_REASONS as REASON_NAMES
from forecourt.sales.pipeline.dashboards import LOST_REASONS as HISTORY_REASONS
from forecourt.sales.pipeline.scope import Scope, deal_filters, in_period
from forecourt.sales.pipeline.sql import dialect, without_jit

NOTES = 8


def reason_label(code: str | None) -> str:
    """Reasons come from the rep's form and from older imports; both lists are known, anything else is shown as typed."""
    code = code or "other"
    return REASON_NAMES.get(code) or HISTORY_REASONS.get(code) or code.replace("_", " ").capitalize()


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _closed_in_period(session: Session, scope: Scope) -> list:
    """The deals closed in the period. For the network on SQLite, read the table front to back: most of it is
    in the period (three quarters of a million deals in twelve months) and its factors and notes are in no
    index, so one pass in table order beats a lookup per deal from the index in closing order (3×)."""
    if dialect(session) == "sqlite" and scope.dealer_id is None:
        closed_at = func.coalesce(O.closed_at, O.closed_at)  # an expression: no index is used for it
        return [O.status.concat("").in_(("won", "lost")), closed_at >= scope.start, closed_at < scope.end]
    return [O.status.in_(("won", "lost")), *in_period(O.closed_at, scope)]


def _closed(session: Session, scope: Scope) -> list:
    """One grouped pass: outcome, fleet or not, tender or not, currency, reason and the factors as stored
    (a few thousand combinations at most, each read once here rather than each factor once per deal)."""
    has_rfp = case((func.coalesce(O.rfp_reference, "") != "", 1), else_=0)
    factors = cast(O.buying_factors, Text)
    return session.execute(
        select(O.status, O.kind, has_rfp.label("has_rfp"), O.currency, O.lost_reason, factors.label("factors"),
               func.count(), func.sum(O.amount), func.sum(O.quantity), func.sum(case((O.post_mortem != "", 1), else_=0)))
        .where(*_closed_in_period(session, scope), *deal_filters(scope))
        # factors first: grouped by status first, SQLite walked the whole (status, closed_at …) index for its
        # order and fetched every deal's row from it one by one, twice the time of reading the table through
        .group_by(literal_column("factors"), O.lost_reason, O.status, O.kind, literal_column("has_rfp"),
                  O.currency)).all()


def _factors(rows: list) -> dict:
    outcome = {"won": 0, "lost": 0}
    counts = {code: {"won": 0, "lost": 0, "won_covered": 0, "lost_covered": 0} for code in BUYING_FACTORS}
    parsed: dict[str, dict] = {}
    for row in rows:
        status, stored, count = row[0], row[5], row[6]
        outcome[status] += count
        if stored not in parsed:
            try:
                value = json.loads(stored) if stored else {}
            except ValueError:
                value = {}
            parsed[stored] = value if isinstance(value, dict) else {}
        for code, covered in parsed[stored].items():
            if code in counts and isinstance(covered, bool):
                counts[code][status] += count
                if covered is True:
                    counts[code][f"{status}_covered"] += count
    factors = []
    for code, label in BUYING_FACTORS.items():
        c = counts[code]
        factors.append({"code": code, "label": label, "won": c["won"], "lost": c["lost"],
                        "won_share": _share(c["won"], outcome["won"]), "lost_share": _share(c["lost"], outcome["lost"]),
                        "win_rate": _share(c["won"], c["won"] + c["lost"]),
                        "covered_win_rate": _share(c["won_covered"], c["won_covered"] + c["lost_covered"])})
    factors.sort(key=lambda f: (-(f["won"] + f["lost"]), f["code"]))
    return {"won": outcome["won"], "lost": outcome["lost"],
            "with_factors": any(f["won"] or f["lost"] for f in factors), "factors": factors}


def _tenders(rows: list) -> dict:
    """Fleet deals answering an RFP against those without one; prices per car, per currency."""
    groups = {True: {"won": 0, "lost": 0, "lost_on_price": 0}, False: {"won": 0, "lost": 0, "lost_on_price": 0}}
    money: dict[str, dict] = {}
    for status, kind, has_rfp, currency, reason, _factors_text, count, amount, quantity, _written in rows:
        if kind != "fleet":
            continue
        group = groups[bool(has_rfp)]
        group[status] += count
        if status == "lost" and reason == "price":
            group["lost_on_price"] += count
        if has_rfp:
            entry = money.setdefault(currency, {"won": [0.0, 0], "lost": [0.0, 0]})
            entry[status][0] += float(amount or 0)
            entry[status][1] += int(quantity or 0)
    prices = []
    for currency, entry in sorted(money.items()):
        won = round(entry["won"][0] / entry["won"][1], 2) if entry["won"][1] else None
        lost = round(entry["lost"][0] / entry["lost"][1], 2) if entry["lost"][1] else None
        gap = round(lost - won, 2) if won is not None and lost is not None else None
        prices.append({"currency": currency, "won_per_car": won, "lost_per_car": lost, "gap_per_car": gap,
                       "gap_share": round(gap / won, 4) if gap is not None and won else None,
                       "cars_won": entry["won"][1], "cars_lost": entry["lost"][1]})

    def summary(group: dict) -> dict:
        return {**group, "win_rate": _share(group["won"], group["won"] + group["lost"])}

    return {"rfp": summary(groups[True]), "no_rfp": summary(groups[False]), "prices": prices}


def _lessons(session: Session, scope: Scope, rows: list, notes: int) -> dict:
    by_reason: dict[str, list[int]] = {}
    for status, _kind, _rfp, _currency, reason, _factors_text, count, _amount, _quantity, written in rows:
        if status == "lost":
            entry = by_reason.setdefault(reason or "other", [0, 0])
            entry[0] += count
            entry[1] += int(written or 0)
    reasons = sorted(({"reason": code, "label": reason_label(code), "lost": lost, "written": written,
                       "share_written": _share(written, lost)} for code, (lost, written) in by_reason.items()),
                     key=lambda r: (-r["written"], -r["lost"], r["reason"]))
    latest = session.execute(
        select(O.closed_at, O.lost_reason, O.post_mortem, O.model_id, O.dealer_id)
        .where(O.status == "lost", *in_period(O.closed_at, scope), *deal_filters(scope), O.post_mortem != "")
        .order_by(O.closed_at.desc(), O.id.desc()).limit(notes)).all() if notes else []
    return {"lost": sum(r["lost"] for r in reasons), "written": sum(r["written"] for r in reasons),
            "by_reason": reasons,
            "notes": [{"closed_at": closed, "reason": reason or "other", "label": reason_label(reason), "note": note,
                       "model_id": model_id, "dealer_id": dealer_id if scope.carmaker_view else None}
                      for closed, reason, note, model_id, dealer_id in latest]}


def closed_deal_reasons(*, session: Session, scope: Scope, notes: int = NOTES) -> dict:
    """Buying factors in won and lost deals, fleet tender outcomes, and the lessons written, for the deals
    closed in the period; ``notes`` caps how many of the lessons' texts are returned (newest first)."""
    without_jit(session)
    rows = _closed(session, scope)
    return {"buying_factors": _factors(rows), "tenders": _tenders(rows),
            "lessons": _lessons(session, scope, rows, notes)}

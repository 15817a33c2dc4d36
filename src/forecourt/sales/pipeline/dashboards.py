"""The dealer manager's and the carmaker's pipeline figures: volume, speed, performance, trend.

Every figure is one aggregate query (GROUP BY, conditional sums) so a network of a million deals
answers in about a second; medians come from whole-day histograms rather than from rows loaded
into Python. Only counts, sums and the reps' own post-mortem notes leave here: no customer, no
deal title, no account name.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, case, func, literal, literal_column, select
from sqlalchemy.orm import Session

from forecourt.sales.models import Opportunity as O
from forecourt.sales.models import StageChange, Target
from forecourt.sales.pipeline.scope import (Scope, StageInfo, days_between, deal_filters, in_period, larger,
                                            median_of, moment, month_of, stages, whole_days)

LOST_REASONS = {"price": "Price", "competitor": "Went to a competitor", "financing": "Financing refused",
                "timing": "Not buying now", "no_response": "Stopped answering", "stock": "Car not available",
                "trade_in": "Trade-in value", "other": "Other"}
OVERDUE_BUCKETS = ((1, 7, "1–7 days"), (8, 30, "8–30 days"), (31, 90, "31–90 days"), (91, None, "over 90 days"))
LESSONS = 8


def _money(value) -> float:
    return round(float(value or 0), 2)


def _open_stages(all_stages: list[StageInfo]) -> list[StageInfo]:
    return [s for s in all_stages if s.outcome is None]


def _named(all_stages: list[StageInfo], codes) -> list[StageInfo]:
    """Known stages in process order, then any code found in the data that the process does not list."""
    known = {s.code for s in all_stages}
    extra = sorted(set(codes) - known)
    last = max((s.position for s in all_stages), default=0)
    return all_stages + [StageInfo(code, code.replace("_", " ").capitalize(), last + i + 1, 0, None)
                         for i, code in enumerate(extra)]


# --- volume --------------------------------------------------------------------------------------

def volume(*, session: Session, scope: Scope) -> dict:
    """Open deals created in the period, by stage: how many, how much, and the weighted forecast."""
    rows = session.execute(
        select(O.stage_code, func.count(), func.sum(O.amount))
        .where(O.status == "open", *in_period(O.created_at, scope), *deal_filters(scope))
        .group_by(O.stage_code)).all()
    found = {code: (count, _money(value)) for code, count, value in rows}
    process = stages(session=session, dealer_id=scope.dealer_id)
    by_stage = []
    for stage in _named(_open_stages(process), found):
        count, value = found.get(stage.code, (0, 0.0))
        by_stage.append({"code": stage.code, "name": stage.name, "count": count, "value": value,
                         "probability": stage.probability,
                         "weighted": round(value * stage.probability / 100, 2)})
    closed = session.execute(
        select(func.sum(case((O.status == "won", 1), else_=0)), func.sum(case((O.status == "lost", 1), else_=0)),
               func.sum(case((O.status == "won", O.amount), else_=0)))
        .where(O.status.in_(("won", "lost")), *in_period(O.closed_at, scope), *deal_filters(scope))).one()
    return {"stages": by_stage, "open_count": sum(s["count"] for s in by_stage),
            "open_value": round(sum(s["value"] for s in by_stage), 2),
            "weighted_forecast": round(sum(s["weighted"] for s in by_stage), 2),
            "won_count": int(closed[0] or 0), "lost_count": int(closed[1] or 0), "won_value": _money(closed[2])}


# --- speed ---------------------------------------------------------------------------------------

def _ageing(session: Session, scope: Scope, process: list[StageInfo]) -> list[dict]:
    age = whole_days(session, days_between(session, moment(scope.now, "now_age"), O.stage_entered_at))
    rows = session.execute(
        select(O.stage_code, age.label("days"), func.count())
        .where(O.status == "open", *in_period(O.created_at, scope), *deal_filters(scope))
        .group_by(O.stage_code, age)).all()
    histograms: dict[str, list[tuple[int, int]]] = {}
    for code, days, count in rows:
        histograms.setdefault(code, []).append((max(int(days or 0), 0), count))
    result = []
    for stage in _named(_open_stages(process), histograms):
        histogram = histograms.get(stage.code, [])
        count = sum(c for _, c in histogram)
        mean = sum(d * c for d, c in histogram) / count if count else None
        result.append({"code": stage.code, "name": stage.name, "count": count,
                       "mean_days": None if mean is None else round(mean, 1), "median_days": median_of(histogram)})
    return result


def _overdue(session: Session, scope: Scope, process: list[StageInfo]) -> dict:
    today = scope.now.date()
    buckets = []
    for low, high, label in OVERDUE_BUCKETS:
        condition = O.expected_close <= today - timedelta(days=low)
        if high is not None:
            condition = and_(condition, O.expected_close >= today - timedelta(days=high))
        buckets.append((label, func.sum(case((condition, 1), else_=0))))
    rows = session.execute(
        select(O.stage_code, func.count(), func.sum(O.amount), *[column for _, column in buckets])
        .where(O.status == "open", O.expected_close < today, *in_period(O.created_at, scope), *deal_filters(scope))
        .group_by(O.stage_code)).all()
    found = {row[0]: row for row in rows}
    by_stage = [{"code": s.code, "name": s.name, "count": found[s.code][1], "value": _money(found[s.code][2])}
                for s in _named(_open_stages(process), found) if s.code in found]
    return {"count": sum(s["count"] for s in by_stage), "value": round(sum(s["value"] for s in by_stage), 2),
            "by_stage": by_stage,
            "by_days_late": [{"label": label, "count": int(sum(row[3 + i] or 0 for row in rows))}
                             for i, (label, _) in enumerate(buckets)]}


def _funnel(session: Session, scope: Scope, process: list[StageInfo]) -> list[dict]:
    """How many deals created in the period got at least as far as each stage (won counts as the end)."""
    ladder = [s for s in process if s.outcome != "lost"]
    step = {s.code: i + 1 for i, s in enumerate(ladder)}

    def position(column):
        return case(*[(column == code, literal(n)) for code, n in step.items()], else_=literal(0))

    per_deal = (select(larger(session, func.coalesce(func.max(position(StageChange.to_stage)), 0),
                              position(O.stage_code)).label("furthest"))
                .select_from(O).outerjoin(StageChange, StageChange.opportunity_id == O.id)
                .where(*in_period(O.created_at, scope), *deal_filters(scope))
                .group_by(O.id, O.stage_code).subquery())
    counts = dict(session.execute(select(per_deal.c.furthest, func.count()).group_by(per_deal.c.furthest)).all())
    funnel = []
    for stage in ladder:
        reached = sum(count for furthest, count in counts.items() if furthest >= step[stage.code])
        funnel.append({"code": stage.code, "name": stage.name, "reached": reached})
    return funnel


def _conversion(funnel: list[dict]) -> list[dict]:
    steps = []
    for here, after in zip(funnel, funnel[1:], strict=False):
        steps.append({"from_code": here["code"], "from_name": here["name"], "to_code": after["code"],
                      "to_name": after["name"], "reached": here["reached"], "went_on": after["reached"],
                      "rate": round(after["reached"] / here["reached"], 4) if here["reached"] else None})
    return steps


def _cycle_time(session: Session, scope: Scope) -> dict:
    days = days_between(session, O.closed_at, O.created_at)
    conditions = (O.status == "won", *in_period(O.closed_at, scope), *deal_filters(scope))
    count, mean = session.execute(select(func.count(), func.avg(days)).where(*conditions)).one()
    day = whole_days(session, days)
    histogram = session.execute(select(day, func.count()).where(*conditions).group_by(day)).all()
    return {"won": int(count or 0), "mean_days": None if mean is None else round(float(mean), 1),
            "median_days": median_of([(int(d or 0), c) for d, c in histogram])}


def speed(*, session: Session, scope: Scope) -> dict:
    """How long deals sit, which are late, how many move on, and how long a win takes."""
    process = stages(session=session, dealer_id=scope.dealer_id)
    funnel = _funnel(session, scope, process)
    return {"ageing": _ageing(session, scope, process), "overdue": _overdue(session, scope, process),
            "funnel": funnel, "conversion": _conversion(funnel), "cycle_time": _cycle_time(session, scope)}


# --- performance ---------------------------------------------------------------------------------

def _targets(session: Session, scope: Scope, won_by_month: dict[str, tuple[int, float]]) -> list[dict]:
    """Targets have no model: with a model chosen there is nothing fair to compare against."""
    if scope.model_id is not None:
        return []
    months = scope.months()
    query = select(Target.month, func.sum(Target.units), func.sum(Target.value)).where(Target.month.in_(months))
    if scope.dealer_id is not None:
        query = query.where(Target.dealer_id == scope.dealer_id)
    query = query.where(Target.user_id == scope.rep_id if scope.rep_id is not None else Target.user_id.is_(None))
    targets = {month: (int(units or 0), _money(value)) for month, units, value in
               session.execute(query.group_by(Target.month)).all()}
    result = []
    for month in months:
        units, value = targets.get(month, (0, 0.0))
        won_units, won_value = won_by_month.get(month, (0, 0.0))
        if not (units or value or won_units):
            continue
        result.append({"month": month, "target_units": units, "target_value": value, "won_units": won_units,
                       "won_value": won_value,
                       "units_percent": round(100 * won_units / units, 1) if units else None,
                       "value_percent": round(100 * won_value / value, 1) if value else None})
    return result


def performance(*, session: Session, scope: Scope, lessons: int = LESSONS) -> dict:
    """Win rate, why deals were lost, targets against wins, and what reps wrote after losing."""
    month = month_of(session, O.closed_at)
    rows = session.execute(
        select(month, func.sum(case((O.status == "won", 1), else_=0)), func.sum(case((O.status == "lost", 1), else_=0)),
               func.sum(case((O.status == "won", O.amount), else_=0)))
        .where(O.status.in_(("won", "lost")), *in_period(O.closed_at, scope), *deal_filters(scope))
        .group_by(month)).all()
    won = sum(int(r[1] or 0) for r in rows)
    lost = sum(int(r[2] or 0) for r in rows)
    value_won = round(sum(_money(r[3]) for r in rows), 2)
    reason = func.coalesce(O.lost_reason, literal_column("'other'"))
    reasons = session.execute(
        select(reason, func.count())
        .where(O.status == "lost", *in_period(O.closed_at, scope), *deal_filters(scope))
        .group_by(reason).order_by(func.count().desc(), reason)).all()
    notes = session.execute(
        select(O.closed_at, O.lost_reason, O.post_mortem, O.model_id, O.dealer_id)
        .where(O.status == "lost", *in_period(O.closed_at, scope), *deal_filters(scope), O.post_mortem != "")
        .order_by(O.closed_at.desc(), O.id.desc()).limit(lessons)).all()
    return {
        "won": won, "lost": lost, "win_rate": round(won / (won + lost), 4) if won + lost else None,
        "value_won": value_won, "average_won_value": round(value_won / won, 2) if won else None,
        "lost_reasons": [{"reason": reason, "label": LOST_REASONS.get(reason, reason.replace("_", " ").capitalize()),
                          "count": count, "share": round(count / lost, 4) if lost else None}
                         for reason, count in reasons],
        "targets": _targets(session, scope, {r[0]: (int(r[1] or 0), _money(r[3])) for r in rows}),
        "lessons": [{"closed_on": closed.date().isoformat(), "reason": reason,
                     "label": LOST_REASONS.get(reason or "other", reason), "note": note, "model_id": model_id,
                     "dealer_id": dealer_id if scope.carmaker_view else None}
                    for closed, reason, note, model_id, dealer_id in notes],
    }


# --- trend ---------------------------------------------------------------------------------------

def trend(*, session: Session, scope: Scope) -> dict:
    """Month by month: deals started, won, lost and the value won."""
    created = month_of(session, O.created_at)
    started = dict(session.execute(select(created, func.count())
                                   .where(*in_period(O.created_at, scope), *deal_filters(scope))
                                   .group_by(created)).all())
    closed = month_of(session, O.closed_at)
    outcomes = {r[0]: r[1:] for r in session.execute(
        select(closed, func.sum(case((O.status == "won", 1), else_=0)), func.sum(case((O.status == "lost", 1), else_=0)),
               func.sum(case((O.status == "won", O.amount), else_=0)))
        .where(O.status.in_(("won", "lost")), *in_period(O.closed_at, scope), *deal_filters(scope))
        .group_by(closed)).all()}
    months = []
    for month in scope.months():
        won, lost, value = outcomes.get(month, (0, 0, 0))
        months.append({"month": month, "new": int(started.get(month, 0)), "won": int(won or 0),
                       "lost": int(lost or 0), "value_won": _money(value)})
    return {"months": months}

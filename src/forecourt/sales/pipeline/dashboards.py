"""The dealer manager's and the carmaker's pipeline figures: volume, speed, performance, trend.

Figures are aggregates read from covering indexes (``Facts`` and ``_funnel`` say which query
shapes keep a million deals fast; docs/benchmarks.md has the figures); medians come from whole-day
histograms rather than from rows loaded into Python. Only counts, sums and the reps' own
post-mortem notes leave here: no customer, no deal title, no account name.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property

from sqlalchemy import and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from forecourt.core.i18n import N_
from forecourt.sales.models import Opportunity as O
from forecourt.sales.models import Target
# One list: the reasons a rep picks when a deal is lost are the ones the dashboards count and name.
from forecourt.sales.opportunities import LOST_REASONS
from forecourt.sales.pipeline.scope import Scope, StageInfo, deal_filters, in_period, stages
from forecourt.sales.pipeline.sql import days_between, holds, median_of, moment, month_of, whole_days, without_jit

OVERDUE_BUCKETS = ((1, 7, N_("1–7 days")), (8, 30, N_("8–30 days")), (31, 90, N_("31–90 days")),
                   (91, None, N_("over 90 days")))
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

class Facts:
    """What most figures read, each asked of the database at most once per look at the pipeline.

    Shaped for the covering indexes on ``sales_opportunities``: counts per month are one index range
    each, and the only GROUP BY runs over the won deals (a fifth of those closed) or the open ones,
    so no query sorts the whole period. The page with every dashboard shares one ``Facts``.
    """

    def __init__(self, session: Session, scope: Scope):
        self.session, self.scope = session, scope
        without_jit(session)

    def _count_by_month(self, column, *conditions) -> dict[str, int]:
        counts = {}
        for month, start, end in self.scope.month_ranges():
            counts[month] = int(self.session.scalar(
                select(func.count()).select_from(O)
                .where(*conditions, column >= moment(start, "month_start"), column < moment(end, "month_end"),
                       *deal_filters(self.scope))) or 0)
        return counts

    @cached_property
    def started(self) -> dict[str, int]:
        """month -> deals created."""
        return self._count_by_month(O.created_at)

    @cached_property
    def open_deals(self) -> list[tuple[str, int, int, int, object]]:
        """(stage, whole days in it, how late: 0 not yet due, else which of ``OVERDUE_BUCKETS`` counting from 1,
        deals, value) of the open deals created in the period: volume, ageing and overdue from one pass."""
        session, scope = self.session, self.scope
        today = scope.now.date()
        age = whole_days(session, days_between(session, moment(scope.now, "now_age"), O.stage_entered_at))
        late = []
        for n, (low, high, _) in enumerate(OVERDUE_BUCKETS, start=1):
            condition = O.expected_close <= today - timedelta(days=low)
            if high is not None:
                condition = and_(condition, O.expected_close >= today - timedelta(days=high))
            late.append((condition, literal_column(str(n))))
        rows = session.execute(
            select(O.stage_code, age.label("open_age"), case(*late, else_=literal_column("0")).label("open_late"),
                   func.count(), func.sum(O.amount))
            .where(O.status == "open", *in_period(O.created_at, scope), *deal_filters(scope))
            .group_by(O.stage_code, "open_age", "open_late")).all()
        return [(code, max(int(days or 0), 0), int(bucket), count, value or 0)
                for code, days, bucket, count, value in rows]

    @cached_property
    def open_by_stage(self) -> dict[str, tuple[int, object]]:
        """stage -> (deals, value) of the open deals created in the period."""
        found: dict[str, list] = {}
        for code, _, _, count, value in self.open_deals:
            entry = found.setdefault(code, [0, 0])
            entry[0] += count
            entry[1] += value
        return {code: (count, value) for code, (count, value) in found.items()}

    @cached_property
    def won(self) -> list[tuple]:
        """(month, whole days to win, deals, value, days to win) of the deals won in the period."""
        session = self.session
        days = days_between(session, O.closed_at, O.created_at)
        month, day = month_of(session, O.closed_at).label("won_month"), whole_days(session, days).label("won_day")
        return [tuple(row) for row in session.execute(
            select(month, day, func.count(), func.sum(O.amount), func.sum(days))
            .where(O.status == "won", *in_period(O.closed_at, self.scope), *deal_filters(self.scope))
            .group_by("won_month", "won_day")).all()]

    @cached_property
    def lost(self) -> dict[str, int]:
        """month -> deals lost."""
        return self._count_by_month(O.closed_at, O.status == "lost")

    @cached_property
    def lost_reasons(self) -> dict[str, int]:
        """reason -> deals lost in the period; known reasons as conditional sums (no sort of every loss)."""
        known = [code for code in LOST_REASONS if code != "other"]
        where = (O.status == "lost", *in_period(O.closed_at, self.scope), *deal_filters(self.scope))
        unknown = and_(O.lost_reason.is_not(None), O.lost_reason.not_in(known))
        sums = self.session.execute(select(
            *[func.sum(case((O.lost_reason == code, 1), else_=0)) for code in known],
            func.sum(case((O.lost_reason.is_(None), 1), else_=0)),
            func.sum(case((unknown, 1), else_=0))).where(*where)).one()
        counts = {code: int(n or 0) for code, n in zip([*known, "other"], sums[:-1], strict=True)}
        if sums[-1]:  # reasons outside the list, rare: counted one by one
            for reason, n in self.session.execute(
                    select(O.lost_reason, func.count()).where(*where, unknown).group_by(O.lost_reason)).all():
                counts[reason] = counts.get(reason, 0) + n
        return {code: n for code, n in counts.items() if n}

    def outcomes_by_month(self) -> dict[str, tuple[int, int, float]]:
        """month -> (won, lost, value won)."""
        months: dict[str, list] = {month: [0, lost, 0] for month, lost in self.lost.items() if lost}
        for month, _, count, value, _ in self.won:
            entry = months.setdefault(month, [0, 0, 0])
            entry[0] += count
            entry[2] += value or 0
        return {month: (won, lost, _money(value)) for month, (won, lost, value) in months.items()}


def volume(*, session: Session, scope: Scope, facts: Facts | None = None) -> dict:
    """Open deals created in the period, by stage: how many, how much, and the weighted forecast."""
    facts = facts or Facts(session, scope)
    found = facts.open_by_stage
    process = stages(session=session, dealer_id=scope.dealer_id)
    by_stage = []
    for stage in _named(_open_stages(process), found):
        count, value = found.get(stage.code, (0, 0))
        value = _money(value)
        by_stage.append({"code": stage.code, "name": stage.name, "count": count, "value": value,
                         "probability": stage.probability,
                         "weighted": round(value * stage.probability / 100, 2)})
    outcomes = facts.outcomes_by_month().values()
    return {"stages": by_stage, "open_count": sum(s["count"] for s in by_stage),
            "open_value": round(sum(s["value"] for s in by_stage), 2),
            "weighted_forecast": round(sum(s["weighted"] for s in by_stage), 2),
            "won_count": sum(o[0] for o in outcomes), "lost_count": sum(o[1] for o in outcomes),
            "won_value": round(sum(o[2] for o in outcomes), 2)}


# --- speed ---------------------------------------------------------------------------------------

def _ageing(facts: Facts, process: list[StageInfo]) -> list[dict]:
    histograms: dict[str, list[tuple[int, int]]] = {}
    for code, days, _, count, _ in facts.open_deals:
        histograms.setdefault(code, []).append((days, count))
    result = []
    for stage in _named(_open_stages(process), histograms):
        histogram = histograms.get(stage.code, [])
        count = sum(c for _, c in histogram)
        mean = sum(d * c for d, c in histogram) / count if count else None
        result.append({"code": stage.code, "name": stage.name, "count": count,
                       "mean_days": None if mean is None else round(mean, 1), "median_days": median_of(histogram)})
    return result


def _overdue(facts: Facts, process: list[StageInfo]) -> dict:
    found: dict[str, list] = {}
    late = [0] * len(OVERDUE_BUCKETS)
    for code, _, bucket, count, value in facts.open_deals:
        if bucket:
            entry = found.setdefault(code, [0, 0])
            entry[0] += count
            entry[1] += value
            late[bucket - 1] += count
    by_stage = [{"code": s.code, "name": s.name, "count": found[s.code][0], "value": _money(found[s.code][1])}
                for s in _named(_open_stages(process), found) if s.code in found]
    return {"count": sum(s["count"] for s in by_stage), "value": round(sum(s["value"] for s in by_stage), 2),
            "by_stage": by_stage,
            "by_days_late": [{"label": label, "count": late[i]} for i, (_, _, label) in enumerate(OVERDUE_BUCKETS)]}


def furthest_rung(session: Session, ladder: list[StageInfo]):
    """The furthest rung of ``ladder`` (1 for the first) a deal has been on, now or before, 0 for none: a deal
    sent back still counts as having got there. Read from ``stages_reached``, kept as stage changes are written."""
    rungs = [(or_(O.stage_code == stage.code, holds(session, O.stages_reached, f",{stage.code},")),
              literal_column(str(n))) for n, stage in reversed(list(enumerate(ladder, start=1)))]
    return case(*rungs, else_=literal_column("0"))


def _funnel(session: Session, scope: Scope, process: list[StageInfo]) -> list[dict]:
    """How many deals created in the period got at least as far as each stage (won counts as the end)."""
    ladder = [s for s in process if s.outcome != "lost"]
    counts = dict(session.execute(
        select(furthest_rung(session, ladder).label("furthest"), func.count())
        .where(*in_period(O.created_at, scope), *deal_filters(scope)).group_by("furthest")).all())
    return [{"code": stage.code, "name": stage.name,
             "reached": sum(count for furthest, count in counts.items() if furthest >= n)}
            for n, stage in enumerate(ladder, start=1)]


def _conversion(funnel: list[dict]) -> list[dict]:
    steps = []
    for here, after in zip(funnel, funnel[1:], strict=False):
        steps.append({"from_code": here["code"], "from_name": here["name"], "to_code": after["code"],
                      "to_name": after["name"], "reached": here["reached"], "went_on": after["reached"],
                      "rate": round(after["reached"] / here["reached"], 4) if here["reached"] else None})
    return steps


def _cycle_time(facts: Facts) -> dict:
    won = [(day, count, days) for _, day, count, _, days in facts.won]
    count = sum(c for _, c, _ in won)
    mean = sum(float(days or 0) for _, _, days in won) / count if count else None
    return {"won": count, "mean_days": None if mean is None else round(mean, 1),
            "median_days": median_of([(int(d or 0), c) for d, c, _ in won])}


def speed(*, session: Session, scope: Scope, facts: Facts | None = None) -> dict:
    """How long deals sit, which are late, how many move on, and how long a win takes."""
    facts = facts or Facts(session, scope)
    process = stages(session=session, dealer_id=scope.dealer_id)
    funnel = _funnel(session, scope, process)
    return {"ageing": _ageing(facts, process), "overdue": _overdue(facts, process),
            "funnel": funnel, "conversion": _conversion(funnel), "cycle_time": _cycle_time(facts)}


# --- performance ---------------------------------------------------------------------------------

def _targets(session: Session, scope: Scope, won_by_month: dict[str, tuple[int, float]]) -> list[dict]:
    """Targets have no model: with a model chosen there is nothing fair to compare against."""
    if scope.model_id is not None:
        return []
    months = scope.months()
    query = select(Target.month, func.sum(Target.units), func.sum(Target.value)).where(Target.month.in_(months))
    if scope.dealer_id is not None:
        query = query.where(Target.dealer_id == scope.dealer_id)
    elif scope.currency_dealers is not None:
        query = query.where(Target.dealer_id.in_(scope.currency_dealers))
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


def performance(*, session: Session, scope: Scope, lessons: int = LESSONS, facts: Facts | None = None) -> dict:
    """Win rate, why deals were lost, targets against wins, and what reps wrote after losing."""
    facts = facts or Facts(session, scope)
    by_month = facts.outcomes_by_month()
    won = sum(o[0] for o in by_month.values())
    lost = sum(o[1] for o in by_month.values())
    value_won = round(sum(o[2] for o in by_month.values()), 2)
    reasons = sorted(facts.lost_reasons.items(), key=lambda pair: (-pair[1], pair[0]))
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
        "targets": _targets(session, scope, {month: (o[0], o[2]) for month, o in by_month.items()}),
        "lessons": [{"closed_on": closed.date().isoformat(), "reason": reason,
                     "label": LOST_REASONS.get(reason or "other", reason), "note": note, "model_id": model_id,
                     "dealer_id": dealer_id if scope.carmaker_view else None}
                    for closed, reason, note, model_id, dealer_id in notes],
    }


# --- trend ---------------------------------------------------------------------------------------

def trend(*, session: Session, scope: Scope, facts: Facts | None = None) -> dict:
    """Month by month: deals started, won, lost and the value won."""
    facts = facts or Facts(session, scope)
    started = facts.started
    outcomes = facts.outcomes_by_month()
    months = []
    for month in scope.months():
        won, lost, value = outcomes.get(month, (0, 0, 0))
        months.append({"month": month, "new": int(started.get(month, 0)), "won": int(won or 0),
                       "lost": int(lost or 0), "value_won": _money(value)})
    return {"months": months}

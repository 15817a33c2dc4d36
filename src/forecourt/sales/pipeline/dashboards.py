"""The dealer manager's and the carmaker's pipeline figures: volume, speed, performance, trend.

Figures are aggregates of the monthly rollup and of the open deals (``Facts`` says which reads keep a
million deals fast; docs/benchmarks.md has the figures); medians come from whole-day histograms rather
than from rows loaded into Python. Only counts, sums and the reps' own post-mortem notes leave here: no
customer, no deal title, no account name.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import cached_property

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.orm import Session

from forecourt.core.i18n import N_
from forecourt.sales import rollup
from forecourt.sales.models import Opportunity as O
from forecourt.sales.models import Target
# One list: the reasons a rep picks when a deal is lost are the ones the dashboards count and name.
from forecourt.sales.opportunities import LOST_REASONS
from forecourt.sales.pipeline import monthly
from forecourt.sales.pipeline.scope import Scope, StageInfo, deal_filters, in_period, stages
from forecourt.sales.pipeline.sql import days_between, median_of, moment, whole_days, without_jit

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

    Deals started and closed in the period come from the monthly rollup (``monthly``, ``sales.rollup``): for
    the whole network a few thousand rows instead of every deal. Open deals, whose ages depend on the moment
    of looking, come from the deals through an index that holds only the open ones. The page with every
    dashboard shares one ``Facts``.
    """

    def __init__(self, session: Session, scope: Scope):
        self.session, self.scope = session, scope
        without_jit(session)

    def _where(self, source) -> list:
        return deal_filters(self.scope, source=source)

    def _sums(self, table, groups: list[str], measures: list[str]) -> list[tuple]:
        """``table``'s rows of the period in the scope, added up by ``groups``: (*groups, deals, *measures)."""
        scope = self.scope
        rows = monthly.rows(self.session, table, start=scope.start, end=scope.end, now=scope.now, where=self._where)
        deals = func.sum(rows.c.deals)
        keys = [rows.c[name] for name in groups]
        return [(*row[:len(keys)], *(int(v or 0) for v in row[len(keys):])) for row in self.session.execute(
            select(*keys, deals, *[func.sum(rows.c[m]) for m in measures]).group_by(*keys)
            .having(deals != literal_column("0"))).all()]

    @cached_property
    def started_rows(self) -> list[tuple[str, str, str, str, int]]:
        """(month, status, stage, stages reached, deals) of the deals created in the period."""
        return self._sums(rollup.StartedDeals, ["month", "status", "stage_code", "stages_reached"], [])

    @cached_property
    def closed_rows(self) -> list[tuple[str, str, int, int, int]]:
        """(month, won or lost, deals, cents, milliseconds to win) of the deals closed in the period."""
        return self._sums(rollup.ClosedDeals, ["month", "status"], ["amount_cents", "cycle_ms"])

    @cached_property
    def closed_detail(self) -> list[tuple[str, str, int, int]]:
        """(won or lost, reason lost, whole days to win, deals) of the deals closed in the period."""
        return self._sums(rollup.ClosedDetail, ["status", "lost_reason", "cycle_days"], [])

    @cached_property
    def started(self) -> dict[str, int]:
        """month -> deals created."""
        counts = dict.fromkeys(self.scope.months(), 0)
        for month, _, _, _, n in self.started_rows:
            counts[month] = counts.get(month, 0) + n
        return counts

    @cached_property
    def open_deals(self) -> list[tuple[str, int, int, int, object]]:
        """(stage, whole days in it, how late: 0 not yet due, else which of ``OVERDUE_BUCKETS`` counting from 1,
        deals, value) of the open deals created in the period: volume, ageing and overdue from one pass over
        the index of open deals (``status = 'open'`` written out, so both engines see the index applies)."""
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
            .where(O.status == literal_column("'open'"), *in_period(O.created_at, scope), *deal_filters(scope))
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
    def won(self) -> dict[str, tuple[int, Decimal, int]]:
        """month -> (deals won, their value, milliseconds from opening to the win, summed)."""
        return {month: (n, Decimal(amount) / 100, ms) for month, status, n, amount, ms in self.closed_rows
                if status == "won"}

    @cached_property
    def won_days(self) -> list[tuple[int, int]]:
        """(whole days from opening to the win, deals) of the deals won in the period."""
        return [(int(days), n) for status, _, days, n in self.closed_detail if status == "won"]

    @cached_property
    def lost(self) -> dict[str, int]:
        """month -> deals lost."""
        counts = dict.fromkeys(self.scope.months(), 0)
        for month, status, n, _, _ in self.closed_rows:
            if status == "lost":
                counts[month] = counts.get(month, 0) + n
        return counts

    @cached_property
    def lost_reasons(self) -> dict[str, int]:
        """reason -> deals lost in the period (a loss without a reason is "other")."""
        counts: dict[str, int] = {}
        for status, reason, _, n in self.closed_detail:
            if status == "lost":
                counts[reason] = counts.get(reason, 0) + n
        return {code: n for code, n in counts.items() if n}

    def outcomes_by_month(self) -> dict[str, tuple[int, int, float]]:
        """month -> (won, lost, value won)."""
        months: dict[str, list] = {month: [0, lost, 0] for month, lost in self.lost.items() if lost}
        for month, (count, value, _) in self.won.items():
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


def furthest_rung(ladder: list[StageInfo], stage_code: str, stages_reached: str) -> int:
    """The furthest rung of ``ladder`` (1 for the first) a deal has been on, now or before, 0 for none: a deal
    sent back still counts as having got there. Read from ``stages_reached``, kept as stage changes are written."""
    return max((n for n, stage in enumerate(ladder, start=1)
                if stage.code == stage_code or f",{stage.code}," in stages_reached), default=0)


def _funnel(facts: Facts, process: list[StageInfo]) -> list[dict]:
    """How many deals created in the period got at least as far as each stage (won counts as the end)."""
    ladder = [s for s in process if s.outcome != "lost"]
    counts: dict[int, int] = {}
    for _, _, stage_code, reached, n in facts.started_rows:
        furthest = furthest_rung(ladder, stage_code, reached)
        counts[furthest] = counts.get(furthest, 0) + n
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
    count = sum(n for n, _, _ in facts.won.values())
    mean = sum(ms for _, _, ms in facts.won.values()) / 86_400_000 / count if count else None
    return {"won": count, "mean_days": None if mean is None else round(mean, 1),
            "median_days": median_of(facts.won_days)}


def speed(*, session: Session, scope: Scope, facts: Facts | None = None) -> dict:
    """How long deals sit, which are late, how many move on, and how long a win takes."""
    facts = facts or Facts(session, scope)
    process = stages(session=session, dealer_id=scope.dealer_id)
    funnel = _funnel(facts, process)
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

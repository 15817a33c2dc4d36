"""The stages of a sale: the network's default process, which a dealer may replace with its own.

A dealer that defines no stages works with the network default (``organization_id`` NULL). Once it
saves its own, those rows are its whole process. Every process ends in exactly one *won* and one
*lost* stage, so pipeline analytics can always tell a closed deal from an open one. Stage codes never
change once given (opportunities and their history point at them); names, order and probabilities do.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import N_, _
from forecourt.sales.models import Opportunity, Stage

# code, name, probability (percent), outcome
DEFAULT_STAGES: tuple[tuple[str, str, int, str | None], ...] = (
    ("new", N_("New"), 10, None),
    ("qualified", N_("Qualified"), 25, None),
    ("test_drive", N_("Test drive"), 40, None),
    ("offer", N_("Offer"), 60, None),
    ("negotiation", N_("Negotiation"), 80, None),
    ("won", N_("Won"), 100, "won"),
    ("lost", N_("Lost"), 0, "lost"),
)
MAX_OPEN_STAGES = 12


def ensure_default_stages(*, session: Session) -> None:
    """Writes the network's default stages if missing; safe to run on every start."""
    present = set(session.scalars(select(Stage.code).where(Stage.organization_id.is_(None))))
    for position, (code, name, probability, outcome) in enumerate(DEFAULT_STAGES, start=1):
        if code not in present:
            session.add(Stage(organization_id=None, code=code, name=name, position=position * 10,
                              probability=probability, outcome=outcome))
    session.flush()


def _rows(session: Session, organization_id: int | None) -> list[Stage]:
    owner = Stage.organization_id.is_(None) if organization_id is None else Stage.organization_id == organization_id
    return list(session.scalars(select(Stage).where(owner).order_by(Stage.position, Stage.id)))


def has_own_stages(*, session: Session, dealer_id: int) -> bool:
    return bool(session.scalar(select(func.count(Stage.id)).where(Stage.organization_id == dealer_id)))


def stages_for(*, session: Session, dealer_id: int | None) -> list[Stage]:
    """The dealer's own process if it defined one, otherwise the network default, in order."""
    if dealer_id is not None:
        own = _rows(session, dealer_id)
        if own:
            return own
    defaults = _rows(session, None)
    if not defaults:  # a database prepared before the sales domain existed
        ensure_default_stages(session=session)
        defaults = _rows(session, None)
    return defaults


def open_stages(*, session: Session, dealer_id: int | None) -> list[Stage]:
    return [s for s in stages_for(session=session, dealer_id=dealer_id) if s.outcome is None]


def outcome_stage(*, session: Session, dealer_id: int | None, outcome: str) -> Stage:
    """The dealer's won (or lost) stage; every process has exactly one of each."""
    for stage in stages_for(session=session, dealer_id=dealer_id):
        if stage.outcome == outcome:
            return stage
    raise NotFound(f"No {outcome} stage")  # pragma: no cover - save_dealer_stages keeps one of each


def stage_named(*, session: Session, dealer_id: int | None, code: str) -> Stage:
    for stage in stages_for(session=session, dealer_id=dealer_id):
        if stage.code == code:
            return stage
    raise Invalid(_("There is no such stage in your sales process."), field="stage_code")


def _code_for(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:28] or "stage"
    code, n = base, 2
    while code in taken:
        code, n = f"{base[:26]}_{n}", n + 1
    taken.add(code)
    return code


def _check(stages: list[dict], won_name: str, lost_name: str) -> None:
    if not stages:
        raise Invalid(_("Keep at least one open stage: a new deal has to start somewhere."), field="stages")
    if len(stages) > MAX_OPEN_STAGES:
        raise Invalid(_("Use at most %(max_open_stages)s open stages.", max_open_stages=MAX_OPEN_STAGES), field="stages")
    names = [s["name"] for s in stages] + [won_name, lost_name]
    for i, stage in enumerate(stages):
        if not stage["name"]:
            raise Invalid(_("Give stage %(value)s a name.", value=i + 1), field="stages")
        if not 0 <= stage["probability"] <= 100:
            raise Invalid(_("The probability of '%(name)s' must be between 0 and 100 %%.", name=stage['name']), field="stages")
    if not won_name or not lost_name:
        raise Invalid(_("Name the won and the lost stage."), field="stages")
    lowered = [n.lower() for n in names]
    duplicate = next((n for n in names if lowered.count(n.lower()) > 1), None)
    if duplicate:
        raise Invalid(_("Two stages are called '%(duplicate)s'; give each stage its own name.", duplicate=duplicate), field="stages")


def save_dealer_stages(*, session: Session, dealer_id: int, stages: list[dict], won_name: str = "Won",
                       lost_name: str = "Lost") -> list[Stage]:
    """Replaces the dealer's open stages with ``stages`` (in order): ``[{"code"?, "name", "probability"}]``.

    A stage with a known ``code`` is renamed or moved; one without is added. Open stages left out are
    removed, but not while open deals sit in them: the rep would lose track of those deals.
    """
    stages = [dict(code=(s.get("code") or None), name=(s.get("name") or "").strip(),
                   probability=int(s.get("probability") or 0)) for s in stages]
    won_name, lost_name = won_name.strip(), lost_name.strip()
    _check(stages, won_name, lost_name)
    current = stages_for(session=session, dealer_id=dealer_id)
    known = {s.code: s for s in current}
    kept_codes = {s["code"] for s in stages if s["code"]}
    unknown = kept_codes - {s.code for s in current if s.outcome is None}
    if unknown:
        raise Invalid(_("One of the stages is not part of your process any more; reload the page."), field="stages")
    removed = [s for s in current if s.outcome is None and s.code not in kept_codes]
    for stage in removed:
        waiting = session.scalar(select(func.count(Opportunity.id)).where(
            Opportunity.dealer_id == dealer_id, Opportunity.status == "open", Opportunity.stage_code == stage.code))
        if waiting:
            deals = "1 open deal is" if waiting == 1 else f"{waiting} open deals are"
            raise Invalid(_("'%(name)s' cannot be removed: %(deals)s in it. Move them to another stage first.", name=stage.name, deals=deals),
                          field="stages")
    own = _rows(session, dealer_id)
    for row in own:
        if row.code not in kept_codes and row.outcome is None:
            session.delete(row)
    session.flush()
    by_code = {row.code: row for row in own if row.code in kept_codes or row.outcome is not None}
    taken = set(known)
    outcome_rows = {s.outcome: s for s in current if s.outcome}
    ordered = [*stages,
               dict(code=outcome_rows["won"].code, name=won_name, probability=100, outcome="won"),
               dict(code=outcome_rows["lost"].code, name=lost_name, probability=0, outcome="lost")]
    result = []
    for position, values in enumerate(ordered, start=1):
        code = values["code"] or _code_for(values["name"], taken)
        row = by_code.get(code)
        if row is None:
            row = Stage(organization_id=dealer_id, code=code, outcome=values.get("outcome"))
            session.add(row)
        row.name, row.probability, row.position = values["name"], values["probability"], position * 10
        result.append(row)
    session.flush()
    return result

"""A small hand-made pipeline whose every figure is known: two dealers, three reps, two models.

Frozen at ``NOW``; the period is the first quarter of 2026. Deals are numbered as in the comments
of ``build`` so the tests can say which ones make each figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from forecourt.core.auth import Role
from forecourt.sales.models import Opportunity, StageChange, Target
from forecourt.vehicles import service as vehicles_service

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
FROM, TO = date(2026, 1, 1), date(2026, 3, 31)
LADDER = ["new", "qualified", "test_drive", "offer", "negotiation"]


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@dataclass
class Pipeline:
    dealer: object
    dealer_b: object
    rep1: object
    rep2: object
    rep3: object
    m1: object
    m2: object
    ids: dict


def deal(session, *, dealer, rep, model, amount, created, path, status="open", closed=None, entered=None,
         expected=None, reason=None, note="", kind="retail") -> Opportunity:
    """``path``: the stages in order, the last being where the deal is (or 'won' / 'lost')."""
    stage = path[-1]
    opportunity = Opportunity(dealer_id=dealer.id, owner_user_id=rep.user_id, model_id=model.id, kind=kind,
                              title="A car", amount=amount, expected_close=expected, stage_code=stage,
                              status=status, lost_reason=reason, post_mortem=note, created_at=created,
                              stage_entered_at=entered or closed or created, closed_at=closed)
    session.add(opportunity)
    session.flush()
    moments = [created] + [created + (((entered or closed or created) - created) * (i + 1) / (len(path) - 1))
                           for i in range(len(path) - 1)]
    previous = None
    for code, moment in zip(path, moments, strict=True):
        session.add(StageChange(opportunity_id=opportunity.id, from_stage=previous, to_stage=code, changed_at=moment,
                                user_id=rep.user_id))
        previous = code
    session.flush()
    return opportunity


def build(make, session) -> Pipeline:
    n = make.n()
    dealer, dealer_b = make.dealer(name=f"Autohaus Alpha {n}"), make.dealer(name=f"Autohaus Beta {n}")
    rep1, rep2 = make.staff(dealer, Role.DEALER_SALES), make.staff(dealer, Role.DEALER_SALES)
    rep3 = make.staff(dealer_b, Role.DEALER_SALES)
    m1 = vehicles_service.create_model(session=session, code=f"PA{n}", name=f"Aurora {n}", body="hatchback",
                                       year_from=2020)
    m2 = vehicles_service.create_model(session=session, code=f"PB{n}", name=f"Borealis {n}", body="suv",
                                       year_from=2020)
    A = dict(dealer=dealer)  # noqa: N806
    ids = {}
    # 1: open, qualified for 10 days, 14 days overdue
    ids[1] = deal(session, **A, rep=rep1, model=m1, amount=30000, created=at(2026, 2, 1), path=LADDER[:2],
                  entered=NOW - timedelta(days=10), expected=date(2026, 3, 1)).id
    # 2: open, offer for 4 days, not due yet
    ids[2] = deal(session, **A, rep=rep2, model=m2, amount=50000, created=at(2026, 2, 10), path=LADDER[:4],
                  entered=NOW - timedelta(days=4), expected=date(2026, 4, 30)).id
    # 3: open, qualified for 2 days, 1 day overdue
    ids[3] = deal(session, **A, rep=rep1, model=m1, amount=20000, created=at(2026, 3, 1), path=LADDER[:2],
                  entered=NOW - timedelta(days=2), expected=date(2026, 3, 14)).id
    # 4: won after 30 days, closed in February
    ids[4] = deal(session, **A, rep=rep1, model=m1, amount=40000, created=at(2026, 1, 5), path=LADDER + ["won"],
                  status="won", closed=at(2026, 2, 4)).id
    # 5: won after 10 days in January, skipped the test drive
    ids[5] = deal(session, **A, rep=rep2, model=m2, amount=60000, created=at(2026, 1, 10),
                  path=["new", "qualified", "offer", "negotiation", "won"], status="won", closed=at(2026, 1, 20)).id
    # 6: lost on price after the test drive, with a post-mortem
    ids[6] = deal(session, **A, rep=rep1, model=m1, amount=25000, created=at(2026, 1, 15),
                  path=["new", "qualified", "test_drive", "lost"], status="lost", closed=at(2026, 2, 15),
                  reason="price", note="Too expensive compared with the rival offer.")
    # 7: lost to a competitor straight from new
    ids[7] = deal(session, **A, rep=rep2, model=m2, amount=35000, created=at(2026, 2, 1), path=["new", "lost"],
                  status="lost", closed=at(2026, 3, 1), reason="competitor")
    # 8: won long before the period
    ids[8] = deal(session, **A, rep=rep1, model=m1, amount=99999, created=at(2025, 6, 1), path=["new", "won"],
                  status="won", closed=at(2025, 7, 1)).id
    # 9, 10: dealer B
    ids[9] = deal(session, dealer=dealer_b, rep=rep3, model=m1, amount=70000, created=at(2026, 1, 2),
                  path=["new", "won"], status="won", closed=at(2026, 1, 12)).id
    ids[10] = deal(session, dealer=dealer_b, rep=rep3, model=m1, amount=15000, created=at(2026, 3, 10),
                   path=["new"], entered=at(2026, 3, 10), expected=date(2026, 4, 10)).id
    session.add_all([Target(dealer_id=dealer.id, user_id=None, month="2026-01", units=2, value=80000),
                     Target(dealer_id=dealer.id, user_id=None, month="2026-02", units=1, value=50000),
                     Target(dealer_id=dealer.id, user_id=rep1.user_id, month="2026-02", units=1, value=45000),
                     Target(dealer_id=dealer_b.id, user_id=None, month="2026-01", units=5, value=300000)])
    session.flush()
    return Pipeline(dealer=dealer, dealer_b=dealer_b, rep1=rep1, rep2=rep2, rep3=rep3, m1=m1, m2=m2, ids=ids)

"""Who may look at which part of the pipeline, over which period, and the conditions that keep every
figure inside that scope. The SQL that differs between SQLite and PostgreSQL is in ``pipeline.sql``.

A sales rep sees their own dealer only (and may narrow to one rep of it); the carmaker sees the
whole network and may narrow to one dealer. Anything else is a 404, like any page that does not
exist for the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now as clock_now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.periods import Period
from forecourt.core.schemas import check_period
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.sales.models import Opportunity, Stage

# The network's process, used when the stages table has not been filled yet; probabilities in percent.
DEFAULT_STAGES = (("new", "New", 1, 10, None), ("qualified", "Qualified", 2, 25, None),
                  ("test_drive", "Test drive", 3, 40, None), ("offer", "Offer", 4, 60, None),
                  ("negotiation", "Negotiation", 5, 80, None), ("won", "Won", 6, 100, "won"),
                  ("lost", "Lost", 7, 0, "lost"))


@dataclass(frozen=True)
class StageInfo:
    code: str
    name: str
    position: int
    probability: int
    outcome: str | None


@dataclass(frozen=True)
class Scope(Period):
    """One look at the pipeline: whose deals, which period, seen by whom, at what moment."""

    dealer_id: int | None
    rep_id: int | None
    model_id: int | None
    date_from: date
    date_to: date
    now: datetime
    carmaker_view: bool  # the carmaker may see dealers' names; a dealer never sees its peers' names
    # Money is never added across currencies: every figure is of the deals in ``currency`` (a dealer's
    # own market's). When the network has dealers in several currencies, ``currency_dealers`` are the
    # ones in this one (the network view and the benchmark's peers keep to them); ``None`` otherwise.
    currency: str = "EUR"
    currency_dealers: tuple[int, ...] | None = None
    currencies: tuple[str, ...] = ("EUR",)  # every currency the network's dealers sell in

    def month_ranges(self) -> list[tuple[str, datetime, datetime]]:
        """Each month of the period as (YYYY-MM, first moment, moment after), clipped to the period (UTC)."""
        ranges = []
        for month in self.months():
            year, number = int(month[:4]), int(month[5:])
            start = datetime(year, number, 1, tzinfo=UTC)
            end = datetime(year + 1, 1, 1, tzinfo=UTC) if number == 12 else datetime(year, number + 1, 1, tzinfo=UTC)
            ranges.append((month, max(start, self.start), min(end, self.end)))
        return ranges

    def as_filters(self) -> dict:
        return {"dealer_id": self.dealer_id, "rep_id": self.rep_id, "model_id": self.model_id,
                "date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                "currency": self.currency}


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months, whole months from the first of the month eleven months ago to today."""
    year, month = today.year, today.month - 11
    if month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1), today


def currencies_of_dealers(session: Session) -> dict[int, str]:
    """dealer id -> the currency it sells in (its market's)."""
    return {d.id: markets.reference(d.market)["currency"]
            for d in parties_service.list_organizations(session=session, kind="dealer", active_only=False)}


def _currency(session: Session, principal: Principal, dealer, wanted: str | None) -> tuple[str, tuple, tuple | None]:
    """(currency, the network's currencies, its dealers when the network has several) for one look."""
    by_dealer = currencies_of_dealers(session)
    present = tuple(sorted(set(by_dealer.values()))) or ("EUR",)
    if dealer is not None:
        currency = markets.reference(dealer.market)["currency"]
    elif wanted:
        currency = wanted.strip().upper()
        if currency not in present:
            raise Invalid(_("The network sells in %(currencies)s; choose one of them.",
                            currencies=", ".join(present)), field="currency")
    else:
        own = parties_service.organization_or_none(session=session, organization_id=principal.organization_id) \
            if principal.organization_id is not None else None
        currency = markets.reference(own.market if own else None)["currency"]
        currency = currency if currency in present else present[0]
    dealers = tuple(sorted(d for d, c in by_dealer.items() if c == currency)) if len(present) > 1 else None
    return currency, present, dealers


def scope_for(*, session: Session, principal: Principal, dealer_id: int | None = None, rep_id: int | None = None,
              model_id: int | None = None, date_from: date | None = None, date_to: date | None = None,
              currency: str | None = None) -> Scope:
    """Checks the caller may see what they ask for and fills in the defaults. ``currency`` chooses which
    of the network's currencies the carmaker's network view adds up (its own market's by default); a
    dealer's figures are in the dealer's currency."""
    moment = clock_now()
    if principal.role is Role.DEALER_SALES:
        if dealer_id is not None and dealer_id != principal.organization_id:
            raise NotFound("No such dealer")
        dealer_id = principal.organization_id
    elif principal.role is not Role.CARMAKER_ADMIN:
        raise NotFound("Not found")
    dealer = None
    if dealer_id is not None:
        try:
            dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
        except NotFound:
            raise NotFound("No such dealer") from None
        if dealer.kind != "dealer":
            raise NotFound("No such dealer")
    if rep_id is not None:
        try:
            rep = parties_service.get_user(session=session, user_id=rep_id)
        except NotFound:
            raise NotFound("No such sales rep") from None
        if rep.organization_id is None or (dealer_id is not None and rep.organization_id != dealer_id):
            raise NotFound("No such sales rep")
        if dealer_id is None:
            dealer_id = rep.organization_id
            dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
    first, last = default_period(moment.date())
    date_from, date_to = date_from or first, date_to or last
    problem = check_period(date_from, date_to)
    if problem:
        raise Invalid(problem, field="date_from")
    currency, present, dealers = _currency(session, principal, dealer, currency)
    return Scope(dealer_id=dealer_id, rep_id=rep_id, model_id=model_id, date_from=date_from, date_to=date_to,
                 now=moment, carmaker_view=principal.role is Role.CARMAKER_ADMIN, currency=currency,
                 currency_dealers=dealers, currencies=present)


def stages(*, session: Session, dealer_id: int | None = None) -> list[StageInfo]:
    """The dealer's own process if it has one, else the network's; the built-in one if neither is stored."""
    rows = []
    if dealer_id is not None:
        rows = list(session.scalars(select(Stage).where(Stage.organization_id == dealer_id)))
    if not rows:
        rows = list(session.scalars(select(Stage).where(Stage.organization_id.is_(None))))
    if not rows:
        return [StageInfo(*values) for values in DEFAULT_STAGES]
    return sorted((StageInfo(s.code, s.name, s.position, s.probability or 0, s.outcome) for s in rows),
                  key=lambda s: s.position)


def deal_filters(scope: Scope, *, include_rep: bool = True, source=Opportunity) -> list:
    """WHERE conditions for the dealer, rep and model chosen (the period differs per figure), on the deals or
    on a table of the rollup (``source``: the same column names)."""
    conditions = []
    if scope.dealer_id is not None:
        conditions.append(source.dealer_id == scope.dealer_id)
    elif scope.currency_dealers is not None:  # the network in one currency: its dealers (read from the indexes)
        conditions.append(source.dealer_id.in_(scope.currency_dealers))
    if include_rep and scope.rep_id is not None:
        conditions.append(source.owner_user_id == scope.rep_id)
    if scope.model_id is not None:
        conditions.append(source.model_id == scope.model_id)
    return conditions


def network_filters(scope: Scope, *, source=Opportunity) -> list:
    """WHERE conditions for every dealer of the scope's currency, with its model if one is chosen: what the
    network's benchmark and its totals per currency compare (a dealer's or rep's choice does not narrow them)."""
    conditions = [source.model_id == scope.model_id] if scope.model_id is not None else []
    if scope.currency_dealers is not None:  # peers are the dealers who sell in the same currency
        conditions.append(source.dealer_id.in_(scope.currency_dealers))
    return conditions


def in_period(column, scope: Scope) -> list:
    return [column >= scope.start, column < scope.end]

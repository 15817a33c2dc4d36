"""Lead scoring: the chance a lead is won, learnt from the dealer's own won and lost deals.

A naive-Bayes model with Laplace smoothing: for each feature of a lead (where it came from, the model,
a saved configuration, whether the person already owns one of our cars, how far they live) it counts
how often leads with that value were won and lost. It is small, trains in one pass over the history,
and — unlike a black box — every factor it uses can be said in a sentence a sales rep trusts:
"Test-drive requests are won 41% of the time here, against 22% overall".

A dealer with enough closed deals gets its own model; otherwise the network's history is used, and
with too little history anywhere the score is the network's base rate, with a reason that says so.

A lead keeps its reasons as facts (which factor, which rates, how many deals), not as sentences: each
reader gets them in their own language (``explain``), whoever scored the lead and in whatever language.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from math import exp, log

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core.geo import distance_km
from forecourt.core import dates
from forecourt.core.i18n import Labels, N_, _, ngettext
from forecourt.parties import service as parties_service
from forecourt.sales.models import Lead, Opportunity
from forecourt.sales.routing import OPEN_STATUSES, locate
from forecourt.vehicles import service as vehicles_service

MIN_DEALER_DEALS = 20
MIN_NETWORK_DEALS = 10
MIN_SUPPORT = 3  # a factor is named only when at least this many closed leads had it
MAX_REASONS = 3

_SOURCE = Labels({"configuration": N_("Leads from a saved configuration"), "test_drive": N_("Test-drive requests"),
           "event": N_("Leads from events"), "web_form": N_("Web-form enquiries")})
_CUSTOMER = Labels({"owner": N_("Leads from people who already own one of our cars"),
             "returning": N_("Leads from people who asked before"), "new": N_("Leads from new contacts")})
_ROUTED = Labels({"customer_choice": N_("Leads that chose the dealer themselves"), "location": N_("Leads routed by location")})


_BANDS = Labels({"under 10 km": N_("under 10 km"), "10–30 km": N_("10–30 km away"), "30–80 km": N_("30–80 km away"),
                 "over 80 km": N_("over 80 km away")})


def _label(feature: str, value: str) -> str:
    """The group of leads a factor speaks of, in the reader's language."""
    if feature == "source":
        return _SOURCE.get(value) or _("Leads from %(source)s", source=value)
    if feature == "model":
        return _("Enquiries without a model") if value == "none" else _("Enquiries about the %(model)s", model=value)
    if feature == "configuration":
        return _("Leads with a saved configuration") if value == "yes" else _("Leads without a configuration")
    if feature == "customer":
        return _CUSTOMER.get(value, value)
    if feature == "distance":
        return (_("Leads whose location is unknown") if value == "unknown" else
                _("Leads living %(distance)s from the dealer", distance=_BANDS.get(value, value)))
    return _ROUTED.get(value) or _("Leads routed by %(way)s", way=value)


def _band(km: float | None) -> str:
    if km is None:
        return "unknown"
    return "under 10 km" if km < 10 else "10–30 km" if km < 30 else "30–80 km" if km < 80 else "over 80 km"


def _pct(value: float) -> str:
    return dates.format_percent(value)


def explain(reasons: list) -> list[str]:
    """A lead's reasons as sentences in the reader's language. Reasons written as text before reasons were
    kept as facts are shown as they were written."""
    return [reason if isinstance(reason, str) else _sentence(reason) for reason in reasons or []]


def _sentence(reason: dict) -> str:
    kind, here = reason.get("kind"), reason.get("scope") == "here"
    if kind == "too_little":
        return ngettext("Too little history to learn from yet: %(num)s closed deal in the network. This is the "
                        "network's base rate of %(rate)s, the same for every lead until more deals are won or lost.",
                        "Too little history to learn from yet: %(num)s closed deals in the network. This is the "
                        "network's base rate of %(rate)s, the same for every lead until more deals are won or lost.",
                        reason["deals"], rate=_pct(reason["rate"]))
    if kind == "summary":
        if here:
            return ngettext("Estimated chance to win: %(chance)s, learnt from %(num)s closed deal at this dealer.",
                            "Estimated chance to win: %(chance)s, learnt from %(num)s closed deals at this dealer.",
                            reason["deals"], chance=_pct(reason["chance"]))
        return ngettext("Estimated chance to win: %(chance)s, learnt from %(num)s closed deal in the network (this "
                        "dealer has too few yet).",
                        "Estimated chance to win: %(chance)s, learnt from %(num)s closed deals in the network (this "
                        "dealer has too few yet).", reason["deals"], chance=_pct(reason["chance"]))
    if kind == "usual":
        return _("Nothing about this lead stands out from the usual win rate of %(rate)s.", rate=_pct(reason["rate"]))
    values = dict(group=_label(reason["feature"], reason["value"]), rate=_pct(reason["rate"]),
                  overall=_pct(reason["overall"]), won=reason["won"], seen=reason["seen"])
    if here:
        return _("%(group)s are won %(rate)s of the time here, against %(overall)s overall (%(won)s of %(seen)s).",
                 **values)
    return _("%(group)s are won %(rate)s of the time in the network, against %(overall)s overall (%(won)s of "
             "%(seen)s).", **values)


class _Context:
    """What features need beyond the lead row, looked up once per batch."""

    def __init__(self, session: Session, leads: list[Lead]):
        self.session = session
        self.dealers = {d.id: d for d in parties_service.list_organizations(session=session, kind="dealer",
                                                                           active_only=False)}
        self.models = {m.id: m.name for m in vehicles_service.list_models(session=session)}
        customers = {lead.customer_id for lead in leads if lead.customer_id is not None}
        self.first_lead = dict(session.execute(select(Lead.customer_id, func.min(Lead.id))
                                               .where(Lead.customer_id.in_(customers))
                                               .group_by(Lead.customer_id)).all()) if customers else {}
        self._owned_since: dict[int, list] = {}

    def owned_before(self, customer_id: int | None, moment) -> bool:
        if customer_id is None:
            return False
        if customer_id not in self._owned_since:
            self._owned_since[customer_id] = [o.started_at for o in vehicles_service.ownerships_of(
                session=self.session, customer_id=customer_id)]
        return any(started is not None and started < moment for started in self._owned_since[customer_id])

    def features(self, lead: Lead) -> dict[str, str]:
        dealer = self.dealers.get(lead.dealer_id)
        place = locate(lead.postcode, lead.city)
        km = (distance_km(place.latitude, place.longitude, dealer.latitude, dealer.longitude)
              if place and dealer is not None and dealer.position is not None else None)
        if self.owned_before(lead.customer_id, lead.created_at):
            customer = "owner"
        elif lead.customer_id is not None and self.first_lead.get(lead.customer_id, lead.id) < lead.id:
            customer = "returning"
        else:
            customer = "new"
        return {"source": lead.source, "model": self.models.get(lead.model_id, "none"),
                "configuration": "yes" if lead.configuration_id else "no", "customer": customer,
                "distance": _band(km), "routed_by": lead.routed_by or "customer_choice"}


@dataclass
class Model:
    """Won/lost counts, overall and per feature value, for one scope (a dealer or the network)."""

    scope: str  # "here" | "network"
    deals: int = 0
    won: int = 0
    counts: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(lambda: [0, 0])))

    def add(self, features: dict[str, str], won: bool) -> None:
        self.deals += 1
        self.won += won
        for feature, value in features.items():
            self.counts[feature][value][0] += 1
            self.counts[feature][value][1] += won

    @property
    def rate(self) -> float:
        return self.won / self.deals if self.deals else 0.0

    def chance(self, features: dict[str, str]) -> float:
        lost = self.deals - self.won
        log_won, log_lost = log((self.won + 1) / (self.deals + 2)), log((lost + 1) / (self.deals + 2))
        for feature, value in features.items():
            values = self.counts[feature]
            kinds = len(values) + (0 if value in values else 1)
            seen, won_with = values.get(value, (0, 0))
            log_won += log((won_with + 1) / (self.won + kinds))
            log_lost += log((seen - won_with + 1) / (lost + kinds))
        return 1 / (1 + exp(log_lost - log_won))

    def reasons(self, features: dict[str, str]) -> list[dict]:
        overall = self.rate
        factors = []
        for feature, value in features.items():
            seen, won_with = self.counts[feature].get(value, (0, 0))
            if seen < MIN_SUPPORT:
                continue
            rate = won_with / seen
            smoothed = (won_with + 1) / (seen + 2)
            weight = abs(log(smoothed / (1 - smoothed)) - log((self.won + 1) / (self.deals - self.won + 1)))
            if abs(rate - overall) >= 0.05:
                factors.append((weight, dict(kind="factor", scope=self.scope, feature=feature, value=value,
                                             rate=rate, overall=overall, won=won_with, seen=seen)))
        return [reason for _, reason in sorted(factors, key=lambda pair: -pair[0])[:MAX_REASONS]]


def _history(session: Session) -> list[tuple[Lead, bool]]:
    """Every lead whose deal has closed, and whether it was won."""
    rows = session.execute(select(Lead, Opportunity.status).join(Opportunity, Opportunity.lead_id == Lead.id)
                           .where(Opportunity.status.in_(("won", "lost")))).all()
    outcome: dict[int, tuple[Lead, bool]] = {}
    for lead, status in rows:
        won = status == "won" or (lead.id in outcome and outcome[lead.id][1])
        outcome[lead.id] = (lead, won)
    return list(outcome.values())


@dataclass
class Scorer:
    """A trained model per dealer (or the network's), ready to score many leads."""

    session: Session
    history: list[tuple[Lead, bool]]
    context: _Context
    network: Model
    _by_dealer: dict = field(default_factory=dict)

    @classmethod
    def train(cls, *, session: Session, extra: list[Lead] = ()) -> Scorer:
        history = _history(session)
        context = _Context(session, [lead for lead, _ in history] + list(extra))
        network = Model(scope="network")
        for lead, won in history:
            network.add(context.features(lead), won)
        return cls(session, history, context, network)

    def model_for(self, dealer_id: int) -> Model | None:
        if dealer_id not in self._by_dealer:
            own = [(lead, won) for lead, won in self.history if lead.dealer_id == dealer_id]
            model = None
            if len(own) >= MIN_DEALER_DEALS:
                model = Model(scope="here")
                for lead, won in own:
                    model.add(self.context.features(lead), won)
            elif self.network.deals >= MIN_NETWORK_DEALS:
                model = self.network
            self._by_dealer[dealer_id] = model
        return self._by_dealer[dealer_id]

    def score(self, lead: Lead) -> Lead:
        model = self.model_for(lead.dealer_id)
        if model is None:
            base = (self.network.won + 1) / (self.network.deals + 2)
            lead.score = round(100 * base)
            lead.score_reasons = [dict(kind="too_little", deals=self.network.deals, rate=base)]
            return lead
        features = self.context.features(lead)
        chance = model.chance(features)
        lead.score = max(0, min(100, round(100 * chance)))
        summary = dict(kind="summary", scope=model.scope, chance=chance, deals=model.deals)
        factors = model.reasons(features) or [dict(kind="usual", rate=model.rate)]
        lead.score_reasons = [summary, *factors]
        return lead


def score_lead(*, session: Session, lead: Lead) -> Lead:
    """Score one lead as it comes in."""
    scored = Scorer.train(session=session, extra=[lead]).score(lead)
    session.flush()
    return scored


def rescore_open(*, session: Session, dealer_id: int) -> int:
    """Re-score every open lead of a dealer with what its history says today; returns how many."""
    leads = list(session.scalars(select(Lead).where(Lead.dealer_id == dealer_id, Lead.status.in_(OPEN_STATUSES))))
    scorer = Scorer.train(session=session, extra=leads)
    for lead in leads:
        scorer.score(lead)
    session.flush()
    return len(leads)

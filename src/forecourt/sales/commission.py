"""The dealer's share of an online sale: rules the carmaker sets, and the one that applies to an order.

The most specific rule in force on the day of hand-over wins: this dealer and this model, this dealer,
this model, the network. Rules are changed and retired, never deleted: a delivered order keeps the
amount and the words of the rule it was paid under, and every change is in the admin audit trail.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal
from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.money import Money, format_money
from forecourt.parties import service as parties_service
from forecourt.sales.models import CommissionRule, Configuration, Order
from forecourt.vehicles import service as vehicles_service

# The network's share for a delivering dealer when no one has set a rule (made on first hand-over).
NETWORK_DEFAULT_PERCENT = Decimal("3.00")
CENT = Decimal("0.01")
EDITABLE = ("percent", "fixed", "valid_from")


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def _euros(value) -> str:
    return f"€{_money(value):,.2f}"


def in_force(on: date):
    """The SQL condition of a rule that applies on ``on``."""
    return (CommissionRule.valid_from <= on) & (CommissionRule.retired_on.is_(None) | (CommissionRule.retired_on > on))


def scope_of(rule: CommissionRule) -> str:
    return {(True, True): _("this dealer's rule for this model"), (True, False): _("this dealer's rule"),
            (False, True): _("the network's rule for this model"), (False, False): _("the network default")}[
        (rule.dealer_id is not None, rule.model_id is not None)]


def terms_of(rule: CommissionRule) -> str:
    """"4 % of the price + €150.00 per car", in words."""
    parts = [_("%(percent)s %% of the price", percent=format(_money(rule.percent).normalize(), "f"))] \
        if rule.percent else []
    if rule.fixed:
        parts.append(_("%(amount)s per car", amount=_euros(rule.fixed)))
    return " + ".join(parts) or _("nothing")


# --- which rule applies --------------------------------------------------------------------------

def network_default_rule(*, session: Session) -> CommissionRule | None:
    """The network-wide rule; made with the default share the first time one is needed, never again
    once the carmaker has set (or retired) its own."""
    rules = session.scalars(select(CommissionRule).where(CommissionRule.dealer_id.is_(None),
                                                         CommissionRule.model_id.is_(None))
                            .order_by(CommissionRule.valid_from.desc())).all()
    if not rules:
        rule = CommissionRule(dealer_id=None, model_id=None, percent=NETWORK_DEFAULT_PERCENT, fixed=Decimal(0),
                              valid_from=date(2000, 1, 1))
        session.add(rule)
        session.flush()
        return rule
    return next((r for r in rules if r.retired_on is None), None)


def commission_for(*, session: Session, order: Order, on: date) -> tuple[Decimal, str]:
    """The most specific rule in force: this dealer and model > this dealer > this model > the network."""
    configuration = session.get(Configuration, order.configuration_id)
    model_id = vehicles_service.get_trim(session=session, trim_id=configuration.trim_id).model_id
    rules = list(session.scalars(select(CommissionRule).where(
        in_force(on),
        # A fixed amount in another currency is never converted: such a rule does not apply here.
        (CommissionRule.currency == order.currency) | (CommissionRule.fixed == 0),
        (CommissionRule.dealer_id == order.dealer_id) | CommissionRule.dealer_id.is_(None),
        (CommissionRule.model_id == model_id) | CommissionRule.model_id.is_(None))))
    if not rules:
        default = network_default_rule(session=session)
        rules = [default] if default is not None and default.valid_from <= on else []
    if not rules:
        return Decimal(0), _("no commission rule in force on %(day)s", day=f"{on:%d %b %Y}")
    rule = max(rules, key=lambda r: (r.dealer_id is not None, r.model_id is not None, r.valid_from, r.id))
    share = Money.of(order.price, order.currency).share(_money(rule.percent))
    amount = (share + Money.of(rule.fixed, rule.currency if rule.fixed else order.currency)).rounded().amount
    parts = [f"{format(_money(rule.percent).normalize(), 'f')} % of "
             f"{format_money(Money.of(order.price, order.currency))}"] if rule.percent else []
    if rule.fixed:
        parts.append(f"{format_money(Money.of(rule.fixed, rule.currency))} per car")
    words = f"{' + '.join(parts) or 'nothing'} ({scope_of(rule)}, valid from {rule.valid_from:%d %b %Y})"
    return amount, words


# --- the carmaker manages the rules --------------------------------------------------------------

def list_rules(*, session: Session, include_retired: bool = True) -> list[CommissionRule]:
    query = select(CommissionRule)
    if not include_retired:
        query = query.where(CommissionRule.retired_on.is_(None))
    return list(session.scalars(query.order_by(CommissionRule.dealer_id.is_not(None), CommissionRule.dealer_id,
                                               CommissionRule.model_id.is_not(None), CommissionRule.model_id,
                                               CommissionRule.valid_from, CommissionRule.id)))


def get_rule(*, session: Session, rule_id: int) -> CommissionRule:
    rule = session.get(CommissionRule, rule_id)
    if rule is None:
        raise NotFound(_("Commission rule not found"))
    return rule


def _check_terms(percent, fixed) -> tuple[Decimal, Decimal]:
    percent, fixed = _money(percent), _money(fixed)
    if not Decimal(0) <= percent <= Decimal(100):
        raise Invalid(_("A share is between 0 and 100 percent."), field="percent")
    if fixed < 0 or fixed > Decimal(100000):
        raise Invalid(_("An amount per car is between €0 and €100,000."), field="fixed")
    return percent, fixed


def create_rule(*, session: Session, principal: Principal, dealer_id: int | None, model_id: int | None, percent,
                fixed, valid_from: date | None = None) -> CommissionRule:
    if dealer_id is not None:
        dealer = parties_service.organization_or_none(session=session, organization_id=dealer_id)
        if dealer is None or dealer.kind != "dealer":
            raise Invalid(_("Choose one of the network's dealers, or none for every dealer."), field="dealer_id")
    if model_id is not None and not vehicles_service.model_exists(session=session, model_id=model_id):
        raise Invalid(_("Choose one of the models, or none for every model."), field="model_id")
    percent, fixed = _check_terms(percent, fixed)
    valid_from = valid_from or now().date()
    clash = session.scalars(select(CommissionRule).where(
        CommissionRule.dealer_id.is_(None) if dealer_id is None else CommissionRule.dealer_id == dealer_id,
        CommissionRule.model_id.is_(None) if model_id is None else CommissionRule.model_id == model_id,
        CommissionRule.valid_from == valid_from, CommissionRule.retired_on.is_(None))).first()
    if clash is not None:
        raise Conflict(_("A rule for the same dealer and model already starts that day; change it instead."),
                       field="valid_from")
    rule = CommissionRule(dealer_id=dealer_id, model_id=model_id, percent=percent, fixed=fixed,
                          valid_from=valid_from)
    session.add(rule)
    session.flush()
    parties_service.audit(session=session, actor=principal, action="commission_rule.create",
                          target=f"commission rule {rule.id}", details=_snapshot(rule))
    return rule


def change_rule(*, session: Session, principal: Principal, rule_id: int, changes: dict) -> CommissionRule:
    """New terms from now on; orders already delivered keep what they were paid."""
    rule = get_rule(session=session, rule_id=rule_id)
    if rule.retired_on is not None:
        raise Conflict(_("This rule is retired; create a new one."))
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid(_("Only the share, the amount per car and the start date can change."), field=sorted(unknown)[0])
    before = _snapshot(rule)
    percent, fixed = _check_terms(changes.get("percent", rule.percent), changes.get("fixed", rule.fixed))
    rule.percent, rule.fixed = percent, fixed
    if changes.get("valid_from") is not None:
        rule.valid_from = changes["valid_from"]
    session.flush()
    parties_service.audit(session=session, actor=principal, action="commission_rule.change",
                          target=f"commission rule {rule.id}", details={"before": before, "after": _snapshot(rule)})
    return rule


def retire_rule(*, session: Session, principal: Principal, rule_id: int, on: date | None = None) -> CommissionRule:
    """The rule stops applying from ``on`` (today by default); a less specific rule takes over."""
    rule = get_rule(session=session, rule_id=rule_id)
    if rule.retired_on is not None:
        return rule
    on = on or now().date()
    if on < rule.valid_from:
        raise Invalid(_("A rule cannot be retired before it starts (%(day)s).", day=f"{rule.valid_from:%d %b %Y}"),
                      field="on")
    rule.retired_on = on
    session.flush()
    parties_service.audit(session=session, actor=principal, action="commission_rule.retire",
                          target=f"commission rule {rule.id}", details=_snapshot(rule))
    return rule


def _snapshot(rule: CommissionRule) -> dict:
    return {"dealer_id": rule.dealer_id, "model_id": rule.model_id, "percent": str(_money(rule.percent)),
            "fixed": str(_money(rule.fixed)), "currency": rule.currency, "valid_from": rule.valid_from.isoformat(),
            "retired_on": rule.retired_on.isoformat() if rule.retired_on else None}

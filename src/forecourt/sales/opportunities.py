"""Opportunities: the deals a dealer works on, from a lead or a walk-in, retail or fleet, to won or lost.

A rep reaches only their own dealer's deals. A deal about a person is that person's data: every read
goes through the consent door for *sales contact* (no grant: the deal does not exist for the rep, and
the read is in the customer's access log when it is allowed). A fleet deal without a contact person is
the dealer's own business and needs no consent.

Pipeline analytics read ``StageChange``: one row when a deal opens (``from_stage`` NULL) and one per
move, including the close. Keep ``stage_entered_at``, ``closed_at`` and ``status`` in step with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import dates, events
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now, today
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _, gettext, Labels, N_
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.sales import configurator
from forecourt.sales import stages as stages_service
from forecourt.sales.events import TestDriveReturned
from forecourt.sales.models import Activity, Configuration, Lead, Opportunity, Quote, StageChange
from forecourt.vehicles import service as vehicles_service

PURPOSE = "sales_contact"
LOST_REASONS = Labels({
    "price": N_("Price"), "competitor_offer": N_("Competitor offer"), "financing_declined": N_("Financing declined"),
    "delivery_time": N_("Delivery time"), "trade_in_value": N_("Trade-in value"), "no_decision": N_("No decision"),
    "bought_used": N_("Bought used"), "other": N_("Other"),
})
BUYING_FACTORS = Labels({
    "price": N_("Price"), "monthly_payment": N_("Monthly payment"), "trade_in_value": N_("Trade-in value"),
    "delivery_date": N_("Delivery date"), "running_costs": N_("Running costs"), "range_and_charging": N_("Range and charging"),
    "safety": N_("Safety"), "dealer_proximity": N_("Dealer proximity"),
})
ACTIVITY_KINDS = Labels({"call": N_("Call"), "visit": N_("Showroom visit"), "test_drive": N_("Test drive"), "email": N_("E-mail"),
                  "note": N_("Note")})
DEFAULT_CLOSE_DAYS = 30  # a new deal is expected to close in a month unless the rep says otherwise
UPDATABLE = ("title", "amount", "expected_close", "owner_user_id", "model_id", "buying_factors", "account_name",
             "quantity", "rfp_reference", "rfp_due", "rfp_requirements")
FLEET_ONLY = ("account_name", "rfp_reference", "rfp_due", "rfp_requirements")


class AlreadyConverted(Conflict):
    """The lead became a deal before; ``opportunity_id`` says which, so the rep can go there."""

    def __init__(self, opportunity_id: int):
        super().__init__(f"This lead is already opportunity #{opportunity_id}; open that one instead.",
                         field="lead_id")
        self.opportunity_id = opportunity_id


def _dealer(principal: Principal) -> int:
    if principal.organization_id is None:
        raise NotFound("Opportunity not found")
    return principal.organization_id


def _model_names(session: Session) -> dict[int, str]:
    return {m.id: m.name for m in vehicles_service.list_models(session=session)}


def _check_model(session: Session, model_id: int | None) -> None:
    if model_id is not None and model_id not in _model_names(session):
        raise Invalid(_("There is no such model in the catalogue."), field="model_id")


def configuration_by_code(session: Session, code: str | None) -> Configuration | None:
    if not code:
        return None
    try:
        return configurator.get_by_code(session=session, code=code)
    except (NotFound, Invalid):
        raise Invalid(_("There is no configuration with this code; check the code on the customer's summary."),
                      field="configuration_code") from None


def _model_of(session: Session, configuration: Configuration | None) -> int | None:
    if configuration is None:
        return None
    return vehicles_service.get_trim(session=session, trim_id=configuration.trim_id).model_id


def _open_customer(session: Session, principal: Principal, customer_id: int, what: str) -> None:
    consent_service.require(session=session, principal=principal, customer_id=customer_id, purpose=PURPOSE,
                            what=what)


def load(*, session: Session, principal: Principal, opportunity_id: int, what: str = "opportunity") -> Opportunity:
    """The rep's own dealer's deal, through the consent door when it is about a person."""
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None or opportunity.dealer_id != _dealer(principal):
        raise NotFound("Opportunity not found")
    if opportunity.customer_id is not None:
        try:
            _open_customer(session, principal, opportunity.customer_id, what)
        except NotFound:
            raise NotFound("Opportunity not found") from None
    return opportunity


def _record_move(session: Session, opportunity: Opportunity, to_stage: str, user_id: int | None,
                 at: datetime) -> None:
    session.add(StageChange(opportunity_id=opportunity.id, from_stage=opportunity.stage_code, to_stage=to_stage,
                            changed_at=at, user_id=user_id))
    opportunity.stage_code, opportunity.stage_entered_at = to_stage, at


def _start(session: Session, opportunity: Opportunity, user_id: int | None) -> Opportunity:
    first = stages_service.open_stages(session=session, dealer_id=opportunity.dealer_id)[0]
    moment = now()
    opportunity.stage_code, opportunity.status = first.code, "open"
    opportunity.created_at = opportunity.stage_entered_at = moment
    session.add(opportunity)
    session.flush()
    session.add(StageChange(opportunity_id=opportunity.id, from_stage=None, to_stage=first.code, changed_at=moment,
                            user_id=user_id))
    session.flush()
    return opportunity


def _title(session: Session, model_id: int | None, kind: str, account_name: str | None, quantity: int) -> str:
    model = _model_names(session).get(model_id) if model_id else None
    if kind == "fleet":
        return f"{account_name}: {quantity} × {model or 'vehicles'}"
    return model or "New car"


# --- opening ----------------------------------------------------------------------------------------

def open_from_lead(*, session: Session, principal: Principal, lead_id: int) -> Opportunity:
    """The rep takes a lead on: same customer, car and configuration; the lead counts as converted."""
    lead = session.get(Lead, lead_id)
    if lead is None or lead.dealer_id != _dealer(principal) or lead.customer_id is None:
        raise NotFound("Lead not found")
    try:
        _open_customer(session, principal, lead.customer_id, "lead converted to opportunity")
    except NotFound:
        raise NotFound("Lead not found") from None
    existing = session.scalars(select(Opportunity.id).where(Opportunity.lead_id == lead.id)
                               .order_by(Opportunity.id)).first()
    if existing is not None:
        raise AlreadyConverted(existing)
    if lead.status == "merged":
        raise Conflict(_("This lead was merged into another lead; convert that one."), field="lead_id")
    configuration = session.get(Configuration, lead.configuration_id) if lead.configuration_id else None
    model_id = lead.model_id or _model_of(session, configuration)
    opportunity = Opportunity(
        dealer_id=lead.dealer_id, owner_user_id=principal.user_id, customer_id=lead.customer_id, lead_id=lead.id,
        currency=_currency(session, lead.dealer_id, configuration),
        configuration_id=configuration.id if configuration else None, model_id=model_id, kind="retail",
        title=_title(session, model_id, "retail", None, 1), quantity=1,
        amount=configuration.total_price if configuration else 0,
        expected_close=today() + timedelta(days=DEFAULT_CLOSE_DAYS), buying_factors={})
    lead.status = "converted"
    return _start(session, opportunity, principal.user_id)


def _currency(session: Session, dealer_id: int, configuration: Configuration | None) -> str:
    """A deal is in its dealer's market's currency; a configuration priced for another market cannot be sold here."""
    dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
    currency = markets.market_or_default(session=session, code=dealer.market).currency
    if configuration is not None and configuration.currency != currency:
        raise Invalid(_("This configuration is priced in %(currency)s; %(name)s sells in %(currency2)s.", currency=configuration.currency, name=dealer.name, currency2=currency),
                      field="configuration_code")
    return currency


def create(*, session: Session, principal: Principal, values: dict) -> Opportunity:
    """A walk-in (the customer must have allowed this dealer sales contact) or a fleet deal."""
    dealer_id = _dealer(principal)
    kind = values.get("kind") or "retail"
    customer_id = values.get("customer_id")
    if kind == "retail" and customer_id is None:
        raise Invalid(_("Choose the customer this deal is for."), field="customer_id")
    account_name = (values.get("account_name") or "").strip() or None
    if kind == "fleet" and not account_name:
        raise Invalid(_("Name the company this fleet deal is for."), field="account_name")
    if customer_id is not None:
        _open_customer(session, principal, customer_id, "new opportunity")
    quantity = values.get("quantity") or 1
    configuration = configuration_by_code(session, values.get("configuration_code"))
    model_id = values.get("model_id") or _model_of(session, configuration)
    _check_model(session, model_id)
    expected_close = values.get("expected_close") or today() + timedelta(days=DEFAULT_CLOSE_DAYS)
    _check_close(expected_close)
    amount = values.get("amount")
    if amount is None:
        amount = Decimal(str(configuration.total_price)) * quantity if configuration else Decimal(0)
    opportunity = Opportunity(
        dealer_id=dealer_id, owner_user_id=principal.user_id, customer_id=customer_id, kind=kind,
        currency=_currency(session, dealer_id, configuration),
        configuration_id=configuration.id if configuration else None, model_id=model_id,
        title=(values.get("title") or "").strip() or _title(session, model_id, kind, account_name, quantity),
        account_name=account_name if kind == "fleet" else None, quantity=quantity, amount=amount,
        expected_close=expected_close, buying_factors={},
        rfp_reference=values.get("rfp_reference") if kind == "fleet" else None,
        rfp_due=values.get("rfp_due") if kind == "fleet" else None,
        rfp_requirements=(values.get("rfp_requirements") or "") if kind == "fleet" else "")
    return _start(session, opportunity, principal.user_id)


# --- working the deal --------------------------------------------------------------------------------

def _check_close(expected_close) -> None:
    if expected_close is not None and expected_close < today():
        raise Invalid(_("The expected close date is in the past; choose today or a later day."),
                      field="expected_close")


def ensure_open(opportunity: Opportunity) -> None:
    if opportunity.status != "open":
        raise Invalid(_("This deal is already %(status)s; it can no longer be changed.", status=opportunity.status), field="status")


def _check_owner(session: Session, dealer_id: int, user_id: int) -> None:
    try:
        user = parties_service.get_user(session=session, user_id=user_id)
    except NotFound:
        user = None
    if user is None or user.organization_id != dealer_id or user.role != Role.DEALER_SALES.value or not user.is_active:
        raise Invalid(_("The owner must be an active sales rep of your dealership."), field="owner_user_id")


def _check_factors(factors: dict) -> dict:
    unknown = [k for k in factors if k not in BUYING_FACTORS]
    if unknown:
        raise Invalid(_("Unknown buying factor '%(value)s'; use one of the checklist.", value=unknown[0]), field="buying_factors")
    return {k: bool(v) for k, v in factors.items()}


def update(*, session: Session, principal: Principal, opportunity_id: int, changes: dict) -> Opportunity:
    """Amount, expected close, owner, buying factors and (fleet) RFP details; keys absent stay as they are."""
    opportunity = load(session=session, principal=principal, opportunity_id=opportunity_id, what="opportunity update")
    ensure_open(opportunity)
    changes = {k: v for k, v in changes.items() if k in UPDATABLE}
    if opportunity.kind != "fleet" and any(changes.get(k) is not None for k in FLEET_ONLY):
        raise Invalid(_("Account and RFP details belong to fleet deals only."), field="account_name")
    if "expected_close" in changes:
        _check_close(changes["expected_close"])
    if changes.get("owner_user_id") is not None:
        _check_owner(session, opportunity.dealer_id, changes["owner_user_id"])
    if changes.get("model_id") is not None:
        _check_model(session, changes["model_id"])
    if changes.get("buying_factors") is not None:
        changes["buying_factors"] = _check_factors(changes["buying_factors"])
    for key, value in changes.items():
        if value is None and key in ("title", "amount", "owner_user_id", "quantity", "buying_factors",
                                     "account_name"):
            continue  # these always have a value; a blank field leaves them alone
        if key == "rfp_requirements":
            value = value or ""
        setattr(opportunity, key, value)
    session.flush()
    return opportunity


def move(*, session: Session, principal: Principal, opportunity_id: int, stage_code: str) -> Opportunity:
    opportunity = load(session=session, principal=principal, opportunity_id=opportunity_id, what="opportunity stage")
    ensure_open(opportunity)
    stage = stages_service.stage_named(session=session, dealer_id=opportunity.dealer_id, code=stage_code)
    if stage.outcome is not None:
        raise Invalid(_("Use 'Won' or 'Lost' to close a deal."), field="stage_code")
    if stage.code == opportunity.stage_code:
        raise Invalid(_("The deal is already in '%(name)s'.", name=stage.name), field="stage_code")
    _record_move(session, opportunity, stage.code, principal.user_id, now())
    session.flush()
    return opportunity


def _close(session: Session, opportunity: Opportunity, outcome: str, user_id: int | None, at: datetime) -> None:
    stage = stages_service.outcome_stage(session=session, dealer_id=opportunity.dealer_id, outcome=outcome)
    _record_move(session, opportunity, stage.code, user_id, at)
    opportunity.status, opportunity.closed_at = outcome, at
    session.flush()


def win(*, session: Session, principal: Principal, opportunity_id: int) -> Opportunity:
    opportunity = load(session=session, principal=principal, opportunity_id=opportunity_id, what="opportunity won")
    ensure_open(opportunity)
    _close(session, opportunity, "won", principal.user_id, now())
    return opportunity


def lose(*, session: Session, principal: Principal, opportunity_id: int, reason: str | None,
         post_mortem: str = "") -> Opportunity:
    """A lost deal says why, so the dealer learns what to change (price, delivery, trade-in...)."""
    opportunity = load(session=session, principal=principal, opportunity_id=opportunity_id, what="opportunity lost")
    ensure_open(opportunity)
    post_mortem = (post_mortem or "").strip()
    if not reason:
        raise Invalid(_("Say why the deal was lost: choose a reason."), field="reason")
    if reason not in LOST_REASONS:
        raise Invalid(_("Choose one of the listed reasons."), field="reason")
    if reason == "other" and not post_mortem:
        raise Invalid(_("With 'Other', write in the notes what made the buyer go."), field="post_mortem")
    opportunity.lost_reason, opportunity.post_mortem = reason, post_mortem
    _close(session, opportunity, "lost", principal.user_id, now())
    return opportunity


def close_won_by_order(*, session: Session, opportunity_id: int, at: datetime) -> Opportunity:
    """An online order for this deal was placed: it is won, whoever clicked. Safe to call twice."""
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound("Opportunity not found")
    if opportunity.status != "won":
        opportunity.lost_reason = None
        _close(session, opportunity, "won", None, at)
    return opportunity


def log_activity(*, session: Session, principal: Principal, opportunity_id: int, kind: str, notes: str = "",
                 happened_at: datetime | None = None, model_id: int | None = None) -> Activity:
    opportunity = load(session=session, principal=principal, opportunity_id=opportunity_id, what="opportunity activity")
    if kind not in ACTIVITY_KINDS:
        raise Invalid(_("Choose call, visit, test drive, e-mail or note."), field="kind")
    moment = happened_at or now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now().tzinfo)
    if moment > now() + timedelta(minutes=5):
        raise Invalid(_("Log an activity once it has happened; this time is in the future."), field="happened_at")
    if kind == "test_drive":
        model_id = model_id or opportunity.model_id
        if model_id is None:
            raise Invalid(_("Say which model was driven."), field="model_id")
    elif model_id is not None and kind != "visit":
        model_id = None
    _check_model(session, model_id)
    notes = (notes or "").strip()
    if kind == "note" and not notes:
        raise Invalid(_("Write the note."), field="notes")
    activity = Activity(dealer_id=opportunity.dealer_id, customer_id=opportunity.customer_id,
                        lead_id=opportunity.lead_id, opportunity_id=opportunity.id, user_id=principal.user_id,
                        kind=kind, happened_at=moment, notes=notes, model_id=model_id)
    session.add(activity)
    session.flush()
    if kind == "test_drive":
        events.publish(session, TestDriveReturned(activity_id=activity.id, dealer_id=activity.dealer_id,
                                                  customer_id=activity.customer_id, model_id=model_id))
    return activity


# --- reading -----------------------------------------------------------------------------------------

def list_for_dealer(*, session: Session, principal: Principal, status: str | None = "open", stage: str | None = None,
                    owner_user_id: int | None = None, limit: int = 500) -> list[Opportunity]:
    """The dealer's deals; a deal about a person shows only while that person allows sales contact."""
    dealer_id = _dealer(principal)
    visible = consent_service.visible_customers(session=session, principal=principal, purpose=PURPOSE)
    query = select(Opportunity).where(Opportunity.dealer_id == dealer_id,
                                      or_(Opportunity.customer_id.is_(None), Opportunity.customer_id.in_(visible)))
    if status:
        query = query.where(Opportunity.status == status)
    if stage:
        query = query.where(Opportunity.stage_code == stage)
    if owner_user_id is not None:
        query = query.where(Opportunity.owner_user_id == owner_user_id)
    found = list(session.scalars(query.order_by(Opportunity.stage_entered_at, Opportunity.id).limit(limit)))
    customers = sorted({o.customer_id for o in found if o.customer_id is not None})
    if customers:
        consent_service.log_access(session=session, principal=principal, customer_ids=customers,
                                   purpose=consent_service.get_purpose(session=session, code=PURPOSE),
                                   what="opportunity list")
    return found


def timeline(*, session: Session, opportunity: Opportunity) -> list[dict]:
    """Stage moves, activities and quote versions of a deal already opened with ``load``, newest first."""
    stage_names = {s.code: s.name for s in stages_service.stages_for(session=session, dealer_id=opportunity.dealer_id)}
    models = _model_names(session)
    entries = []
    for change in session.scalars(select(StageChange).where(StageChange.opportunity_id == opportunity.id)):
        to = gettext(stage_names.get(change.to_stage, change.to_stage))
        text = (_("Opened in '%(stage)s'", stage=to) if change.from_stage is None
                else _("Moved from '%(before)s' to '%(stage)s'",
                       before=gettext(stage_names.get(change.from_stage, change.from_stage)), stage=to))
        entries.append(dict(at=change.changed_at, kind="stage", text=text, user_id=change.user_id))
    for activity in session.scalars(select(Activity).where(Activity.opportunity_id == opportunity.id)):
        label = ACTIVITY_KINDS.get(activity.kind, activity.kind)
        if activity.model_id:
            label += f" ({models.get(activity.model_id, _('a model'))})"
        text = f"{label}: {activity.notes}" if activity.notes else label
        entries.append(dict(at=activity.happened_at, kind=activity.kind, text=text, user_id=activity.user_id))
    for quote in session.scalars(select(Quote).where(Quote.opportunity_id == opportunity.id)):
        entries.append(dict(at=quote.created_at, kind="quote", user_id=quote.created_by,
                            text=_("Quote version %(version)s: € %(total)s", version=quote.version,
                                   total=dates.format_number(quote.total, 2))))
    return sorted(entries, key=lambda e: (e["at"].replace(tzinfo=None), e["kind"] != "stage"), reverse=True)


def quotes_of(*, session: Session, opportunity_id: int) -> list[Quote]:
    """The deal's quotes, newest version first. The caller has opened the deal (``load``); ``quotes``
    writes them."""
    return list(session.scalars(select(Quote).where(Quote.opportunity_id == opportunity_id)
                                .order_by(Quote.version.desc())))


def detail(*, session: Session, principal: Principal, opportunity_id: int) -> dict:
    """Everything the deal page shows, behind one consent check (one access-log row)."""
    opportunity = load(session=session, principal=principal, opportunity_id=opportunity_id)
    return dict(opportunity=opportunity,
                stages=stages_service.stages_for(session=session, dealer_id=opportunity.dealer_id),
                quotes=quotes_of(session=session, opportunity_id=opportunity.id),
                timeline=timeline(session=session, opportunity=opportunity))

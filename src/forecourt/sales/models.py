"""Sales tables: what a customer configured, how they reached a dealer, and how the deal went.

Money is ``Numeric`` beside its ``currency`` (``core.money``): EUR in Germany, KRW in Korea, never mixed. Every row that concerns a person carries ``customer_id`` so export and
erasure (``privacy.rights``) find it; rows that must survive erasure (orders, opportunities for the
dealer's books) lose the link instead of disappearing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime
from forecourt.core.money import currency_column
from forecourt.sales import routing_reasons


# --- catalogue and configurator ------------------------------------------------------------------

class Option(Base):
    """Something a buyer can choose on top of a trim: a colour, wheels, a package, a single feature."""

    __tablename__ = "sales_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("vehicle_models.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # colour | wheels | interior | package | feature
    # In the carmaker's home market; other markets' prices are ``OptionPrice`` rows.
    price: Mapped[float] = mapped_column(Numeric(10, 2), default=0)
    currency: Mapped[str] = currency_column()
    description: Mapped[str] = mapped_column(Text, default="")
    # Trim codes this option is offered on; empty means every trim of the model.
    trim_codes: Mapped[list] = mapped_column(JSON, default=list)
    # Chosen when the buyer picks nothing of this kind (the standard colour, the standard wheels).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class OptionPrice(Base):
    """An option's price in one market, in that market's currency (see ``vehicles.models.TrimPrice``)."""

    __tablename__ = "sales_option_prices"

    option_id: Mapped[int] = mapped_column(ForeignKey("sales_options.id"), primary_key=True)
    market: Mapped[str] = mapped_column(ForeignKey("markets.code"), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))


class OptionRule(Base):
    """``option`` requires / excludes / includes ``other``. ``includes`` makes ``other`` free inside a package."""

    __tablename__ = "sales_option_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("sales_options.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # requires | excludes | includes
    other_id: Mapped[int] = mapped_column(ForeignKey("sales_options.id"))

    __table_args__ = (UniqueConstraint("option_id", "kind", "other_id"),)


class Configuration(Base):
    """A saved, priced, valid configuration. Its ``code`` is the bearer's key: whoever holds it may open it."""

    __tablename__ = "sales_configurations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    trim_id: Mapped[int] = mapped_column(ForeignKey("trims.id"), index=True)
    option_codes: Mapped[list] = mapped_column(JSON, default=list)
    # [{"code", "name", "kind", "price", "included_in"}] as priced when saved; prices change, codes do not.
    price_lines: Mapped[list] = mapped_column(JSON, default=list)
    base_price: Mapped[float] = mapped_column(Numeric(14, 2))
    total_price: Mapped[float] = mapped_column(Numeric(14, 2))
    # Priced for this market, in its currency; an order inherits both.
    market: Mapped[str] = mapped_column(String(2), default="DE", server_default="DE")
    currency: Mapped[str] = currency_column()
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # The dealer where it was made (showroom kiosk, a rep's screen); NULL when made online.
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


# --- a car changing hands outside the order flow ----------------------------------------------------

class OwnershipTransfer(Base):
    """A sale the owner starts in the portal: a private sale to another driver, or a trade-in to a dealer.

    Starting it gives the owner a code to hand to the buyer (only its digest is kept); the buyer — a
    driver in the portal, or a dealer taking the car in trade — accepts with the code, and only then
    does the car change hands, at the moment of acceptance."""

    __tablename__ = "ownership_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    seller_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | completed | cancelled
    kind: Mapped[str | None] = mapped_column(String(16))  # private_sale | trade_in, once accepted
    buyer_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    buyer_dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- leads -------------------------------------------------------------------------------------------

class Lead(Base):
    """Someone who asked a dealer about a car. Contact fields are what they typed; ``customer_id`` is who
    that turned out to be (matched or created), so one person's leads meet in one customer 360."""

    __tablename__ = "sales_leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # configuration | test_drive | event | web_form
    configuration_id: Mapped[int | None] = mapped_column(ForeignKey("sales_configurations.id"))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle_models.id"))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text, default="")
    event_name: Mapped[str | None] = mapped_column(String(120))
    preferred_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | contacted | qualified | converted | disqualified | merged
    # How it reached this dealer: by whom, and why as facts (``sales.routing_reasons``), said in the
    # reader's language by ``routing_reason``.
    routed_by: Mapped[str] = mapped_column(String(16), default="customer_choice")  # customer_choice | location
    routing_facts: Mapped[dict] = mapped_column(JSON, default=dict)
    score: Mapped[int | None] = mapped_column(Integer)
    score_reasons: Mapped[list] = mapped_column(JSON, default=list)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("sales_leads.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    @property
    def routing_reason(self) -> str:
        return routing_reasons.explain(self.routing_facts)

    __table_args__ = (Index("ix_sales_leads_dealer_status", "dealer_id", "status"),
                      # the period's leads for the conversion figures (sales/pipeline/leads_funnel), index only
                      Index("ix_sales_leads_created", "created_at", "dealer_id", "source", "model_id", "status", "id"))


# --- opportunities -----------------------------------------------------------------------------------

class Stage(Base):
    """A step of a dealer's sales process. ``organization_id`` NULL: the network's default stages."""

    __tablename__ = "sales_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer, default=0)  # percent, for the weighted forecast
    outcome: Mapped[str | None] = mapped_column(String(8))  # NULL while open | won | lost

    __table_args__ = (UniqueConstraint("organization_id", "code"),)


class Opportunity(Base):
    """A deal a dealer is working on: one car for a driver, or a fleet for a company (``kind='fleet'``)."""

    __tablename__ = "sales_opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the sales rep
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("sales_leads.id"))
    configuration_id: Mapped[int | None] = mapped_column(ForeignKey("sales_configurations.id"))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle_models.id"))
    kind: Mapped[str] = mapped_column(String(8), default="retail")  # retail | fleet
    title: Mapped[str] = mapped_column(String(200))
    account_name: Mapped[str | None] = mapped_column(String(200))  # the company, for fleet deals
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[float] = mapped_column(Numeric(14, 2), default=0)
    currency: Mapped[str] = currency_column()  # the dealer's market's
    expected_close: Mapped[date | None] = mapped_column(Date)
    stage_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | won | lost
    # {"price": true, "trade_in": false, ...}: what this buyer decides on, ticked as it is covered.
    buying_factors: Mapped[dict] = mapped_column(JSON, default=dict)
    lost_reason: Mapped[str | None] = mapped_column(String(32))
    post_mortem: Mapped[str] = mapped_column(Text, default="")
    # Fleet deals: the request for proposal being answered.
    rfp_reference: Mapped[str | None] = mapped_column(String(64))
    rfp_due: Mapped[date | None] = mapped_column(Date)
    rfp_requirements: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every stage the deal has been in, as ",new,qualified,offer,": the ``to_stage`` of its stage changes,
    # kept by ``sales.rollup`` as they are written, so the funnel reads how far each deal got from the
    # covering indexes instead of looking up each deal's stage changes.
    stages_reached: Mapped[str] = mapped_column(Text, default=",", server_default=",")

    __table_args__ = (
        Index("ix_sales_opportunities_dealer_status_stage", "dealer_id", "status", "stage_code"),
        # Covering indexes for the pipeline dashboards (sales/pipeline): deals closed / created in a
        # period, network-wide and for one dealer, read without touching the table.
        Index("ix_sales_opportunities_closed", "status", "closed_at", "dealer_id", "owner_user_id", "model_id",
              "created_at", "amount", "lost_reason"),
        Index("ix_sales_opportunities_created", "created_at", "dealer_id", "owner_user_id", "model_id", "status",
              "stage_code", "amount", "stage_entered_at", "expected_close", "id", "stages_reached"),
        Index("ix_sales_opportunities_dealer_closed", "dealer_id", "status", "closed_at", "model_id", "owner_user_id",
              "created_at", "amount", "lost_reason"),
        Index("ix_sales_opportunities_dealer_created", "dealer_id", "created_at", "status", "model_id",
              "owner_user_id", "stage_code", "amount", "stage_entered_at", "expected_close", "id", "stages_reached"),
        # The open deals alone (a few in a hundred), for their ages and values: the rollup cannot hold an age
        # that grows by the moment (sales/rollup.py). A query must write ``status = 'open'`` as a literal;
        # ``status`` is listed too, so SQLite reads the index alone.
        Index("ix_sales_opportunities_open", "dealer_id", "created_at", "owner_user_id", "model_id", "stage_code",
              "stage_entered_at", "expected_close", "amount", "status", sqlite_where=text("status = 'open'"),
              postgresql_where=text("status = 'open'")),
        Index("ix_sales_opportunities_owner", "owner_user_id", "status"),
        Index("ix_sales_opportunities_lead", "lead_id", "created_at"),  # a lead's first deal
    )


class StageChange(Base):
    """Every move between stages: the raw material of speed analytics (ageing, conversion, cycle time)."""

    __tablename__ = "sales_stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("sales_opportunities.id"))
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # to_stage too, so the funnel reads a deal's furthest stage from the index alone.
    __table_args__ = (Index("ix_sales_stage_changes_opportunity", "opportunity_id", "changed_at", "to_stage"),)


class Activity(Base):
    """A call, a showroom visit, a test drive, an e-mail, a note — on a lead or an opportunity."""

    __tablename__ = "sales_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("sales_leads.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("sales_opportunities.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # call | visit | test_drive | email | note
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    notes: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle_models.id"))  # the car test-driven


class Quote(Base):
    """One version of the offer on a (fleet) opportunity; a new version supersedes the previous one."""

    __tablename__ = "sales_quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("sales_opportunities.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # [{"configuration_code", "description", "quantity", "unit_price", "discount_percent"}]
    lines: Mapped[list] = mapped_column(JSON, default=list)
    total: Mapped[float] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = currency_column()
    valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | sent | accepted | superseded
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (UniqueConstraint("opportunity_id", "version"),)


class Target(Base):
    """What a dealer (or one rep, ``user_id``) aims to win in a month: units and value."""

    __tablename__ = "sales_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    units: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[float] = mapped_column(Numeric(14, 2), default=0)
    currency: Mapped[str] = currency_column()

    __table_args__ = (UniqueConstraint("dealer_id", "user_id", "month"),)


# --- online orders -----------------------------------------------------------------------------------

class Order(Base):
    """A configuration bought online and delivered by the dealer the customer picked."""

    __tablename__ = "sales_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    configuration_id: Mapped[int] = mapped_column(ForeignKey("sales_configurations.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("sales_opportunities.id"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))  # assigned when built
    price: Mapped[float] = mapped_column(Numeric(14, 2))
    deposit: Mapped[float] = mapped_column(Numeric(14, 2))
    # The configuration's currency: price, deposit, payments and commission are all in it.
    currency: Mapped[str] = currency_column()
    # What was paid is not stored here: it is read from the payments ledger (``sales.orders.money_of``).
    # placed | confirmed | delivery_scheduled | delivered | cancelled
    status: Mapped[str] = mapped_column(String(20), default="placed")
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    commission: Mapped[float | None] = mapped_column(Numeric(12, 2))
    commission_rule: Mapped[str] = mapped_column(Text, default="")  # the rule applied, in words
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class CommissionRule(Base):
    """The dealer's share of an online sale. ``dealer_id`` NULL: the network default; ``model_id`` narrows.

    A rule applies from ``valid_from`` until the day before ``retired_on``; retired rules are kept,
    because delivered orders name the rule they were paid under.
    """

    __tablename__ = "sales_commission_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle_models.id"))
    percent: Mapped[float] = mapped_column(Numeric(5, 2), default=0)
    fixed: Mapped[float] = mapped_column(Numeric(10, 2), default=0)
    currency: Mapped[str] = currency_column()  # of ``fixed``; a rule applies only to orders in it
    valid_from: Mapped[date] = mapped_column(Date)
    retired_on: Mapped[date | None] = mapped_column(Date)


class FollowUp(Base):
    """Something a dealer's staff member must do for a customer by a day: call back, send the offer.

    It carries the consent purpose it was written under, and is shown only when the customer is read
    under that same purpose; erasure deletes it (``records.erase_customer``)."""

    __tablename__ = "sales_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    assigned_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- finance -------------------------------------------------------------------------------------

class FinanceContract(Base):
    """A loan or lease a finance partner granted for one car and its owner, as the partner reports it.

    The partner's own books hold the contract; this copy is what the platform needs to time the
    moment it ends (engagement's ``finance_ends``), so erasure removes it rather than unlinking it.
    """

    __tablename__ = "sales_finance_contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # the finance partner
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    product: Mapped[str] = mapped_column(String(12))  # loan | lease | balloon
    reference: Mapped[str] = mapped_column(String(40), default="")  # the partner's own contract number
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = currency_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


# The pipeline's rollup and each deal's ``stages_reached`` are kept by listeners on these tables; importing
# them here registers them wherever deals are written.
from forecourt.sales import rollup  # noqa: E402,F401

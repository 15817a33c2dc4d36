"""Quotes: versioned offers on a deal (a fleet RFP answer, or a retail offer).

A quote belongs to a deal, so this module builds on ``opportunities`` and never the other way round (the
deal page lists a deal's quotes with ``opportunities.quotes_of``). Each new version supersedes the
earlier ones, so the customer and the rep always know which offer stands. Totals are computed here
from quantities, unit prices and discounts, never taken from input.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core import dates
from forecourt.core.auth import Principal
from forecourt.core.clock import today
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.sales import configurator
from forecourt.sales import opportunities as opportunities_service
from forecourt.sales.models import Configuration, Opportunity, Quote

CENT = Decimal("0.01")
MAX_LINES = 50


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _line(session: Session, raw: dict, index: int) -> dict:
    where = f"Line {index}"
    code = (raw.get("configuration_code") or "").strip() or None
    description = (raw.get("description") or "").strip()
    unit_price = raw.get("unit_price")
    if code:
        configuration = opportunities_service.configuration_by_code(session, code)
        described = configurator.describe(session=session, configuration=configuration)
        code = configuration.code
        description = description or f"{described['title']} ({described['display_code']})"
        if unit_price is None:
            unit_price = configuration.total_price
    if not description:
        raise Invalid(_("%(where)s: describe what is offered, or give a configuration code.", where=where), field="lines")
    if unit_price is None:
        raise Invalid(_("%(where)s: give a unit price.", where=where), field="lines")
    quantity = int(raw.get("quantity") or 1)
    discount = Decimal(str(raw.get("discount_percent") or 0))
    unit = _money(unit_price)
    if quantity < 1:
        raise Invalid(_("%(where)s: the quantity must be at least 1.", where=where), field="lines")
    if unit < 0:
        raise Invalid(_("%(where)s: the unit price cannot be negative.", where=where), field="lines")
    if not 0 <= discount <= 100:
        raise Invalid(_("%(where)s: the discount must be between 0 and 100 %%.", where=where), field="lines")
    total = _money(unit * quantity * (100 - discount) / 100)
    return {"configuration_code": code, "description": description[:200], "quantity": quantity,
            "unit_price": float(unit), "discount_percent": float(discount), "line_total": float(total)}


def prefill(*, session: Session, opportunity: Opportunity) -> dict | None:
    """The first line of a new quote, from the configuration the deal came with: its trim, options and
    price, so the rep starts from what the customer built instead of retyping it. ``None`` without one.

    Only a suggestion: ``add_quote`` prices the submitted line again from the code and the typed values."""
    if opportunity.configuration_id is None:
        return None
    configuration = session.get(Configuration, opportunity.configuration_id)
    if configuration is None:
        return None
    described = configurator.describe(session=session, configuration=configuration)
    return {"configuration_code": configuration.code, "title": described["title"],
            "display_code": described["display_code"], "options": [line["name"] for line in described["lines"]],
            "unit_price": float(_money(configuration.total_price)), "currency": configuration.currency}


def add_quote(*, session: Session, principal: Principal, opportunity_id: int, lines: list[dict],
              valid_until=None, note: str = "") -> Quote:
    """The next version of the offer; every earlier version is superseded by it."""
    opportunity = opportunities_service.load(session=session, principal=principal, opportunity_id=opportunity_id,
                                             what="quote")
    opportunities_service.ensure_open(opportunity)
    if not lines:
        raise Invalid(_("Add at least one line to the quote."), field="lines")
    if len(lines) > MAX_LINES:
        raise Invalid(_("A quote has at most %(max_lines)s lines.", max_lines=MAX_LINES), field="lines")
    if valid_until is not None and valid_until < today():
        raise Invalid(_("'Valid until' is in the past; choose today or a later day."), field="valid_until")
    priced = [_line(session, dict(raw), i) for i, raw in enumerate(lines, start=1)]
    total = sum((Decimal(str(line["line_total"])) for line in priced), Decimal(0))
    version = (session.scalar(select(func.max(Quote.version)).where(Quote.opportunity_id == opportunity.id)) or 0) + 1
    for earlier in opportunities_service.quotes_of(session=session, opportunity_id=opportunity.id):
        if earlier.status != "superseded":
            earlier.status = "superseded"
    quote = Quote(opportunity_id=opportunity.id, version=version, lines=priced, total=_money(total),
                  valid_until=valid_until, status="draft", note=(note or "").strip(), created_by=principal.user_id)
    session.add(quote)
    session.flush()
    return quote


def _current(session: Session, principal: Principal, opportunity_id: int, version: int, what: str):
    opportunity = opportunities_service.load(session=session, principal=principal, opportunity_id=opportunity_id,
                                             what=what)
    quote = session.scalars(select(Quote).where(Quote.opportunity_id == opportunity.id,
                                                Quote.version == version)).first()
    if quote is None:
        raise NotFound("Quote not found")
    if quote.status == "superseded":
        raise Invalid(_("Version %(version)s has been superseded by a newer quote.", version=version), field="version")
    return opportunity, quote


def send(*, session: Session, principal: Principal, opportunity_id: int, version: int) -> Quote:
    """Marks the version as sent to the buyer (the rep sends the document itself)."""
    opportunity, quote = _current(session, principal, opportunity_id, version, "quote sent")
    opportunities_service.ensure_open(opportunity)
    if quote.status == "accepted":
        raise Invalid(_("Version %(version)s is already accepted.", version=version), field="version")
    quote.status = "sent"
    session.flush()
    return quote


def accept(*, session: Session, principal: Principal, opportunity_id: int, version: int) -> Quote:
    """The buyer accepts: the quote's total becomes the deal's amount."""
    opportunity, quote = _current(session, principal, opportunity_id, version, "quote accepted")
    opportunities_service.ensure_open(opportunity)
    if quote.status == "accepted":
        raise Invalid(_("Version %(version)s is already accepted.", version=version), field="version")
    if quote.valid_until is not None and quote.valid_until < today():
        raise Invalid(_("Version %(version)s expired on %(valid_until)s; make a new version.", version=version, valid_until=dates.format_date(quote.valid_until)),
                      field="version")
    quote.status = "accepted"
    opportunity.amount = quote.total
    session.flush()
    return quote

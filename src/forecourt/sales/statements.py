"""Monthly commission statements: for each dealer, the online orders it handed over in a month and
the share each earned, as the carmaker pays it (CSV for the books, PDF for the dealer).

A statement names orders, cars and amounts, never the buyers, so it needs no one's consent. The
month is the dealer's calendar month (Berlin time, like its opening hours).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core import dates
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service
from forecourt.sales.models import Configuration, Order
from forecourt.parties import markets
from forecourt.parties.markets import zone_of
from forecourt.sales.orders import money_text
from forecourt.vehicles import service as vehicles_service

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str | None) -> date:
    """"2025-06" → 1 June 2025."""
    found = MONTH.match((text or "").strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2100:
        raise Invalid(_("Give the month as YYYY-MM, e.g. 2025-06."), field="month")
    return date(int(found.group(1)), int(found.group(2)), 1)


def _bounds(month: date, zone) -> tuple[datetime, datetime]:
    """The month on the dealer's own calendar."""
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end = datetime(following.year, following.month, 1, tzinfo=zone)
    return start, end


def _delivered(month: date, zone):
    start, end = _bounds(month, zone)
    return (Order.status == "delivered") & (Order.handed_over_at >= start) & (Order.handed_over_at < end)


def statement(*, session: Session, dealer_id: int, month: date) -> dict:
    dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
    if dealer.kind != "dealer":
        raise Invalid(_("Statements are made for dealers."), field="dealer_id")
    lines = []
    zone = zone_of(dealer)
    for order in session.scalars(select(Order).where(Order.dealer_id == dealer_id, _delivered(month, zone))
                                 .order_by(Order.handed_over_at, Order.id)):
        trim = vehicles_service.get_trim(session=session,
                                         trim_id=session.get(Configuration, order.configuration_id).trim_id)
        vehicle = vehicles_service.get(session=session, vehicle_id=order.vehicle_id) if order.vehicle_id else None
        lines.append(dict(number=order.number, handed_over_on=order.handed_over_at.astimezone(zone).date(),
                          car=f"{trim.model.name} {trim.name}", vin=vehicle.vin if vehicle else "",
                          price=Decimal(str(order.price)), commission=Decimal(str(order.commission or 0)),
                          rule=order.commission_rule))
    return dict(dealer=dealer, month=month, lines=lines, cars=len(lines),
                sales=sum((line["price"] for line in lines), Decimal(0)),
                commission=sum((line["commission"] for line in lines), Decimal(0)))


def network_month(*, session: Session, month: date) -> list[dict]:
    """Every dealer's totals for the month (dealers without deliveries show zero)."""
    totals = {row.dealer_id: row for row in session.execute(
        select(Order.dealer_id, func.count(Order.id).label("cars"), func.sum(Order.price).label("sales"),
               func.sum(Order.commission).label("commission"))
        .where(_delivered(month, markets.zone_of_market(None))).group_by(Order.dealer_id))}
    rows = []
    for dealer in parties_service.list_organizations(session=session, kind="dealer", active_only=False):
        found = totals.get(dealer.id)
        rows.append(dict(dealer=dealer, cars=found.cars if found else 0,
                         sales=Decimal(str(found.sales or 0)) if found else Decimal(0),
                         commission=Decimal(str(found.commission or 0)) if found else Decimal(0)))
    return sorted(rows, key=lambda r: (-r["commission"], r["dealer"].name))


def file_name(document: dict, extension: str) -> str:
    return f"commission-{document['dealer'].code}-{document['month']:%Y-%m}.{extension}".lower()


def as_csv(document: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["dealer", "month", "order", "handed_over_on", "car", "vin", "price_eur", "commission_eur",
                     "rule"])
    for line in document["lines"]:
        writer.writerow([document["dealer"].name, f"{document['month']:%Y-%m}", line["number"],
                         line["handed_over_on"].isoformat(), line["car"], line["vin"], f"{line['price']:.2f}",
                         f"{line['commission']:.2f}", line["rule"]])
    writer.writerow([document["dealer"].name, f"{document['month']:%Y-%m}", "total", "", f"{document['cars']} cars",
                     "", f"{document['sales']:.2f}", f"{document['commission']:.2f}", ""])
    return out.getvalue()


def as_pdf(document: dict) -> bytes:
    """An A4 statement: the dealer, the month, one line per car, the totals."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buffer = io.BytesIO()
    dealer, month = document["dealer"], document["month"]
    currency = markets.reference(dealer.market)["currency"]
    title = _("Commission statement %(month)s — %(dealer)s", month=dates.format_date(month, "yMMMM"), dealer=dealer.name)
    styles = getSampleStyleSheet()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, title=title, author="Forecourt", leftMargin=15 * mm,
                            rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm)
    address = ", ".join(part for part in (dealer.street, f"{dealer.postcode or ''} {dealer.city or ''}".strip()) if part)
    rows = [[_("Order"), _("Handed over"), _("Car"), _("VIN"), _("Price"), _("Commission")]]
    rows += [[line["number"], dates.format_date(line["handed_over_on"]), line["car"], line["vin"],
              money_text(line["price"], currency), money_text(line["commission"], currency)] for line in document["lines"]]
    rows.append([_("Total"), "", _("%(cars)s cars", cars=document["cars"]), "", money_text(document["sales"], currency),
                 money_text(document["commission"], currency)])
    table = Table(rows, repeatRows=1, colWidths=[24 * mm, 22 * mm, 42 * mm, 42 * mm, 25 * mm, 25 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONT", (0, -1), (-1, -1), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8), ("ALIGN", (4, 0), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
    ]))
    rules = sorted({line["rule"] for line in document["lines"] if line["rule"]})
    story = [Paragraph(title, styles["Title"]), Paragraph(address, styles["Normal"]), Spacer(1, 6 * mm), table,
             Spacer(1, 6 * mm)]
    story += [Paragraph(_("Rules applied:"), styles["Heading4"])] + [Paragraph(r, styles["Normal"]) for r in rules] \
        if rules else [Paragraph(_("No online orders were handed over this month."), styles["Normal"])]
    pdf.build(story)
    return buffer.getvalue()

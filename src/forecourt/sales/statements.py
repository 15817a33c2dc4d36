"""Monthly commission statements: for each dealer, the online orders it handed over in a month and
the share each earned, as the carmaker pays it (CSV for the books, PDF for the dealer).

A statement names orders, cars and amounts, never the buyers, so it needs no one's consent. The
month is the dealer's calendar month on its own clock (Europe/Berlin, Asia/Seoul), like its opening
hours, and the amounts are in its market's currency. Both files are written in the reader's language;
a Korean statement is set in a CJK font reportlab carries itself (Adobe's CID fonts need no font file).
"""

from __future__ import annotations

import csv
import io
import re
from xml.sax.saxutils import escape
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core import dates
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _, ngettext
from forecourt.core.money import minor_digits
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
        rows.append(dict(dealer=dealer, currency=markets.reference(dealer.market)["currency"],
                         cars=found.cars if found else 0,
                         sales=Decimal(str(found.sales or 0)) if found else Decimal(0),
                         commission=Decimal(str(found.commission or 0)) if found else Decimal(0)))
    # Won and euros are never compared: dealers are ranked within their currency.
    return sorted(rows, key=lambda r: (r["currency"], -r["commission"], r["dealer"].name))


def file_name(document: dict, extension: str) -> str:
    return f"commission-{document['dealer'].code}-{document['month']:%Y-%m}.{extension}".lower()


def _amount(value: Decimal, currency: str) -> str:
    """An amount for the books: no grouping, exactly the currency's minor digits (2160.00 EUR, 2160000 KRW)."""
    return f"{value:.{minor_digits(currency)}f}"


def as_csv(document: dict) -> str:
    """For the books and a spreadsheet: headers in the reader's language, amounts as plain numbers with the
    currency named in the header. Starts with a byte order mark so spreadsheets read Hangul and umlauts as
    UTF-8."""
    currency = markets.reference(document["dealer"].market)["currency"]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("Dealer"), _("Month"), _("Order"), _("Handed over"), _("Car"), _("VIN"),
                     _("Price (%(currency)s)", currency=currency), _("Commission (%(currency)s)", currency=currency),
                     _("Rule")])
    for line in document["lines"]:
        writer.writerow([document["dealer"].name, f"{document['month']:%Y-%m}", line["number"],
                         line["handed_over_on"].isoformat(), line["car"], line["vin"],
                         _amount(line["price"], currency), _amount(line["commission"], currency), line["rule"]])
    writer.writerow([document["dealer"].name, f"{document['month']:%Y-%m}", _("Total"), "",
                     _cars(document["cars"]), "", _amount(document["sales"], currency),
                     _amount(document["commission"], currency), ""])
    return out.getvalue()


def _cars(count: int) -> str:
    return ngettext("%(num)s car", "%(num)s cars", count)


# reportlab's standard fonts write only Latin-1-like text; Korean (or any name beyond it) needs a CID font.
LATIN, LATIN_BOLD = "Helvetica", "Helvetica-Bold"
CJK = "HYGothic-Medium"  # Adobe-Korea1 sans serif, shipped with reportlab as CID metrics: no font file needed


def _fonts(texts) -> tuple[str, str]:
    """The regular and bold font that can write every one of ``texts``."""
    try:
        for text in texts:
            str(text).encode("cp1252")
        return LATIN, LATIN_BOLD
    except UnicodeEncodeError:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        if CJK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK))
        return CJK, CJK


def as_pdf(document: dict) -> bytes:
    """An A4 statement: the dealer, the month, one line per car, the totals."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buffer = io.BytesIO()
    dealer, month = document["dealer"], document["month"]
    currency = markets.reference(dealer.market)["currency"]
    title = _("Commission statement %(month)s — %(dealer)s", month=dates.format_date(month, "yMMMM"), dealer=dealer.name)
    address = ", ".join(part for part in (dealer.street, f"{dealer.postcode or ''} {dealer.city or ''}".strip()) if part)
    rows = [[_("Order"), _("Handed over"), _("Car"), _("VIN"), _("Price"), _("Commission")]]
    rows += [[line["number"], dates.format_date(line["handed_over_on"]), line["car"], line["vin"],
              money_text(line["price"], currency), money_text(line["commission"], currency)] for line in document["lines"]]
    rows.append([_("Total"), "", _cars(document["cars"]), "", money_text(document["sales"], currency),
                 money_text(document["commission"], currency)])
    rules = sorted({line["rule"] for line in document["lines"] if line["rule"]})
    closing = [_("Rules applied:"), *rules] if rules else [_("No online orders were handed over this month.")]
    regular, bold = _fonts([title, address, *closing, *(cell for row in rows for cell in row)])
    base = getSampleStyleSheet()
    styles = {name: ParagraphStyle(f"{name}-{regular}", parent=base[name], fontName=bold if name != "Normal" else regular)
              for name in ("Title", "Heading4", "Normal")}
    pdf = SimpleDocTemplate(buffer, pagesize=A4, title=title, author="Forecourt", leftMargin=15 * mm,
                            rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm)
    table = Table(rows, repeatRows=1, colWidths=[24 * mm, 22 * mm, 42 * mm, 42 * mm, 25 * mm, 25 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), regular),
        ("FONT", (0, 0), (-1, 0), bold), ("FONT", (0, -1), (-1, -1), bold),
        ("FONTSIZE", (0, 0), (-1, -1), 8), ("ALIGN", (4, 0), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
    ]))
    story = [Paragraph(escape(title), styles["Title"]), Paragraph(escape(address), styles["Normal"]),
             Spacer(1, 6 * mm), table, Spacer(1, 6 * mm)]
    if rules:
        story += [Paragraph(escape(closing[0]), styles["Heading4"])]
        story += [Paragraph(escape(rule), styles["Normal"]) for rule in rules]
    else:
        story += [Paragraph(escape(closing[0]), styles["Normal"])]
    pdf.build(story)
    return buffer.getvalue()

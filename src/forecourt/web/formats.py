"""Template helpers for markets: times on the viewer's clock, money, phone numbers, names and addresses.

Each is a thin call into ``core`` (zones, money, phones, names, addresses), so a page, an e-mail
and a PDF written by the same code format alike. Dates and times themselves are formatted by the
language filters; ``local`` only moves a stored UTC moment onto the reader's clock first.
"""

from __future__ import annotations

import re
from datetime import date

from jinja2 import pass_context

from forecourt.consent import reads
from forecourt.core import addresses, dates, i18n, names, phones, zones
from forecourt.core.i18n import N_
from forecourt.core.money import Money, currency_symbol, format_money, input_amount, input_step
from forecourt.parties import markets
from forecourt.web.viewer import market_of


# Words of the catalogue and vehicle data shown through ``|capitalize`` (propulsion, body): marked
# here so the catalogues hold them; ``reference_text`` translates them where they are shown.
REFERENCE_WORDS = (N_("Electric"), N_("Hybrid"), N_("Plug-in hybrid"), N_("Petrol"), N_("Diesel"), N_("Hatchback"),
                   N_("Suv"), N_("Sedan"), N_("Estate"), N_("Van"), N_("Coupe"), N_("Convertible"),
                   N_("electric"), N_("hybrid"), N_("plug in hybrid"), N_("petrol"), N_("diesel"),
                   # codes some pages show as they are stored (statuses, kinds, legal bases, categories)
                   N_("new"), N_("contacted"), N_("qualified"), N_("converted"), N_("disqualified"), N_("draft"),
                   N_("sent"), N_("accepted"), N_("superseded"), N_("expired"), N_("open"), N_("won"), N_("lost"),
                   N_("high"), N_("medium"), N_("low"), N_("critical"), N_("consent"), N_("contract"),
                   N_("vital interest"), N_("legal obligation"), N_("insurance"), N_("finance"), N_("roadside"),
                   N_("emergency"), N_("tow"), N_("dealer"), N_("partner"), N_("carmaker"), N_("Insurance"),
                   N_("Finance"), N_("Roadside"), N_("Emergency"), N_("Tow"), N_("contact"), N_("vehicles"),
                   N_("service history"), N_("preferences"), N_("location"), N_("vehicle health"),
                   N_("driving behaviour"), N_("sales history"), N_("email"), N_("phone"), N_("sms"), N_("app"),
                   N_("awaiting deposit"), N_("deposit paid"), N_("paid"), N_("refund due"), N_("refunded"),
                   N_("placed"), N_("confirmed"), N_("scheduled"), N_("delivered"), N_("cancelled"), N_("ok"),
                   N_("info"), N_("service soon"), N_("stop safely"), N_("unknown"), N_("pending"), N_("captured"),
                   N_("held"), N_("released"), N_("inspection"), N_("oil service"), N_("repair"), N_("recall"),
                   N_("warranty repair"), N_("receipt"), N_("refund"), N_("reversal"), N_("deposit"),
                   N_("Carmaker admin"), N_("Call centre agent"), N_("Dealer sales"), N_("Dealer service"),
                   N_("Dealer cashier"), N_("Partner analyst"), N_("Customer"), N_("Sos"), N_("Crash"),
                   N_("Breakdown"), N_("sos"), N_("crash"), N_("breakdown"), N_("acknowledged"), N_("dispatched"),
                   N_("resolved"), N_("closed"), N_("Consent ledger"), N_("Service records"), N_("Ownerships"),
                   N_("Warranty contracts"), N_("Data requests"), N_("Orders"), N_("Payments"), N_("Opportunities"))


CODE = re.compile(r"[a-z0-9_]+")


def reference_text(value):
    """Every ``{{ value }}`` of a template: a plain string that is a text of the catalogues (reference
    data stored as written) in the reader's language, anything else untouched. A bare code ("new",
    "inspection") is never touched here: it may be a form's value or a CSS class; where a page
    shows a code as a word it says so with ``|t``."""
    if type(value) is str and value and not CODE.fullmatch(value):
        return i18n.translate(value)
    return value


def translated(value):
    """``{{ code|t }}``: the value in the reader's language when the catalogues have it."""
    return i18n.translate(value) if type(value) is str and value else value


def money(amount, currency: str = "EUR", whole: bool = False) -> str:
    """``{{ order.price|money(order.currency) }}``: "₩45,900,000", "1.234,56 €"."""
    if amount is None:
        return "—"
    value = amount if isinstance(amount, Money) else Money.of(amount, currency)
    return format_money(value, whole=whole)


@pass_context
def phone(context, stored: str | None) -> str:
    """A stored number as the reader dials it: nationally in their own country, else internationally."""
    return phones.display(stored, viewer_region=markets.region_of(market_of(context.get("request"))))


def address(place, market: str | None = None) -> list[str]:
    """The lines of an organization's or a customer's address, as its market writes them."""
    code = market or getattr(place, "market", None) or getattr(place, "country", None)
    lines = markets.reference(code)["address_format"]
    return addresses.format_lines(lines, street=getattr(place, "street", None), postcode=getattr(place, "postcode", None),
                                  city=getattr(place, "city", None))


@pass_context
def name_fields(context, market: str | None = None) -> list[tuple[str, str]]:
    """The name boxes of a form in the reader's order: family name first on Korean pages."""
    code = market or market_of(context.get("request"))
    return names.fields(market_order=markets.reference(code)["name_order"])


def iso_day(value):
    """``{{ "2026-11-21"|iso_day|date }}``: a day a JSON-shaped figure carries as text, as a date to format."""
    return date.fromisoformat(value) if isinstance(value, str) and value else value


def install(env) -> None:
    env.filters.update(local=zones.to_viewer, money=money, phone=phone, dial=phones.dial_link, t=translated,
                       date=dates.format_date, datetime=dates.format_datetime, time=dates.format_time,
                       number=dates.format_number, percent=dates.format_percent, sign=currency_symbol,
                       step=input_step, amount_input=input_amount, iso_day=iso_day, read_what=reads.describe)
    env.globals.update(zone_label=zones.zone_label, address=address, name_fields=name_fields,
                       display_name=names.display_name, current_language=i18n.current_locale,
                       viewer_zone_name=lambda: getattr(zones.current_zone(), "key", "UTC"),  # for the pages' scripts
                       switch_languages=i18n.LANGUAGES)

"""Markets as data: Germany and Korea, each with its currency, language, clock, phones, names and addresses.

The rows are reference data, written by the migration that made the table and kept by
``ensure_markets`` on every start, so a market added here reaches every database. Organizations and
customers name their market; what varies by country is read from the market's row, never from an
``if country == "KR"`` in the code.
"""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core import addresses, names, phones, zones
from forecourt.core.errors import Invalid
from forecourt.core.i18n import N_, _
from forecourt.parties.models import Market, Organization

DEFAULT_MARKET = "DE"

MARKETS: tuple[dict, ...] = (
    dict(code="DE", name=N_("Germany"), currency="EUR", language="de", time_zone="Europe/Berlin", phone_region="DE",
         name_order=names.GIVEN_FIRST, address_format=["{street}", "{postcode} {city}"],
         postcode_pattern=r"\d{5}", postcode_example="10435"),
    # Road-name addresses (도로명주소) from the largest place to the building, the 5-digit postcode
    # (국가기초구역번호, since 2015) in front.
    dict(code="KR", name=N_("South Korea"), currency="KRW", language="ko", time_zone="Asia/Seoul", phone_region="KR",
         name_order=names.FAMILY_FIRST, address_format=["({postcode}) {city} {street}"],
         postcode_pattern=r"\d{5}", postcode_example="06236"),
)
_REFERENCE = {m["code"]: m for m in MARKETS}
# Whose data-protection law a consent given in a market answers to: the GDPR in Germany, PIPA
# (개인정보 보호법) in Korea. A consent receipt names it.
JURISDICTIONS = {"DE": "EU", "KR": "KR"}


def jurisdiction_of(code: str | None) -> str:
    return JURISDICTIONS.get((code or "").upper(), JURISDICTIONS[DEFAULT_MARKET])


def ensure_markets(session: Session) -> None:
    """Writes the reference markets that are missing; markets already there are left as they are."""
    present = set(session.scalars(select(Market.code)))
    for market in MARKETS:
        if market["code"] not in present:
            session.add(Market(**market))
    session.flush()


def list_markets(*, session: Session) -> list[Market]:
    return list(session.scalars(select(Market).order_by(Market.code)))


def get_market(*, session: Session, code: str | None, field: str = "market") -> Market:
    """The market called ``code`` ("KR"), or ``Invalid`` naming the markets there are."""
    market = session.get(Market, (code or "").strip().upper()) if code else None
    if market is None:
        known = ", ".join(m.code for m in list_markets(session=session))
        raise Invalid(_("%(code)s is not a market of this network; the markets are %(known)s.",
                        code=repr(code), known=known), field=field)
    return market


def market_or_default(*, session: Session, code: str | None) -> Market:
    """The market called ``code`` when there is one, else the default market (for reads, never failing)."""
    market = session.get(Market, code.strip().upper()) if code else None
    return market or session.get(Market, DEFAULT_MARKET) or Market(**_REFERENCE[DEFAULT_MARKET])


def market_for_country(*, session: Session, country: str | None) -> Market:
    """A new organization's or customer's market when none is named: its country's, else the default."""
    return market_or_default(session=session, code=country)


def reference(code: str | None) -> dict:
    """The reference rules of a market (no database needed), the default market's for an unknown code."""
    return _REFERENCE.get((code or "").upper(), _REFERENCE[DEFAULT_MARKET])


def zone_of_market(code: str | None) -> tzinfo:
    return zones.zone_or(reference(code)["time_zone"])


def zone_of(organization: Organization) -> tzinfo:
    """The organization's clock; a name the machine does not know falls back to its market's, with a warning."""
    return zones.zone_or(organization.time_zone, zone_of_market(organization.market),
                         whose=f"Organization {organization.code}'s")


def region_of(code: str | None) -> str:
    """Where a number typed without a country code is read, for a market code (no database needed)."""
    return reference(code)["phone_region"]


def address_lines(market: Market, *, street: str | None, postcode: str | None, city: str | None) -> list[str]:
    return addresses.format_lines(market.address_format or ["{street}", "{postcode} {city}"], street=street,
                                  postcode=postcode, city=city)


def check_contact(*, market: Market, values: dict, prefix: str = "") -> dict:
    """Phone to E.164 and postcode to the market's pattern, in place; refusals say what is wrong."""
    if values.get("phone"):
        values["phone"] = phones.normalise(values["phone"], region=market.phone_region, field=f"{prefix}phone")
    if values.get("postcode"):
        values["postcode"] = addresses.check_postcode(
            values["postcode"], pattern=market.postcode_pattern, example=market.postcode_example,
            country=phones.country_name(market.code), field=f"{prefix}postcode")
    return values


def set_marketing_cap(*, session: Session, code: str, per_month: int) -> Market:
    """At most ``per_month`` marketing messages per driver and channel in 30 days, in this market."""
    market = get_market(session=session, code=code)
    if not 0 <= per_month <= 31:
        raise Invalid(_("Choose between 0 and 31 messages a month."), field="per_month")
    market.marketing_per_month = per_month
    session.flush()
    return market

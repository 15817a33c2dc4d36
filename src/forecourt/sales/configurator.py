"""The configurator: what a trim offers, whether a choice of options can be built, what it costs,
and saving it under a code the customer can bring to any dealer.

Rules between options are data (``OptionRule``): *requires* (the Winter package needs heated seats),
*excludes* (no panoramic roof with roof rails) and *includes* (the Comfort package brings keyless entry
at no extra cost). A combination that cannot be built is explained in sentences, one per problem,
so the buyer knows what to change rather than just "invalid".

Prices are per market (``core.money``): a trim or option costs its ``TrimPrice`` / ``OptionPrice`` in
the buyer's market, or its home price where the market pays in the same currency; one without a
price in the market is not sold there. A configuration is priced, saved and ordered in one currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from random import Random
from typing import TYPE_CHECKING

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.core import qr
from forecourt.core.auth import Role
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _, Labels, N_, translate
from forecourt.core.money import Money
from forecourt.parties import markets
from forecourt.sales.codes import display_code, new_code, normalise_code
from forecourt.sales.models import Configuration, Option, OptionPrice, OptionRule
from forecourt.sales.schemas.configurator import OptionGroup, OptionOut, TrimOptionsOut
from forecourt.vehicles import service as vehicles_service

if TYPE_CHECKING:  # annotations only: the objects come from the other domain's service
    from forecourt.parties.models import Market

KINDS = ("colour", "wheels", "interior", "package", "feature")
KIND_LABELS = Labels({"colour": N_("Colour"), "wheels": N_("Wheels"), "interior": N_("Interior"), "package": N_("Packages"),
               "feature": N_("Features")})
# Kinds a car has exactly one of (when the trim offers the kind at all).
ONE_OF = Labels({"colour": N_("colour"), "wheels": N_("set of wheels"), "interior": N_("interior")})
MAX_OPTIONS = 60
_CODE_ATTEMPTS = 8

__all__ = ["CheckResult", "InvalidConfiguration", "catalogue", "check", "describe", "display_code", "get_by_code",
           "normalise_code", "options_of", "qr_svg", "rules_in_words", "save", "trim_by_code"]


class InvalidConfiguration(Invalid):
    """A combination that cannot be built; ``problems`` has one sentence per thing to change."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems), field="option_codes")
        self.problems = problems


@dataclass
class CheckResult:
    trim: object
    problems: list[str] = field(default_factory=list)
    # [{"code", "name", "kind", "price", "included_in"}], in the order of KINDS
    lines: list[dict] = field(default_factory=list)
    option_codes: list[str] = field(default_factory=list)  # what was chosen, with the defaults applied
    base_price: Decimal = Decimal(0)
    total_price: Decimal = Decimal(0)
    market: str = markets.DEFAULT_MARKET
    currency: str = "EUR"

    @property
    def valid(self) -> bool:
        return not self.problems


# --- the catalogue -------------------------------------------------------------------------------

def _is_current(trim) -> bool:
    return trim.year_to is None


def market_for(*, session: Session, code: str | None) -> Market:
    return markets.market_or_default(session=session, code=code)


def option_price(*, session: Session, option: Option, market: Market) -> Money | None:
    """The option's price in ``market`` (see the module's note); ``None``: not offered there."""
    row = session.get(OptionPrice, (option.id, market.code))
    if row is not None:
        return Money.of(row.amount, row.currency)
    if (option.currency or "EUR") == market.currency:
        return Money.of(option.price, market.currency)
    return None


def set_option_price(*, session: Session, option_id: int, market: Market, amount) -> OptionPrice:
    price = Money.of(amount, market.currency).rounded()
    row = session.get(OptionPrice, (option_id, market.code)) or OptionPrice(option_id=option_id, market=market.code)
    row.amount, row.currency = price.amount, price.currency
    session.add(row)
    session.flush()
    return row


def catalogue(*, session: Session, market: str | None = None) -> list[dict]:
    """Models with the trims that can be ordered today in the market, cheapest first:
    [{"model", "trims", "from_price", "prices": {trim id: Money}, "currency"}]."""
    where = market_for(session=session, code=market)
    found = []
    for model in vehicles_service.list_models(session=session):
        prices = {t.id: vehicles_service.trim_price(session=session, trim=t, market=where)
                  for t in model.trims if _is_current(t)}
        trims = sorted((t for t in model.trims if prices.get(t.id) is not None),
                       key=lambda t: (prices[t.id].amount, t.name))
        if trims:
            found.append({"model": model, "trims": trims, "from_price": prices[trims[0].id],
                          "prices": prices, "currency": where.currency})
    return found


def trim_by_code(*, session: Session, trim_code: str):
    wanted = (trim_code or "").strip().upper()
    for model in vehicles_service.list_models(session=session):
        for trim in model.trims:
            if trim.code.upper() == wanted:
                return trim
    raise NotFound(f"There is no trim '{trim_code}' in the catalogue.")


def _offered(option: Option, trim) -> bool:
    return option.model_id == trim.model_id and (not option.trim_codes or trim.code in option.trim_codes)


def _model_options(session: Session, model_id: int) -> list[Option]:
    return list(session.scalars(select(Option).where(Option.model_id == model_id).order_by(Option.price,
                                                                                             Option.name)))


def options_of(*, session: Session, trim_id: int) -> dict[str, list[Option]]:
    """The options a trim offers, by kind in the order a buyer chooses them (kinds it lacks are absent)."""
    trim = vehicles_service.get_trim(session=session, trim_id=trim_id)
    grouped: dict[str, list[Option]] = {}
    for option in _model_options(session, trim.model_id):
        if _offered(option, trim):
            grouped.setdefault(option.kind, []).append(option)
    return {kind: grouped[kind] for kind in KINDS if kind in grouped}


def _rules(session: Session, option_ids) -> list[tuple[OptionRule, Option, Option]]:
    ids = list(option_ids)
    if not ids:
        return []
    rules = list(session.scalars(select(OptionRule).where(
        (OptionRule.option_id.in_(ids)) | (OptionRule.other_id.in_(ids))).order_by(OptionRule.id)))
    wanted = {r.option_id for r in rules} | {r.other_id for r in rules}
    options = {o.id: o for o in session.scalars(select(Option).where(Option.id.in_(wanted)))} if wanted else {}
    return [(r, options[r.option_id], options[r.other_id]) for r in rules]


def rules_in_words(*, session: Session, trim_id: int) -> dict[str, list[str]]:
    """Option code -> short notes for the form ("includes Keyless entry", "needs Heated front seats")."""
    offered = [o for group in options_of(session=session, trim_id=trim_id).values() for o in group]
    notes: dict[str, list[str]] = {o.code: [] for o in offered}
    for rule, option, other in _rules(session, [o.id for o in offered]):
        if rule.kind == "includes" and option.code in notes:
            notes[option.code].append(_("includes %(name)s", name=_named(other)))
        elif rule.kind == "requires" and option.code in notes:
            notes[option.code].append(_("needs %(name)s", name=_named(other)))
        elif rule.kind == "excludes":
            if option.code in notes:
                notes[option.code].append(_("not with %(name)s", name=_named(other)))
            if other.code in notes:
                notes[other.code].append(_("not with %(name)s", name=_named(option)))
    return notes


# --- checking and pricing ------------------------------------------------------------------------

def _named(option: Option) -> str:
    """An option's name (stored as written, in the catalogues) in the reader's language."""
    return translate(option.name) if option.name else ""


def _names(options: list[Option]) -> str:
    names = [_named(o) for o in options]
    return names[0] if len(names) == 1 else _("%(names)s and %(last)s", names=", ".join(names[:-1]), last=names[-1])


def _the(option: Option) -> str:
    return _("the %(name)s", name=_named(option)) if option.kind in ("package", "feature") else _named(option)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def check(*, session: Session, trim_id: int, option_codes: list[str], market: str | None = None) -> CheckResult:
    """Prices a choice of options on a trim in a market's currency and says, in words, everything that
    stops it being built or sold there."""
    trim = vehicles_service.get_trim(session=session, trim_id=trim_id)
    where = market_for(session=session, code=market)
    title = f"{trim.model.name} {trim.name}"
    base = vehicles_service.trim_price(session=session, trim=trim, market=where)
    result = CheckResult(trim=trim, market=where.code, currency=where.currency)
    if base is None:
        result.problems.append(_("The %(title)s is not sold in %(name)s.", title=title, name=where.name))
        base = Money.zero(where.currency)
    result.base_price = base.amount
    if not _is_current(trim):
        result.problems.append(_("The %(title)s is no longer built; choose a current trim.", title=title))
    wanted = list(dict.fromkeys(code.strip() for code in option_codes if code and code.strip()))
    if len(wanted) > MAX_OPTIONS:
        result.problems.append(_("A car has at most %(max_options)s options; %(chosen)s were chosen.", max_options=MAX_OPTIONS, chosen=len(wanted)))
        wanted = wanted[:MAX_OPTIONS]
    known = {o.code: o for o in session.scalars(select(Option).where(Option.code.in_(wanted)))} if wanted else {}
    chosen: list[Option] = []
    for code in wanted:
        option = known.get(code)
        if option is None:
            result.problems.append(_("There is no option '%(code)s' in the catalogue.", code=code))
        elif not _offered(option, trim):
            result.problems.append(_("%(option)s is not offered on the %(title)s.", option=_cap(_the(option)), title=title))
        else:
            chosen.append(option)

    offered = [o for o in _model_options(session, trim.model_id) if _offered(o, trim)]
    for kind, noun in ONE_OF.items():
        of_kind = [o for o in chosen if o.kind == kind]
        if len(of_kind) > 1:
            result.problems.append(_("Choose one %(noun)s; %(names)s were chosen.", noun=noun, names=_names(of_kind)))
        elif not of_kind and any(o.kind == kind for o in offered):
            default = next((o for o in offered if o.kind == kind and o.is_default), None)
            if default is None:
                result.problems.append(_("Choose a %(noun)s.", noun=noun))
            else:
                chosen.append(default)

    chosen_ids = {o.id for o in chosen}
    included_in: dict[int, Option] = {}  # option id -> the chosen package that brings it
    extra: dict[int, Option] = {}
    for rule, option, other in _rules(session, chosen_ids):
        if rule.kind == "includes" and option.id in chosen_ids:
            included_in.setdefault(other.id, option)
            extra[other.id] = other
    present = chosen_ids | set(extra)
    rules = _rules(session, present)  # what comes inside a package must also fit with the rest
    seen_pairs: set[frozenset] = set()
    for rule, option, other in rules:
        if rule.kind == "requires" and option.id in chosen_ids and other.id not in present:
            if _offered(other, trim):
                noun = _("the package") if option.kind == "package" else _the(option)
                result.problems.append(_("%(option)s needs %(name)s; add it or remove %(noun)s.", option=_cap(_the(option)), name=_named(other), noun=noun))
            else:
                result.problems.append(_("%(option)s needs %(name)s, which the %(title)s does not offer; remove %(the)s.", option=_cap(_the(option)), name=_named(other), title=title, the=_the(option)))
        elif rule.kind == "excludes" and option.id in present and other.id in present:
            pair = frozenset((option.id, other.id))
            if pair not in seen_pairs:
                seen_pairs.add(pair)
                result.problems.append(_("%(option)s cannot be combined with %(other)s%(because)s.",
                                         option=_cap(_the(option)), other=_named(other),
                                         because=_because(option, other, included_in)))

    everything = {o.id: o for o in chosen} | extra
    ordered = sorted(everything.values(), key=lambda o: (KINDS.index(o.kind) if o.kind in KINDS else len(KINDS),
                                                         o.name))
    total = base
    for option in ordered:
        package = included_in.get(option.id)
        price = option_price(session=session, option=option, market=where)
        if price is None:
            result.problems.append(_("%(option)s is not offered in %(name)s.", option=_cap(_the(option)), name=where.name))
            price = Money.zero(where.currency)
        if package is not None:
            price = Money.zero(where.currency)
        total += price
        result.lines.append({"code": option.code, "name": option.name, "kind": option.kind,
                             "price": float(price.amount), "included_in": package.name if package is not None else None})
    result.option_codes = [o.code for o in ordered if o.id in chosen_ids]
    result.total_price = total.amount
    return result


def _because(option: Option, other: Option, included_in: dict[int, Option]) -> str:
    """When a clash comes from inside a package, say which package, or the buyer cannot find it."""
    reasons = [_("%(option)s comes with the %(package)s", option=_named(o), package=_named(included_in[o.id]))
               for o in (option, other) if o.id in included_in]
    return " (" + "; ".join(reasons) + ")" if reasons else ""


# --- saving and finding by code ------------------------------------------------------------------

def save(*, session: Session, trim_id: int, option_codes: list[str], customer_id: int | None = None,
         dealer_id: int | None = None, random: Random | None = None, market: str | None = None) -> Configuration:
    """Saves a buildable configuration with a fresh code; prices are frozen as they are today, in the
    market's currency."""
    result = check(session=session, trim_id=trim_id, option_codes=option_codes, market=market)
    if not result.valid:
        raise InvalidConfiguration(result.problems)
    for _ in range(_CODE_ATTEMPTS):
        code = new_code(random)
        if session.scalar(select(exists().where(Configuration.code == code))):
            continue
        configuration = Configuration(code=code, trim_id=trim_id, option_codes=result.option_codes,
                                      price_lines=result.lines, base_price=result.base_price,
                                      total_price=result.total_price, customer_id=customer_id, dealer_id=dealer_id,
                                      market=result.market, currency=result.currency)
        try:
            with session.begin_nested():  # another request may take the same code between the look and the write
                session.add(configuration)
                session.flush()
        except IntegrityError:
            continue
        return configuration
    raise RuntimeError("Could not find a free configuration code; the random source is not random.")


def get_by_code(*, session: Session, code: str) -> Configuration:
    """Whoever holds the code may open the configuration (that is what the code is for)."""
    normalised = normalise_code(code)  # a mistyped code says so (Invalid) rather than "not found"
    configuration = session.scalars(select(Configuration).where(Configuration.code == normalised)).first()
    if configuration is None:
        raise NotFound("There is no configuration with this code.")
    return configuration


def describe(*, session: Session, configuration: Configuration) -> dict:
    """What anyone holding the code sees: the car and its price, never who configured it."""
    trim = vehicles_service.get_trim(session=session, trim_id=configuration.trim_id)
    return {"code": configuration.code, "display_code": display_code(configuration.code),
            "model": trim.model.name, "model_code": trim.model.code, "trim": trim.name, "trim_code": trim.code,
            "propulsion": trim.propulsion, "title": f"{trim.model.name} {trim.name}",
            "option_codes": list(configuration.option_codes), "lines": list(configuration.price_lines),
            "base_price": float(configuration.base_price), "total_price": float(configuration.total_price),
            "currency": configuration.currency, "market": configuration.market,
            "created_at": configuration.created_at}


def qr_svg(*, url: str) -> str:
    """An SVG QR code of the configuration page, for the showroom screen and the printed summary."""
    return qr.svg(url, title="QR code of this configuration's page")


# --- what the configurator page and API offer ----------------------------------------------------

def trim_options(*, session: Session, trim, market: str | None = None) -> TrimOptionsOut:
    """The trim's options priced in ``market``; options not offered there are left out."""
    where = market_for(session=session, code=market)
    notes = rules_in_words(session=session, trim_id=trim.id)
    groups = []
    for kind, options in options_of(session=session, trim_id=trim.id).items():
        priced = [(o, option_price(session=session, option=o, market=where)) for o in options]
        groups.append(OptionGroup(kind=kind, label=KIND_LABELS[kind], one_of=kind in ONE_OF,
                                  options=[OptionOut.model_validate(o).model_copy(update={
                                      "notes": notes.get(o.code, []), "price": float(price.amount)})
                                      for o, price in priced if price is not None]))
    base = vehicles_service.trim_price(session=session, trim=trim, market=where)
    return TrimOptionsOut(model=trim.model.name, trim=trim.name, trim_code=trim.code, propulsion=trim.propulsion,
                          base_price=float(base.amount) if base else 0.0, currency=where.currency,
                          groups=[g for g in groups if g.options])


DEALER_ROLES = (Role.DEALER_SALES, Role.DEALER_SERVICE)


def owner_of(principal) -> dict:
    """Who a saved configuration belongs to: the customer, or the dealership it was made at."""
    if principal is None:
        return {}
    if principal.is_customer:
        return {"customer_id": principal.customer_id}
    if principal.role in DEALER_ROLES:
        return {"dealer_id": principal.organization_id}
    return {}

"""The Aurora range's options: colours, wheels, packages and their rules, for the configurator.

Prices are what a mid-range European maker asks; every model gets the same families of options
(its own codes, since an option belongs to one model), so the rules can be tried on any car:
the Comfort package includes heated seats and keyless entry, the Winter package needs heated seats,
the Tow package and Sport styling do not go together, a panoramic roof rules out roof rails, and
the heat pump exists only on the electric trims.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.i18n import N_
from forecourt.sales.models import Option, OptionRule
from forecourt.vehicles import service as vehicles_service

# (code suffix, name, price, default)
_PAINT = (("WHITE", N_("Glacier white"), 0, True), ("BLACK", N_("Obsidian black"), 0, False),
          ("SILVER", N_("Lunar silver metallic"), 690, False), ("GREY", N_("Graphite grey metallic"), 690, False),
          ("BLUE", N_("Fjord blue metallic"), 790, False), ("RED", N_("Ruby red pearl effect"), 990, False),
          ("MIDNIGHT", N_("Midnight blue metallic"), 790, False))
_VAN_PAINT = (("WHITE", N_("Glacier white"), 0, True), ("SILVER", N_("Lunar silver metallic"), 690, False),
              ("GREY", N_("Graphite grey metallic"), 690, False))
_WHEELS = {
    "LUMO": (("W16", N_('16" alloy wheels'), 0, True), ("W17", N_('17" alloy wheels'), 590, False)),
    "VELA": (("W17", N_('17" alloy wheels'), 0, True), ("W18", N_('18" alloy wheels'), 790, False),
             ("W19", N_('19" diamond-cut alloy wheels'), 1390, False)),
    "VELA-TOURER": (("W17", N_('17" alloy wheels'), 0, True), ("W18", N_('18" alloy wheels'), 790, False)),
    "TERRA": (("W17", N_('17" alloy wheels'), 0, True), ("W18", N_('18" alloy wheels'), 690, False),
              ("W20", N_('20" alloy wheels'), 1490, False)),
    "PORTA": (("W16", N_('16" steel wheels'), 0, True), ("W17", N_('17" alloy wheels'), 490, False)),
}
_INTERIOR = (("CLOTH", N_("Cloth upholstery"), 0, True), ("LEATHER", N_("Part-leather upholstery"), 1290, False))
_FEATURES = (("HEATSEAT", N_("Heated front seats"), 390), ("KEYLESS", N_("Keyless entry"), 450),
             ("TOWBAR", N_("Tow bar"), 890), ("HEATPUMP", N_("Heat pump"), 990))
_CAR_FEATURES = (("ROOFRAILS", N_("Roof rails"), 290), ("PANO", N_("Panoramic roof"), 1190))
# Names and descriptions are stored as written (English) and shown in the reader's language (``N_``).
_PACKAGES = (("COMFORT", N_("Comfort package"), 1290,
              N_("Heated front seats, keyless entry and two-zone climate control.")),
             ("WINTER", N_("Winter package"), 590, N_("Heated steering wheel, heated windscreen and washer nozzles.")),
             ("TOW", N_("Tow package"), 990, N_("Tow bar, trailer stability control and a stronger cooling system.")))
_SPORT = ("SPORT", N_("Sport styling"), 1490, N_("Sport bumpers, side skirts, rear spoiler and darkened lights."))
# (option suffix, kind, other suffix)
_RULES = (("COMFORT", "includes", "HEATSEAT"), ("COMFORT", "includes", "KEYLESS"),
          ("WINTER", "requires", "HEATSEAT"), ("TOW", "includes", "TOWBAR"), ("TOW", "excludes", "SPORT"),
          ("PANO", "excludes", "ROOFRAILS"))


def _offering(model) -> list[tuple[str, str, str, float, bool, list[str], str]]:
    """(suffix, kind, name, price, default, trim codes, description) for one model."""
    van = model.body == "van"
    items = [(s, "colour", n, p, d, [], "") for s, n, p, d in (_VAN_PAINT if van else _PAINT)]
    items += [(s, "wheels", n, p, d, [], "") for s, n, p, d in _WHEELS.get(model.code, _WHEELS["LUMO"])]
    items += [(s, "interior", n, p, d, [], "") for s, n, p, d in _INTERIOR]
    electric = [t.code for t in model.trims if t.propulsion == "electric" and t.year_to is None]
    for suffix, name, price in _FEATURES:
        if suffix == "HEATPUMP":
            if electric:
                items.append((suffix, "feature", name, price, False, electric,
                              N_("Heats the cabin with a fraction of the battery's energy: more range in winter.")))
            continue
        items.append((suffix, "feature", name, price, False, [], ""))
    if not van:
        items += [(s, "feature", n, p, False, [], "") for s, n, p in _CAR_FEATURES]
    items += [(s, "package", n, p, False, [], d) for s, n, p, d in _PACKAGES]
    if not van:
        suffix, name, price, description = _SPORT
        items.append((suffix, "package", name, price, False, [], description))
    return items


def build_options(*, session: Session) -> int:
    """Writes the options and rules of every demo model; returns how many options were written."""
    written = 0
    existing = {o.code: o for o in session.scalars(select(Option))}
    for model in vehicles_service.list_models(session=session):
        by_suffix: dict[str, Option] = {}
        for suffix, kind, name, price, default, trim_codes, description in _offering(model):
            code = f"{model.code}-{suffix}"
            option = existing.get(code)
            if option is None:
                option = Option(model_id=model.id, code=code, name=name, kind=kind, price=price,
                                description=description, trim_codes=trim_codes, is_default=default)
                session.add(option)
                written += 1
            by_suffix[suffix] = option
        session.flush()
        known_rules = {(r.option_id, r.kind, r.other_id) for r in session.scalars(select(OptionRule).where(
            OptionRule.option_id.in_([o.id for o in by_suffix.values()])))}
        for suffix, kind, other in _RULES:
            if suffix in by_suffix and other in by_suffix:
                key = (by_suffix[suffix].id, kind, by_suffix[other].id)
                if key not in known_rules:
                    session.add(OptionRule(option_id=key[0], kind=kind, other_id=key[2]))
    session.flush()
    return written

"""Why a lead went to its dealer, kept as facts and said in the reader's language.

Routing (``sales.routing``) records what it found — who chose, how far, how busy — as a small dict
(``Lead.routing_facts``); a page, an e-mail or the API says it in whoever reads it's language. Reasons
written as text before they were kept as facts (migration 0025 read the English ones back into facts)
are shown as they were written.

Facts by ``code``:

* ``customer_choice``: ``dealer`` (its name then, or absent).
* ``nearest``: ``dealer``, ``km``, ``per_rep`` (open leads per active sales rep, ``None`` with no rep);
  when the nearest dealer was busier, ``closest``, ``closest_km`` and ``closest_per_rep`` too.
  A reason of the demo's or an old one may hold only ``km``.
* ``offer``: ``title``, the partner's offer the driver asked a quote from (the lead is that partner's).
* ``recorded``: ``text``, as it was written.
"""

from __future__ import annotations

from forecourt.core import dates
from forecourt.core.i18n import _, ngettext


def customer_choice(dealer: str | None) -> dict:
    return {"code": "customer_choice", "dealer": dealer}


def nearest(*, dealer: str, km: float, per_rep: float | None, closest: str | None = None,
            closest_km: float | None = None, closest_per_rep: float | None = None) -> dict:
    facts = {"code": "nearest", "dealer": dealer, "km": round(km, 1), "per_rep": per_rep}
    if closest is not None:
        facts |= {"closest": closest, "closest_km": round(closest_km or 0, 1), "closest_per_rep": closest_per_rep}
    return facts


def from_offer(title: str) -> dict:
    return {"code": "offer", "title": title}


def per_rep(open_count: int, reps: int) -> float | None:
    """Open leads per active sales rep; ``None`` for a dealer without a rep."""
    return round(open_count / reps, 2) if reps else None


def _load(value: float | None) -> str:
    if value is None:
        return _("no sales rep yet")
    # A share such as 1.5 takes the plural in every language we speak; only exactly one is singular.
    return ngettext("%(count)s open lead per sales rep", "%(count)s open leads per sales rep",
                    1 if value == 1 else 2, count=dates.format_number(value, up_to=1))


def explain(facts: dict | None) -> str:
    """The reason as a sentence in the reader's language ("" when nothing was recorded)."""
    facts = facts or {}
    code = facts.get("code")
    if code == "customer_choice":
        if facts.get("dealer"):
            return _("Chosen by the customer: %(dealer)s.", dealer=facts["dealer"])
        return _("Chosen by the customer.")
    if code == "nearest":
        km = dates.format_number(facts.get("km") or 0, 0)
        if not facts.get("dealer"):
            return _("Nearest dealer with capacity, %(km)s km away.", km=km)
        if facts.get("closest"):
            return _("Nearest dealer with capacity: %(dealer)s, %(km)s km away, %(load)s (the nearest, %(closest)s at "
                     "%(closest_km)s km, has %(closest_load)s).", dealer=facts["dealer"], km=km,
                     load=_load(facts.get("per_rep")), closest=facts["closest"],
                     closest_km=dates.format_number(facts.get("closest_km") or 0, 0),
                     closest_load=_load(facts.get("closest_per_rep")))
        return _("Nearest dealer with capacity: %(dealer)s, %(km)s km away, %(load)s.", dealer=facts["dealer"],
                 km=km, load=_load(facts.get("per_rep")))
    if code == "offer":
        return _("Asked for a quote from an offer: %(title)s", title=facts.get("title") or "")
    return str(facts.get("text") or "")

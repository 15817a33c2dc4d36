"""What the driver noticed: a short list of common symptoms and when they happen, plus their own words.

Fault codes tell the advisor what the car's computers saw; a driver hears the knock, smells the
burning, feels the pull on braking. Both belong in the pre-arrival brief. The codes are a fixed list
so the brief and any later statistics agree on what "vibration" means; a code we do not know is
refused in words that name the ones we do, never silently dropped. What the driver writes is their
customer data: the brief shows it only in a section the owner already shares with the dealer.
"""

from __future__ import annotations

from collections.abc import Iterable

from forecourt.core.errors import Invalid
from forecourt.core.i18n import N_, Labels, _

# What the driver notices.
WHAT = Labels({
    "noise": N_("Noise"),
    "warning_light": N_("Warning light"),
    "vibration": N_("Vibration"),
    "smell": N_("Smell"),
    "pulling": N_("Pulls to one side"),
    "leak": N_("Fluid leak"),
    "smoke": N_("Smoke"),
    "hard_start": N_("Hard to start"),
})
# When it happens.
WHEN = Labels({
    "cold_start": N_("On a cold start"),
    "braking": N_("When braking"),
    "at_speed": N_("At speed"),
    "turning": N_("When turning"),
    "accelerating": N_("When accelerating"),
    "idling": N_("When idling"),
    "always": N_("All the time"),
})
MAX_CODES = len(WHAT) + len(WHEN)
NOTES_LIMIT = 1000  # a paragraph or two: enough to describe, short enough to read at the desk
FINDINGS_LIMIT = 2000


def label(code: str) -> str:
    return WHAT.get(code) or WHEN.get(code) or code


def choices() -> dict[str, list[tuple[str, str]]]:
    """The checkboxes of a booking form, in the reader's language."""
    return {"what": WHAT.items(), "when": WHEN.items()}


def clean(*, codes: Iterable[str] | None, notes: str | None) -> tuple[list[str], str]:
    """The codes (known ones, each once, in the catalogue's order) and the words, or ``Invalid`` saying why."""
    wanted = [str(code).strip() for code in (codes or []) if str(code).strip()]
    unknown = [code for code in wanted if code not in WHAT and code not in WHEN]
    if unknown:
        raise Invalid(_("Unknown symptom %(codes)s; choose from: %(values)s.",
                        codes=", ".join(repr(code[:40]) for code in unknown[:3]),
                        values=", ".join([*WHAT, *WHEN])), field="symptoms")
    notes = (notes or "").strip()
    if len(notes) > NOTES_LIMIT:
        raise Invalid(_("Please describe what you noticed in at most %(limit)s characters (you wrote %(count)s).",
                        limit=NOTES_LIMIT, count=len(notes)), field="symptom_notes")
    order = [*WHAT, *WHEN]
    return sorted(set(wanted), key=order.index), notes


def clean_findings(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid(_("Write what you found."), field="findings")
    if len(text) > FINDINGS_LIMIT:
        raise Invalid(_("Findings are limited to %(limit)s characters (you wrote %(count)s).",
                        limit=FINDINGS_LIMIT, count=len(text)), field="findings")
    return text


def describe(codes: Iterable[str] | None) -> dict[str, list[dict]]:
    """The codes split into what and when, each with its label in the reader's language."""
    codes = list(codes or [])
    return {"what": [dict(code=c, label=WHAT[c]) for c in codes if c in WHAT],
            "when": [dict(code=c, label=WHEN[c]) for c in codes if c in WHEN]}

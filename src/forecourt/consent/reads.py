"""The words of the access log: what a member of staff read, as the driver reads it.

Each read is stored as it happened, in plain English with the reference it was about ("sharing photo
SH-4821", "lead status #12"): the log is a record, and an export hands it over as it was written.
The driver's "Who looked" page shows it in their language: the longest leading words that are a
text of this list are translated, the reference after them kept as it is.
"""

from __future__ import annotations

from forecourt.core import i18n
from forecourt.core.i18n import N_

WORDS = (
    N_("vehicle page"), N_("driving score"), N_("customer 360"), N_("customer list"), N_("service book"),
    N_("odometer check"), N_("warranty"), N_("extended warranty offer"), N_("On Call case"),
    N_("On Call case: customer and emergency contacts"), N_("incoming towed car"), N_("sharing photo"),
    N_("sharing position"), N_("finance contract"), N_("quote"), N_("lead"), N_("lead list"),
    N_("lead status"), N_("lead merge"), N_("merge candidates for lead"), N_("order"), N_("confirm order"),
    N_("assign car to order"), N_("schedule delivery"), N_("hand over order"), N_("cancel order"),
    N_("opportunity list"), N_("opportunity activity"), N_("opportunity stage"), N_("opportunity update"),
    N_("opportunity won"), N_("opportunity lost"), N_("follow-ups"), N_("follow-up added"), N_("follow-up done"),
    N_("contact and car, for a recall notice"), N_("contact and car, for a recall reminder"),
    N_("preferences for the loaner preset"), N_("configurations and test drives, to choose a loaner"),
)
_KNOWN = frozenset(WORDS)


def describe(what: str | None) -> str | None:
    """``what`` in the reader's language, as far as its leading words are known; else as written."""
    if not what:
        return what
    words = what.split(" ")
    for length in range(len(words), 0, -1):
        head = " ".join(words[:length])
        if head in _KNOWN:
            return " ".join([i18n.translate(head), *words[length:]])
    return what

"""The moments after which a driver is asked: each names who answers for it and which grant allows asking.

A touchpoint is a row of ``TOUCHPOINTS``; adding one is one more row and one more handler in
``handlers`` (a shared car given back joins "sharing_return", as a test drive logged by a sales rep
does). The purpose is the grant the
responsible organization must hold to write to the driver about that moment: a workshop asks under
"service reminders", a sales team under "sales contact", the carmaker under "marketing offers" (the
contact the driver allowed the carmaker's staff). No grant, no survey.
"""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.core.i18n import lazy_gettext

DEALER, CALL_CENTRE = "dealer", "call_centre"


@dataclass(frozen=True)
class Touchpoint:
    code: str
    label: object  # lazy text
    purpose: str  # the consent purpose the responsible organization asks under
    responsible: str  # dealer | call_centre
    triggered: bool  # False: no event publishes it yet

    @property
    def name(self) -> str:
        return str(self.label)


TOUCHPOINTS: dict[str, Touchpoint] = {t.code: t for t in (
    Touchpoint("service_visit", lazy_gettext("Service visit"), "service_reminders", DEALER, True),
    Touchpoint("delivery", lazy_gettext("Car delivery"), "sales_contact", DEALER, True),
    Touchpoint("on_call_case", lazy_gettext("On Call case"), "marketing_offers", CALL_CENTRE, True),
    Touchpoint("sharing_return", lazy_gettext("Sharing or test-drive return"), "sales_contact", DEALER, True),
)}


def get(code: str) -> Touchpoint:
    return TOUCHPOINTS[code]


def name_of(code: str) -> str:
    found = TOUCHPOINTS.get(code)
    return found.name if found else code

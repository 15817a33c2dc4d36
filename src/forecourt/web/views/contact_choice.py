"""The driver's choice of channels and frequency, on their privacy page beside who may use their data.

The form writes through the same service and schema as ``PUT /api/me/contact-choice``
(``engagement.pressure.set_choice``, ``ChoiceIn``), so the app and the page cannot disagree. The
in-app inbox is always on: it is where offers wait, and nothing is pushed from it; e-mail is the
channel the driver switches. Frequency is chosen from what can happen (none, one, up to the
market's cap): a number above the cap would promise nothing more. Safety recalls reach the driver
whatever they choose, and the page says so.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter
from sqlalchemy.orm import Session

from forecourt.core.i18n import _, ngettext
from forecourt.engagement import pressure
from forecourt.engagement.schemas import ChoiceIn
from forecourt.web.deps import DbSession, MePage
from forecourt.web.views.forms import Form, back_to, text, validate, whole_number
from forecourt.web.views.render import redirect

router = APIRouter(tags=["pages"])
PAGE = "/me/privacy"
USUAL = "usual"


def how_often(per_month: int | None, usual: int) -> str:
    if per_month is None:
        return ngettext("The usual limit: at most %(num)s message a month", "The usual limit: at most %(num)s messages a month",
                        usual)
    if per_month == 0:
        return _("No offers: only what the law requires, such as safety recalls")
    return ngettext("At most %(num)s message a month", "At most %(num)s messages a month", per_month)


def summary(per_month: int | None, email: bool, usual: int) -> str:
    """The choice in one sentence, for the confirmation and the page."""
    channels = _("in the app and by e-mail") if email else _("in the app only")
    return _("Offers reach you %(channels)s. %(often)s.", channels=channels, often=how_often(per_month, usual))


def shown(*, session: Session, customer_id: int) -> dict:
    """What the privacy page needs to show the choice and its form."""
    choice = pressure.choice_of(session=session, customer_id=customer_id)
    usual = pressure.market_cap_of(session=session, customer_id=customer_id)
    options = [(USUAL, how_often(None, usual))] + [(str(n), how_often(n, usual)) for n in range(0, usual + 1)]
    if choice.per_month is not None and choice.per_month > usual:  # chosen under an earlier, higher cap
        options.append((str(choice.per_month), how_often(choice.per_month, usual)))
    return {"email": choice.email, "per_month": USUAL if choice.per_month is None else str(choice.per_month),
            "options": options, "summary": summary(choice.per_month, choice.email, usual)}


@router.post("/me/privacy/contact-choice")
def choose(me: MePage, session: DbSession, form: Form):
    raw = text(form, "per_month") or USUAL
    per_month = None if raw == USUAL else whole_number(raw)
    body, errors = validate(ChoiceIn, {"email": text(form, "email") in ("on", "yes", "true"),
                                       "per_month": per_month if raw == USUAL or per_month is not None else raw})
    if errors:
        return back_to(PAGE, error=_("Choose how often from the list: none, or up to 31 messages a month."))
    choice = pressure.set_choice(session=session, customer_id=me.customer_id, email=body.email,
                                 per_month=body.per_month)
    usual = pressure.market_cap_of(session=session, customer_id=me.customer_id)
    saved = _("Saved. %(summary)s", summary=summary(choice.per_month, choice.email, usual))
    return redirect(f"{PAGE}?flash={quote_plus(saved)}#contact-choice")

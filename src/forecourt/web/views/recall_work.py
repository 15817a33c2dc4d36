"""Pages: the driver books a recall's remedy in one click from the car page; the dealer records the remedy.

The car page lists, for each open recall, the free slots of the owner's workshop (the campaign's labour
time holds the bay); each slot is a button that books it. The dealer's page lists the car's open
recalls with a form per recall; it exists only for a dealer with a real relationship with the car
(``workshop.visits.require_relationship``: everyone else gets 404).
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote_plus

from fastapi import APIRouter, Request

from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.vehicles import recalls
from forecourt.web.deps import DEALER_ROLES, DbSession, MePage, StaffPage
from forecourt.web.views.forms import Form, text
from forecourt.web.views.render import redirect, render
from forecourt.workshop import recall_work

router = APIRouter(tags=["pages"])


def _number(value: str | None, field: str, message: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise Invalid(message, field=field) from None


@router.post("/me/vehicles/{vin}/recalls/{code}/booking")
def book_remedy(vin: str, code: str, me: MePage, session: DbSession, form: Form):
    """One click on a slot: the remedy is booked, and the car page says where and when."""
    back = f"/me/vehicles/{vin.strip().upper()}"
    try:
        starts_at = datetime.fromisoformat(text(form, "starts_at") or "")
    except ValueError:
        starts_at = None
    try:
        if starts_at is None:
            raise Invalid(_("Choose one of the times offered."), field="starts_at")
        appointment = recall_work.book_remedy(
            session=session, customer_id=me.customer_id, vin=vin, code=code, starts_at=starts_at,
            dealer_id=_number(text(form, "dealer_id"), "dealer_id", _("Choose a dealer from the list.")),
            bay=_number(text(form, "bay"), "bay", _("Choose one of the times offered.")))
    except (Invalid, Conflict) as problem:
        return redirect(f"{back}?error={quote_plus(problem.message)}#open-recall-{code.strip().upper()}")
    return redirect(f"{back}?flash=" + quote_plus(_("Booked: the fix for recall %(code)s. We hold the bay for the whole job.",
                                                   code=code.strip().upper())) + f"#open-recall-{code.strip().upper()}")


def _dealer(principal) -> None:
    if principal.role not in DEALER_ROLES:
        raise NotFound("Not found")


def _page(request: Request, session, principal, vehicle, *, values=None, errors=None, status_code: int = 200):
    return render(request, "workshop/recall_remedy.html", status_code=status_code, vehicle=vehicle,
                  recalls=recall_work.open_recalls_at(session=session, principal=principal, vehicle=vehicle),
                  values=values or {"performed_on": now().date().isoformat()}, errors=errors or {},
                  severity_words=recalls.SEVERITY_WORDS)


@router.get("/workspace/vehicles/{vin}/recalls")
def remedy_page(request: Request, vin: str, principal: StaffPage, session: DbSession):
    _dealer(principal)
    vehicle = recall_work.car_for_remedy(session=session, principal=principal, vin=vin)
    return _page(request, session, principal, vehicle)


@router.post("/workspace/vehicles/{vin}/recalls")
def record_remedy(request: Request, vin: str, principal: StaffPage, session: DbSession, form: Form):
    """The remedy carried out: the car counts as remedied and its booking for it is done."""
    _dealer(principal)
    vehicle = recall_work.car_for_remedy(session=session, principal=principal, vin=vin)
    values = {name: text(form, name) for name in ("code", "performed_on", "odometer_km")}
    try:
        try:
            performed_on = date.fromisoformat(values["performed_on"] or "")
        except ValueError:
            raise Invalid(_("Give the day the work was done, e.g. 2025-03-31."), field="performed_on") from None
        odometer = _number(values["odometer_km"], "odometer_km", _("Give the odometer reading in whole kilometres."))
        if not 0 <= odometer <= 2_000_000:
            raise Invalid(_("Give the odometer reading in whole kilometres."), field="odometer_km")
        recall_work.record_remedy(session=session, principal=principal, campaign_code=values["code"] or "",
                                           vin=vehicle.vin, performed_on=performed_on, odometer_km=odometer)
    except (Invalid, Conflict) as problem:
        return _page(request, session, principal, vehicle, values=values,
                     errors={problem.field or "form": problem.message}, status_code=422)
    return redirect(f"/workspace/vehicles/{vehicle.vin}/recalls?flash=" + quote_plus(_(
        "Remedy recorded in the service book: the car no longer has recall %(code)s open.",
        code=(values["code"] or "").strip().upper())))

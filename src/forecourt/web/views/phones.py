"""Pages: the owner pairs the phone app that reports for their car (/me/vehicles/{vin}/phone).

Pairing shows, once, the server URL to enter in the Traccar Client, as text and as a QR code: the
URL ends with the phone's token, and only its digest is kept, so the page is not cached and the URL
cannot be shown again (pairing again gives a new one and retires the old).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from forecourt.core import qr
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from forecourt.telematics.schemas import PhoneIn
from forecourt.vehicles import service as vehicles_service
from forecourt.web.deps import DbSession, MePage
from forecourt.web.links import phone_server_url
from forecourt.web.views.forms import Form, back_to, text, validate
from forecourt.web.views.render import render

router = APIRouter(tags=["pages"])


def _page(request: Request, session, vehicle, *, values: dict, errors: dict, paired=None, status_code: int = 200):
    phones = [d for d in devices.devices_of(session=session, vehicle_id=vehicle.id)
              if d.kind == Source.PHONE.value and d.is_active]
    context = dict(vehicle=vehicle, phones=phones, values=values, errors=errors, paired=paired)
    response = render(request, "phones/pair.html", status_code=status_code, **context)
    if paired is not None:
        response.headers["Cache-Control"] = "no-store"  # the URL is the phone's credential
    return response


@router.get("/me/vehicles/{vin}/phone")
def phone_page(request: Request, vin: str, me: MePage, session: DbSession):
    vehicle = vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)
    return _page(request, session, vehicle, values={}, errors={})


@router.post("/me/vehicles/{vin}/phone")
def pair_phone(request: Request, vin: str, me: MePage, session: DbSession, form: Form):
    vehicle = vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)
    values = {"identifier": text(form, "identifier"), "label": text(form, "label")}
    body, errors = validate(PhoneIn, values)
    if body is None:
        return _page(request, session, vehicle, values=values, errors=errors, status_code=422)
    try:
        with session.begin_nested():
            device, token = devices.pair_phone(session=session, vehicle_id=vehicle.id, identifier=body.identifier,
                                               label=body.label or _("Phone app"))
    except (Invalid, Conflict) as problem:
        return _page(request, session, vehicle, values=values, errors={"identifier": problem.message},
                     status_code=422)
    url = phone_server_url(request, token)
    paired = dict(device=device, url=url, qr=qr.svg(url, title=_("The server URL for the phone app"), inline=True))
    return _page(request, session, vehicle, values={}, errors={}, paired=paired)


@router.post("/me/vehicles/{vin}/phones/{device_id}/unpair")
def unpair_phone(vin: str, device_id: Id, me: MePage, session: DbSession):
    vehicle = vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)
    device = devices.unpair(session=session, vehicle_id=vehicle.id, device_id=device_id)
    return back_to(f"/me/vehicles/{vehicle.vin}/phone",
                   flash=_("The phone %(name)s no longer reports for this car.", name=device.identifier))

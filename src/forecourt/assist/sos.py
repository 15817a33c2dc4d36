"""SOS from the driver's phone or the portal, and what the driver sees of the help on its way.

A car without a built-in unit, or a driver away from the car, still needs a button that reaches
the call centre. The press is an alert like a car's own (``intake.raise_alert``): it opens or joins
the car's case, with the phone's position where the browser or app gave one (trusted when it is
accurate to 200 m), else the car's last known position, flagged as such for the agent. Only the
car's current owner may press it for that car; anyone else is told the car does not exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.assist.intake import raise_alert
from forecourt.assist.models import Case, Dispatch
from forecourt.assist.notices import in_words
from forecourt.core.auth import Principal
from forecourt.core.errors import NotFound
from forecourt.core.i18n import N_, Labels
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service

TRUSTED_ACCURACY_M = 200.0
# Whom a driver in danger calls first, per market: Germany's 112; Korea's 119 (fire and ambulance).
EMERGENCY_NUMBERS = {"DE": "112", "KR": "119"}


def emergency_number(market: str | None) -> str:
    return EMERGENCY_NUMBERS.get((market or "").upper(), "112")

SOURCE = "driver_app"
STATUS = Labels({"open": N_("Your call has reached the call centre; an agent is about to take it."),
                 "acknowledged": N_("An agent has your case and is arranging help."),
                 "dispatched": N_("Help is on the way."),
                 "resolved": N_("Your case is resolved."), "closed": N_("Your case is closed.")})
HELP = Labels({"tow": N_("Towing"), "dealer": N_("Dealer"), "emergency": N_("Emergency services")})


def _owned_car(session: Session, principal: Principal, vin: str):
    try:
        vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    except NotFound:
        raise NotFound("Vehicle not found") from None
    if principal.customer_id is None or \
            vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) != principal.customer_id:
        raise NotFound("Vehicle not found")
    return vehicle


def call_for_help(*, session: Session, principal: Principal, vin: str, latitude: float | None = None,
                  longitude: float | None = None, accuracy_m: float | None = None) -> Case:
    """The owner pressed SOS for their car. Never commits."""
    vehicle = _owned_car(session, principal, vin)
    given = latitude is not None and longitude is not None
    trusted = (accuracy_m is not None and 0 <= accuracy_m <= TRUSTED_ACCURACY_M) if given else None
    return raise_alert(session=session, vehicle_id=vehicle.id, kind="sos", source=SOURCE, activation="manual",
                       latitude=latitude if given else None, longitude=longitude if given else None,
                       position_trusted=trusted)


def driver_view(*, session: Session, principal: Principal, number: str) -> dict:
    """The driver's own case: where it stands and who is coming. Anyone else's case does not exist."""
    case = session.scalars(select(Case).where(Case.number == number)).first()
    if case is None or principal.customer_id is None or case.customer_id != principal.customer_id:
        raise NotFound("Case not found")
    vehicle = vehicles_service.get(session=session, vehicle_id=case.vehicle_id)
    coming = []
    for row in session.scalars(select(Dispatch).where(Dispatch.case_id == case.id).order_by(Dispatch.id)):
        provider = parties_service.get_organization(session=session, organization_id=row.provider_id)
        coming.append({"kind": row.kind, "help": HELP.get(row.kind, row.kind), "provider": provider.name,
                       "phone": provider.phone, "eta_minutes": row.eta_minutes, "eta": in_words(row.eta_minutes),
                       "declined": row.answer == "declined"})
    return {"number": case.number, "status": case.status, "in_words": STATUS.get(case.status, case.status),
            "opened_at": case.opened_at, "vin": vehicle.vin, "latitude": case.latitude, "longitude": case.longitude,
            "position_trusted": case.position_trusted, "coming": coming,
            "open": case.status in ("open", "acknowledged", "dispatched")}

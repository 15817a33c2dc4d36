"""JSON routes: On Call — cases for call-centre agents, and the eCall endpoint for cars.

The cases exist only for call-centre agents (everybody else gets 404). The customer part of a case
is opened here, in the web layer, through the consent door under ``emergency_assistance`` with the
case number as reference: visible without consent (vital interest) and written to the access log.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from forecourt.assist import cases as case_service
from forecourt.assist import contacts
from forecourt.assist import ecall as ecall_intake
from forecourt.assist import subscriptions as subscription_service
from forecourt.assist.schemas.cases import (CaseCustomerOut, CaseDetailOut, CaseEventOut, CaseOut, CaseVehicleOut,
                                            EcallAccepted, EmergencyContactOut, NoteIn, ResolveIn, Sla)
from forecourt.core.clock import today
from forecourt.core.db import claim_write
from forecourt.core.i18n import _
from forecourt.core.errors import NotFound
from forecourt.telematics import devices
from forecourt.telematics import ingest as pipeline
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from forecourt.web.api.telemetry import raw_body
from forecourt.web.deps import Agent, DbSession
from forecourt.web.limits import body_truncated
from forecourt.web.openapi import answers

router = APIRouter(prefix="/api", tags=["on call: cases"])

EMERGENCY = "emergency_assistance"


def case_out(case) -> CaseOut:
    return CaseOut.model_validate(case).model_copy(update={"sla": Sla.model_validate(case_service.sla(case))})


def customer_card(*, session, principal, case) -> CaseCustomerOut | None:
    """The owner at the time of the alert (``contacts.customer_card``), unless erased since."""
    card = contacts.customer_card(session=session, principal=principal, case=case,
                                  what=f"On Call case {case.number}")
    if card is None or card[0].erased_at is not None:
        return None
    customer, found = card
    people = [EmergencyContactOut.model_validate(c) for c in found]
    return CaseCustomerOut(id=customer.id, first_name=customer.first_name, last_name=customer.last_name,
                           phone=customer.phone, email=customer.email, language=customer.language,
                           emergency_contacts=people)


def vehicle_card(vehicle) -> CaseVehicleOut:
    return CaseVehicleOut(vin=vehicle.vin, model=vehicle.model_name, trim=vehicle.trim_name,
                          model_year=vehicle.model_year, colour=vehicle.colour, propulsion=vehicle.propulsion,
                          registration=vehicle.registration)


@router.get("/cases", response_model=list[CaseOut])
def list_cases(session: DbSession, principal: Agent):
    """The live queue: open, then acknowledged, then dispatched; by priority, then age."""
    return [case_out(case) for case in case_service.queue(session=session)]


@router.get("/cases/{number}", response_model=CaseDetailOut)
def read_case(number: str, session: DbSession, principal: Agent):
    case = case_service.get_by_number(session=session, number=number)
    vehicle = vehicles_service.get(session=session, vehicle_id=case.vehicle_id)
    subscription = subscription_service.status_of(session=session, vehicle_id=vehicle.id, today=today())
    return CaseDetailOut(case=case_out(case), vehicle=vehicle_card(vehicle),
                         customer=customer_card(session=session, principal=principal, case=case),
                         subscription={k: (str(v) if v is not None and k in ("starts_on", "ends_on") else v)
                                       for k, v in subscription.items()},
                         timeline=[CaseEventOut.model_validate(e)
                                   for e in case_service.timeline(session=session, case=case)])


@router.post("/cases/{number}/acknowledge", response_model=CaseOut)
def acknowledge_case(number: str, session: DbSession, principal: Agent):
    case = case_service.get_by_number(session=session, number=number)
    return case_out(case_service.acknowledge(session=session, principal=principal, case_id=case.id))


@router.post("/cases/{number}/notes", response_model=CaseEventOut, status_code=201)
def add_note(number: str, body: NoteIn, session: DbSession, principal: Agent):
    case = case_service.get_by_number(session=session, number=number)
    return case_service.add_note(session=session, principal=principal, case_id=case.id, text=body.text)


@router.post("/cases/{number}/resolve", response_model=CaseOut)
def resolve_case(number: str, body: ResolveIn, session: DbSession, principal: Agent):
    case = case_service.get_by_number(session=session, number=number)
    return case_out(case_service.resolve(session=session, principal=principal, case_id=case.id,
                                         resolution=body.resolution, note=body.note))


@router.post("/cases/{number}/close", response_model=CaseOut)
def close_case(number: str, session: DbSession, principal: Agent):
    case = case_service.get_by_number(session=session, number=number)
    return case_out(case_service.close(session=session, principal=principal, case_id=case.id))


@router.post("/assist/ecall/{vin}", status_code=201, response_model=EcallAccepted, responses=answers(401),
             openapi_extra={"requestBody": {"required": True, "content": {
                 ecall_intake.MEDIA_TYPE: {"schema": {
                     "type": "string", "format": "binary",
                     "description": "The EN 15722 minimum set of data, ASN.1 unaligned PER, format version 1, 2 "
                                    "or 3, as RFC 8147 carries it"}},
                 "application/json": {"schema": {
                     "description": "Either {\"msd\": \"<the MSD in base64>\"} or the minimum set of data "
                                    "by name: automatic_activation, manual_activation, test_call, "
                                    "position_can_be_trusted, vehicle_type, vin, propulsion, timestamp, "
                                    "position {latitude, longitude}, direction, recent_positions "
                                    "[{latitude, longitude}], number_of_passengers"}}}}})
def ecall(vin: str, request: Request, session: DbSession, body: bytes = Depends(raw_body)):
    """A car's crash or SOS call; its device secret is the bearer token, as for telemetry.

    A known car's eCall is never refused: what cannot be read becomes a problem on the case (and an
    unreadable MSD is kept as received), so an agent still sees the car and calls it."""
    claim_write(session)
    header = request.headers.get("authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else ""
    try:
        device = devices.authenticate(session=session, kind=Source.EMBEDDED, identifier=vin.strip().upper(),
                                      secret=secret)
    except NotFound:
        pipeline.reject(session=session, channel="ecall", device_id=vin[:64], reason="unknown device or wrong secret")
        return JSONResponse(status_code=401, content={"detail": "unknown device or wrong secret"})
    # Never refused for its size: the body limit cut it, and what arrived is read as far as it goes.
    case = ecall_intake.receive(session=session, vehicle_id=device.vehicle_id, vin=device.identifier, body=body,
                                media_type=request.headers.get("content-type"), cut=body_truncated(request))
    return EcallAccepted(case=case.number, status=case.status, problems=list(case.problems))

"""Binding devices to cars: the carmaker registers embedded units and trackers, an owner pairs
their phone. The secret is shown once; only its digest is stored. The owner also locks and unlocks
their connected car from the phone, and follows each command until the car answered."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from forecourt.core.clock import now
from forecourt.core.schemas import Id
from forecourt.parties import service as parties_service
from forecourt.telematics import commands, devices
from forecourt.telematics.readings import Source
from forecourt.telematics.schemas import (CommandOut, DeviceIn, DeviceOut, NewDevice, PairedPhone, PhoneIn,
                                          RejectionCount)
from forecourt.vehicles import service as vehicles_service
from forecourt.web.deps import Admin, AppSettings, DbSession, Me
from forecourt.web.links import phone_server_url

router = APIRouter(tags=["devices"])


def _new(device, secret: str) -> NewDevice:
    return NewDevice(**DeviceOut.model_validate(device).model_dump(), secret=secret)


@router.post("/api/admin/vehicles/{vin}/devices", response_model=NewDevice, status_code=status.HTTP_201_CREATED)
def register_device(vin: str, body: DeviceIn, admin: Admin, session: DbSession):
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    identifier = vehicle.vin if body.kind is Source.EMBEDDED else (body.identifier or "")
    device, secret = devices.register(session=session, kind=body.kind, identifier=identifier,
                                      vehicle_id=vehicle.id, label=body.label)
    parties_service.audit(session=session, actor=admin, action="device.register", target=f"device:{device.id}",
                          details={"kind": device.kind, "vehicle_id": vehicle.id})
    return _new(device, secret)


@router.get("/api/admin/telemetry/rejections", response_model=list[RejectionCount])
def rejections(admin: Admin, session: DbSession):
    return devices.rejection_summary(session=session)


@router.get("/api/me/vehicles/{vin}/devices", response_model=list[DeviceOut])
def my_devices(vin: str, me: Me, session: DbSession):
    vehicle = vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)
    return devices.devices_of(session=session, vehicle_id=vehicle.id)


@router.post("/api/me/vehicles/{vin}/phone", response_model=PairedPhone, status_code=status.HTTP_201_CREATED)
def pair_my_phone(vin: str, body: PhoneIn, me: Me, session: DbSession, request: Request, response: Response):
    """An owner of an older car without connectivity pairs the phone app that will report for it.
    Pairing the same phone again gives a new URL; the old one stops working."""
    vehicle = vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)
    ownership = vehicles_service.current_ownership(session=session, vehicle_id=vehicle.id)
    device, token = devices.pair_phone(session=session, vehicle_id=vehicle.id, identifier=body.identifier,
                                       label=body.label or "Phone app", ownership_id=ownership.id)
    response.headers["Cache-Control"] = "no-store"
    return PairedPhone(**_new(device, token).model_dump(), server_url=phone_server_url(request, token))


@router.delete("/api/me/vehicles/{vin}/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def unpair_my_phone(vin: str, device_id: Id, me: Me, session: DbSession):
    """The phone stops reporting for the car at once (a lost phone, a phone given away)."""
    vehicle = vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)
    devices.unpair(session=session, vehicle_id=vehicle.id, device_id=device_id)


def _command(vin: str, action: str, me, session, settings) -> CommandOut:
    vehicle = vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)
    command = commands.request(session=session, vin=vehicle.vin, action=action, reason="owner:app",
                               deadline=timedelta(seconds=settings.command_deadline_seconds), now=now())
    return CommandOut.model_validate(command)


@router.post("/api/me/vehicles/{vin}/lock", response_model=CommandOut, status_code=status.HTTP_202_ACCEPTED)
def lock_my_car(vin: str, me: Me, session: DbSession, settings: AppSettings):
    """The owner locks their connected car from the phone. Accepted is not done: follow the command
    until the car acknowledged it (or refused it, or did not answer in time)."""
    return _command(vin, "lock", me, session, settings)


@router.post("/api/me/vehicles/{vin}/unlock", response_model=CommandOut, status_code=status.HTTP_202_ACCEPTED)
def unlock_my_car(vin: str, me: Me, session: DbSession, settings: AppSettings):
    """The owner unlocks their connected car from the phone; the answer comes as for ``lock``."""
    return _command(vin, "unlock", me, session, settings)


@router.get("/api/me/vehicles/{vin}/commands/{command_id}", response_model=CommandOut)
def my_command(vin: str, command_id: Id, me: Me, session: DbSession):
    """A command to the owner's car as it stands; another car's, or one of a car they sold, is 404."""
    vehicle = vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)
    return commands.get_for_vehicle(session=session, vehicle_id=vehicle.id, command_id=command_id)

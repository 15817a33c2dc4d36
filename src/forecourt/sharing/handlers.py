"""A command to a shared car that the car refused or never acknowledged is recorded on its trip."""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.core import events
from forecourt.sharing import access
from forecourt.telematics.commands import VehicleCommandFailed

PREFIX = "sharing:"


def on_command_failed(event: VehicleCommandFailed, *, session: Session) -> None:
    if not event.reason.startswith(PREFIX):
        return
    access.command_failed(session=session, reservation_number=event.reason[len(PREFIX):], command_id=event.command_id,
                          action=event.action, why=event.why)


def subscribe_handlers(registry: events.Handlers) -> None:
    registry.subscribe(VehicleCommandFailed, "sharing.command_failed", on_command_failed)

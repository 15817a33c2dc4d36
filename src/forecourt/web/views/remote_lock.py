"""Pages: the owner locks and unlocks their connected car from its page, and sees the car's answer.

A button asks the car (``telematics.commands``, as the phone's JSON API does); the page then shows the
command and follows it (``static/js/remote-lock.js`` asks ``/me/vehicles/{vin}/commands/{id}`` every
second) until the car confirmed, refused, or let the deadline pass. Accepted is never shown as done.
Only the car's current owner may do either: for anybody else the car and its commands do not exist.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _, lazy_gettext
from forecourt.core.schemas import Id
from forecourt.telematics import commands
from forecourt.vehicles import service as vehicles_service
from forecourt.web.deps import AppSettings, DbSession, MePage
from forecourt.web.views.forms import back_to
from forecourt.web.views.render import redirect

router = APIRouter(tags=["pages"])

ASKED = {"lock": lazy_gettext("Lock the car"), "unlock": lazy_gettext("Unlock")}
WAITING = {commands.PENDING: lazy_gettext("Sending to the car…"),
           commands.SENT: lazy_gettext("Sent: waiting for the car to confirm…")}
DONE = {"lock": lazy_gettext("Done: the car confirmed it is locked."),
        "unlock": lazy_gettext("Done: the car confirmed it is unlocked.")}
TIMED_OUT = lazy_gettext("Not acknowledged in time: the car did not confirm, so it may not have done it. "
                         "Check the car, or try again.")
REFUSED = lazy_gettext("The car refused: %(answer)s")
REFUSED_SILENTLY = lazy_gettext("The car refused and gave no reason.")


def _owner_car(session, me, vin: str):
    return vehicles_service.current_car_of(session=session, customer_id=me.customer_id, vin=vin)


def progress(command) -> dict:
    """What the page says about a command: its status, in words, and whether it is over."""
    if command.status in WAITING:
        text, state = str(WAITING[command.status]), "waiting"
    elif command.status == commands.ACKNOWLEDGED:
        text, state = str(DONE.get(command.action, _("Done: the car confirmed."))), "done"
    elif command.status == commands.REFUSED:
        text = str(REFUSED) % {"answer": command.answer} if command.answer else str(REFUSED_SILENTLY)
        state = "failed"
    else:
        text, state = str(TIMED_OUT), "failed"
    return {"id": command.id, "action": command.action, "asked": str(ASKED.get(command.action, command.action)),
            "status": command.status, "state": state, "text": text, "final": state != "waiting",
            "issued_at": as_utc(command.issued_at)}


def shown_command(*, session, vehicle, ownership, command_id: int | None) -> dict | None:
    """The command the page follows (``?command=``): this car's, sent while it is the viewer's."""
    if command_id is None:
        return None
    try:
        command = commands.get_for_vehicle(session=session, vehicle_id=vehicle.id, command_id=command_id)
    except NotFound:
        return None
    if as_utc(command.issued_at) < as_utc(ownership.started_at):
        return None  # a former owner's command is not the new owner's to see
    return progress(command)


def panel(*, session, vehicle, ownership, command_id: int | None, deadline_seconds: int) -> dict | None:
    """The car page's lock and unlock, for a car that can hear them (None: it has no connected unit)."""
    if not commands.reachable(session=session, vehicle_id=vehicle.id):
        return None
    return {"command": shown_command(session=session, vehicle=vehicle, ownership=ownership, command_id=command_id),
            "deadline_seconds": deadline_seconds}


def _ask(vin: str, action: str, me, session, settings):
    vehicle = _owner_car(session, me, vin)
    page = f"/me/vehicles/{vehicle.vin}"
    try:
        with session.begin_nested():
            command = commands.request(session=session, vin=vehicle.vin, action=action, reason="owner:web",
                                       deadline=timedelta(seconds=settings.command_deadline_seconds), now=now())
    except Invalid as problem:
        return back_to(page, error=problem.message)
    return redirect(f"{page}?command={command.id}#remote")


@router.post("/me/vehicles/{vin}/lock")
def lock_car(vin: str, me: MePage, session: DbSession, settings: AppSettings):
    """The owner locks the car; the page then follows the car's answer."""
    return _ask(vin, "lock", me, session, settings)


@router.post("/me/vehicles/{vin}/unlock")
def unlock_car(vin: str, me: MePage, session: DbSession, settings: AppSettings):
    """The owner unlocks the car; the page then follows the car's answer."""
    return _ask(vin, "unlock", me, session, settings)


@router.get("/me/vehicles/{vin}/commands/{command_id}")
def command_progress(vin: str, command_id: Id, me: MePage, session: DbSession):
    """The page's poll: the command as it stands, in the owner's language (a late one reads as timed out)."""
    vehicle = _owner_car(session, me, vin)
    ownership = vehicles_service.current_ownership(session=session, vehicle_id=vehicle.id)
    shown = shown_command(session=session, vehicle=vehicle, ownership=ownership, command_id=command_id)
    if shown is None:
        raise NotFound("Command not found")
    shown["issued_at"] = shown["issued_at"].isoformat()
    return JSONResponse(shown, headers={"Cache-Control": "no-store"})

"""Commands to cars (unlock, lock, a status request) and the car's answer to each.

``request`` writes the command and an outbox row in the caller's transaction; nothing leaves the
process before that commits. The outbox carries it on: a car with its own connected unit gets an
MQTT message on ``vehicles/{VIN}/commands`` (``messaging.notify`` publishes it, QoS 1) and answers
on ``vehicles/{VIN}/commands/ack``, which the ingest worker hands to ``from_mqtt``; a car with an
aftermarket Teltonika tracker gets a Codec 12 command on the tracker's open TCP connection (the
listener takes it, ``due_for_tracker``) and its Codec 12 reply is the answer (``record_answer``).

A command the car does not answer before its deadline is ``timed_out`` — by the worker's schedule
(``expire_due``) or by whoever reads it first (``get``, ``status``) — and ``VehicleCommandFailed``
says so, so the driver and the hub are told; it is never taken as done. An answer that comes after
that is kept (``late_result``) without bringing the command back.

Statuses: ``pending`` (written, not yet handed over), ``sent`` (the broker or the tracker's socket
took it), ``acknowledged``, ``refused``, ``timed_out``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from forecourt.core import events, outbox
from forecourt.core.clock import as_utc
from forecourt.core.clock import now as clock_now
from forecourt.core.config import TRACKER_COMMANDS
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.schemas import LARGEST_ID
from forecourt.telematics.models import Device, VehicleCommand
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service

log = logging.getLogger(__name__)

PENDING, SENT, ACKNOWLEDGED, REFUSED, TIMED_OUT = "pending", "sent", "acknowledged", "refused", "timed_out"
STATUSES = (PENDING, SENT, ACKNOWLEDGED, REFUSED, TIMED_OUT)
OPEN = (PENDING, SENT)
MQTT, TELTONIKA = "mqtt", "teltonika"
OUTBOX_CHANNELS = {MQTT: "mqtt", TELTONIKA: "codec12"}  # the outbox channel each transport is sent on
COMMAND_TOPIC = "vehicles/{vin}/commands"
ACK_TOPIC = "vehicles/+/commands/ack"
LONGEST_DEADLINE = timedelta(hours=1)  # a command is for now: an unlock an hour late is a stranger's unlock
MAX_REASON = 80
_DEDUPE = "vehicle_command:"


@dataclass(frozen=True)
class Action:
    """What a command does. ``tracker_text`` is the Codec 12 command a Teltonika tracker runs for it by
    default (None: trackers cannot do it); ``FORECOURT_TRACKER_COMMANDS`` replaces it where a car's
    lock is wired otherwise (``texts_for_trackers``)."""

    name: str
    tracker_text: str | None = None


ACTIONS: dict[str, Action] = {}


def register_action(name: str, *, tracker_text: str | None = None) -> Action:
    """More actions (a horn, climate) are one line here and one in the car's firmware."""
    action = ACTIONS[name] = Action(name, tracker_text)
    return action


for _name in ("unlock", "lock", "status"):
    register_action(_name, tracker_text=TRACKER_COMMANDS[_name])


def texts_for_trackers(configured: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each action's Codec 12 text: the configured one (``Settings.tracker_commands``, validated there)
    over the registry's default; an action trackers cannot do has none."""
    return {name: (configured or {}).get(name) or action.tracker_text
            for name, action in ACTIONS.items() if action.tracker_text is not None}


# --- events ----------------------------------------------------------------------------------------

@events.durable("telematics.vehicle_command_acknowledged")
@dataclass(frozen=True)
class VehicleCommandAcknowledged:
    command_id: int
    vin: str
    action: str
    reason: str


@events.durable("telematics.vehicle_command_failed")
@dataclass(frozen=True)
class VehicleCommandFailed:
    """``why``: ``refused`` (the car said no; its words are the command's ``answer``) or ``timed_out``."""

    command_id: int
    vin: str
    action: str
    reason: str
    why: str


# --- asking ----------------------------------------------------------------------------------------

def _transport(session: Session, vehicle_id: int, vin: str) -> tuple[str, str]:
    """The car's own connected unit if it has one (MQTT), else its aftermarket tracker (Codec 12)."""
    found = {kind: identifier for kind, identifier in session.execute(
        select(Device.kind, Device.identifier).where(
            Device.vehicle_id == vehicle_id, Device.is_active.is_(True),
            Device.kind.in_((Source.EMBEDDED.value, Source.TRACKER.value))).order_by(Device.id))}
    if Source.EMBEDDED.value in found:
        return MQTT, vin
    if Source.TRACKER.value in found:
        return TELTONIKA, found[Source.TRACKER.value]
    raise Invalid(_("This car has no connected unit that can take remote commands."), field="vin")


def reachable(*, session: Session, vehicle_id: int) -> bool:
    """Whether the car has a connected unit that takes commands: a page offers the buttons only then."""
    return session.scalars(select(Device.id).where(
        Device.vehicle_id == vehicle_id, Device.is_active.is_(True),
        Device.kind.in_((Source.EMBEDDED.value, Source.TRACKER.value))).limit(1)).first() is not None


def request(*, session: Session, vin: str, action: str, reason: str, deadline: timedelta,
            now: datetime) -> VehicleCommand:
    """Asks the car to ``action``; the answer must come within ``deadline`` of ``now``.

    Writes the command and its outbox row; the outbox sender (or the tracker's listener) sends it
    after the commit. ``reason`` says who asked and why ("sharing:reservation:42"). A tracker's row
    records the action: its Codec 12 text depends on how the car is wired (``Settings.tracker_commands``)
    and is rendered by the listener when it sends, so no caller needs to know it."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Invalid(_("Unknown command: %(action)s.", action=action), field="action")
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise Invalid(_("A command needs a short reason (at most %(count)s characters).", count=MAX_REASON),
                      field="reason")
    if not timedelta(0) < deadline <= LONGEST_DEADLINE:
        raise Invalid(_("A command's deadline is more than nothing and at most an hour."), field="deadline")
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    transport, identifier = _transport(session, vehicle.id, vehicle.vin)
    if transport == TELTONIKA and spec.tracker_text is None:  # settings may change a text, never add one
        raise Invalid(_("This car's tracker cannot do that."), field="action")
    command = VehicleCommand(vehicle_id=vehicle.id, vin=vehicle.vin, action=action, reason=reason,
                             transport=transport, device_identifier=identifier, status=PENDING,
                             issued_at=now, expires_at=now + deadline)
    session.add(command)
    session.flush()
    message = outbox.enqueue(
        session=session, customer_id=None, channel=OUTBOX_CHANNELS[transport], topic="vehicle_command",
        subject=(COMMAND_TOPIC.format(vin=vehicle.vin) if transport == MQTT else identifier)[:200],
        body=(mqtt_payload(command).decode() if transport == MQTT else action),
        basis="contract", dedupe_key=f"{_DEDUPE}{command.id}")
    if transport == MQTT:
        outbox.send_now(session, message)  # out right after the commit; the worker retries a failure
    return command


def mqtt_payload(command: VehicleCommand) -> bytes:
    """What the car receives: which command, and until when it may still act on it."""
    return json.dumps({"id": command.id, "action": command.action,
                       "issued_at": as_utc(command.issued_at).isoformat(),
                       "expires_at": as_utc(command.expires_at).isoformat()}, separators=(",", ":")).encode()


def command_id_of(message) -> int | None:
    """The command an outbox row carries."""
    key = getattr(message, "dedupe_key", "") or ""
    return int(key[len(_DEDUPE):]) if key.startswith(_DEDUPE) and key[len(_DEDUPE):].isdigit() else None


# --- reading ---------------------------------------------------------------------------------------

def get(*, session: Session, command_id: int) -> VehicleCommand:
    """The command as it stands; one past its deadline is timed out here if the schedule has not yet."""
    command = session.get(VehicleCommand, command_id)
    if command is None:
        raise NotFound("Command not found")
    _settle(session, command, clock_now())
    return command


def status(*, session: Session, command_id: int) -> str:
    return get(session=session, command_id=command_id).status


def get_for_vehicle(*, session: Session, vehicle_id: int, command_id: int) -> VehicleCommand:
    """A command of this car; another car's does not exist for whoever asks about this one."""
    command = get(session=session, command_id=command_id)
    if command.vehicle_id != vehicle_id:
        raise NotFound("Command not found")
    return command


def commands_of(*, session: Session, vehicle_id: int, limit: int = 20) -> list[VehicleCommand]:
    return list(session.scalars(select(VehicleCommand).where(VehicleCommand.vehicle_id == vehicle_id)
                                .order_by(VehicleCommand.id.desc()).limit(limit)))


# --- outcomes --------------------------------------------------------------------------------------

def _move(session: Session, command: VehicleCommand, *, when: tuple[str, ...], **values) -> bool:
    """Changes the command only if its status is still one of ``when``: a conditional UPDATE, so of two
    racing outcomes (an answer and the timeout, two deliveries of one answer, two readers timing it
    out) exactly one wins on either engine, and only the winner publishes its event."""
    moved = session.execute(update(VehicleCommand).where(VehicleCommand.id == command.id,
                                                          VehicleCommand.status.in_(when))
                            .values(**values).execution_options(synchronize_session=False)).rowcount
    session.refresh(command)
    return moved == 1


def _settle(session: Session, command: VehicleCommand, moment: datetime) -> bool:
    """Times out an open command past its deadline; True if this call did."""
    if command.status not in OPEN or as_utc(command.expires_at) > moment:
        return False
    if not _move(session, command, when=OPEN, status=TIMED_OUT):
        return False
    _close_outbox(session, command, "Not sent: the command timed out.")
    events.publish(session, VehicleCommandFailed(command_id=command.id, vin=command.vin, action=command.action,
                                                 reason=command.reason, why=TIMED_OUT))
    log.info("command %s (%s %s) timed out", command.id, command.action, command.vin)
    return True


def _close_outbox(session: Session, command: VehicleCommand, note: str | None = None) -> None:
    """The command's outbox row is done: it went, or it is no longer worth sending."""
    message = session.scalars(select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.dedupe_key == f"{_DEDUPE}{command.id}")).first()
    if message is not None and message.sent_at is None:
        outbox.mark_sent(message, note=note)
        session.flush()


def expire_due(*, session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """The schedule's job: every open command past its deadline is timed out and reported."""
    moment = now or clock_now()
    overdue = list(session.scalars(select(VehicleCommand).where(
        VehicleCommand.status.in_(OPEN), VehicleCommand.expires_at <= moment)
        .order_by(VehicleCommand.id).limit(limit)))
    return sum(1 for command in overdue if _settle(session, command, moment))


def mark_sent(*, session: Session, command_id: int, now: datetime | None = None) -> bool:
    """The broker or the tracker's socket took it. False if it is no longer waiting to be sent (it
    timed out, or the car answered faster than the broker)."""
    moment = now or clock_now()
    command = session.get(VehicleCommand, command_id)
    if command is None or _settle(session, command, moment) or command.status != PENDING:
        return False
    if not _move(session, command, when=(PENDING,), status=SENT, sent_at=moment):
        return False
    _close_outbox(session, command)
    return True


def still_open(*, session: Session, command_id: int, now: datetime | None = None) -> bool:
    """Worth sending: open and not past its deadline (a late one is timed out here)."""
    command = session.get(VehicleCommand, command_id)
    return command is not None and not _settle(session, command, now or clock_now()) and command.status in OPEN


def record_answer(*, session: Session, command_id: int, device_identifier: str, ok: bool,
                  answer: str | None = None, now: datetime | None = None) -> str:
    """The car's answer: ``recorded``, ``duplicate`` (already answered: nothing changes), ``late``
    (after the deadline: kept, the command stays timed out), or ``unknown`` (no such command for
    this device)."""
    moment = now or clock_now()
    command = session.get(VehicleCommand, command_id) if 0 < command_id <= LARGEST_ID else None
    if command is None or command.device_identifier != device_identifier:
        return "unknown"
    answer = (answer or "")[:2000] or None
    _settle(session, command, moment)
    if command.status == TIMED_OUT:
        late = update(VehicleCommand).where(VehicleCommand.id == command.id, VehicleCommand.late_result.is_(None))
        session.execute(late.values(late_result="ok" if ok else "refused", late_answered_at=moment,
                                    answer=func.coalesce(VehicleCommand.answer, answer))
                        .execution_options(synchronize_session=False))
        session.refresh(command)
        return "late"
    if not _move(session, command, when=OPEN, status=ACKNOWLEDGED if ok else REFUSED, answered_at=moment,
                 answer=answer, sent_at=func.coalesce(VehicleCommand.sent_at, moment)):  # an answer proves it arrived
        return "late" if command.status == TIMED_OUT else "duplicate"
    if ok:
        events.publish(session, VehicleCommandAcknowledged(command_id=command.id, vin=command.vin,
                                                           action=command.action, reason=command.reason))
    else:
        events.publish(session, VehicleCommandFailed(command_id=command.id, vin=command.vin, action=command.action,
                                                     reason=command.reason, why=REFUSED))
    return "recorded"


def from_mqtt(*, session: Session, topic: str, payload: bytes) -> str:
    """An answer on ``vehicles/{VIN}/commands/ack``: ``{"id": 7, "result": "ok"|"refused", "reason": "..."}``.

    Whatever cannot be matched — unreadable, an unknown id, another car's command — is logged and
    written down as a rejection, never raised: the listener keeps going."""
    from forecourt.telematics import ingest as pipeline

    parts = topic.split("/")
    vin = parts[1] if len(parts) == 4 and parts[0] == "vehicles" and parts[2:] == ["commands", "ack"] else None
    try:
        message = json.loads(payload)
        command_id, result = message["id"], message["result"]
        if not isinstance(command_id, int) or isinstance(command_id, bool) or result not in ("ok", "refused"):
            raise ValueError("id must be a number and result 'ok' or 'refused'")
        said = message.get("reason")
        said = str(said)[:2000] if said is not None else None
    except (ValueError, KeyError, TypeError) as error:
        return _ignore(session, pipeline, vin, f"command answer not understood: {error}", payload)
    if vin is None:
        return _ignore(session, pipeline, vin, f"command answer on an unexpected topic {topic}", payload)
    outcome = record_answer(session=session, command_id=command_id, device_identifier=vin, ok=result == "ok",
                            answer=said)
    if outcome == "unknown":
        return _ignore(session, pipeline, vin, f"answer to command {command_id}, which {vin} was never sent", payload)
    if outcome == "late":
        log.info("command %s answered after its deadline (%s); it stays timed out", command_id, result)
    return outcome


def _ignore(session: Session, pipeline, vin: str | None, reason: str, payload: bytes) -> str:
    log.warning("%s", reason)
    pipeline.reject(session=session, channel="mqtt", device_id=vin, reason=reason[:500], excerpt=payload)
    return "ignored"


# --- trackers ----------------------------------------------------------------------------------------

def due_for_tracker(*, session: Session, imei: str, now: datetime | None = None) -> VehicleCommand | None:
    """The oldest command still waiting for this tracker (overdue ones are timed out on the way)."""
    moment = now or clock_now()
    for command in session.scalars(select(VehicleCommand).where(
            VehicleCommand.device_identifier == imei, VehicleCommand.transport == TELTONIKA,
            VehicleCommand.status == PENDING).order_by(VehicleCommand.id).limit(20)):
        if not _settle(session, command, moment):
            return command
    return None


def waiting_for_trackers(*, session: Session, imeis: list[str], now: datetime | None = None,
                         tracker_texts: Mapping[str, str] | None = None) -> dict[str, tuple[int, str]]:
    """For each of these connected trackers, its oldest command still to send: (command id, Codec 12
    text, the configured one if ``tracker_texts`` has it). A read only, so the listener may ask every
    half second; commands past their deadline are left to the schedule (they are not sent)."""
    if not imeis:
        return {}
    moment = now or clock_now()
    texts = texts_for_trackers(tracker_texts)
    found: dict[str, tuple[int, str]] = {}
    for command_id, imei, action in session.execute(select(
            VehicleCommand.id, VehicleCommand.device_identifier, VehicleCommand.action).where(
            VehicleCommand.transport == TELTONIKA, VehicleCommand.status == PENDING,
            VehicleCommand.device_identifier.in_(imeis), VehicleCommand.expires_at > moment)
            .order_by(VehicleCommand.id)):
        text = texts.get(action)
        if imei not in found and text is not None:
            found[imei] = (command_id, text)
    return found


def tracker_text(command: VehicleCommand, tracker_texts: Mapping[str, str] | None = None) -> str:
    text = texts_for_trackers(tracker_texts).get(command.action)
    if text is None:
        raise Invalid(_("This car's tracker cannot do that."), field="action")
    return text

"""How a car changes hands — the only ways it may.

* A dealer hands over its own stock: an online order (``orders.hand_over``) or a sale from stock
  (``sell_from_stock``); the car must be unowned and in that dealer's stock.
* The owner sells it: they start a sale in the portal (``start_sale``) and get a code to give the
  buyer, who accepts with it — a driver in their portal (a private sale, ``accept_as_buyer``) or a
  dealer taking the car in trade (``accept_trade_in``). Nobody else can start one, and without the
  buyer's acceptance nothing moves.
* The carmaker corrects a wrong registration (``correct_owner``), with a reason, in the audit log.

The moment is the server's, except a correction, which may name an earlier one inside the car's
history (``vehicles.service.check_change_moment``). Every change ends the same way
(``_changed_hands``): the phones reporting for the car and any device the previous owner paired stop
reporting as the car, and both owners are told what happened.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core import auth, dates, outbox
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service
from forecourt.sales.codes import ALPHABET
from forecourt.sales.models import OwnershipTransfer
from forecourt.telematics import devices
from forecourt.vehicles import service as vehicles_service

if TYPE_CHECKING:  # annotations only: the objects come from the other domain's service
    from forecourt.vehicles.models import Ownership, Vehicle

CODE_SYMBOLS = 12  # 60 random bits, and the code expires: guessing one is hopeless
CODE_EXAMPLE = "7KQ2-M97X-4HD1"
SALE_DAYS = 14
_READS_AS = {"O": "0", "I": "1", "L": "1"}
MIN_REASON = 10
BASIS = "contract"  # messages about the car's registration: part of the service the owner uses


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))


def display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def _normalise(code: str) -> str:
    candidate = "".join(symbol for symbol in (code or "").upper() if symbol.isalnum())
    candidate = "".join(_READS_AS.get(symbol, symbol) for symbol in candidate)
    if len(candidate) != CODE_SYMBOLS or any(symbol not in ALPHABET for symbol in candidate):
        raise Invalid(_("A sale code has 12 letters and digits, like %(example)s.", example=CODE_EXAMPLE),
                      field="code")
    return candidate


# --- the owner sells ---------------------------------------------------------------------------------

def _own_car(session: Session, customer_id: int, vin: str) -> tuple[Vehicle, Ownership]:
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    ownership = vehicles_service.owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
    if ownership.ended_at is not None:
        raise NotFound("Vehicle not found")
    return vehicle, ownership


def start_sale(*, session: Session, customer_id: int, vin: str) -> tuple[OwnershipTransfer, str]:
    """The owner sells their car: a code for the buyer (shown once; a new one replaces the last)."""
    vehicle, _ownership = _own_car(session, customer_id, vin)
    for waiting in pending_of(session=session, customer_id=customer_id, vehicle_id=vehicle.id):
        waiting.status = "cancelled"
    code = _new_code()
    moment = now()
    transfer = OwnershipTransfer(vehicle_id=vehicle.id, seller_customer_id=customer_id,
                                 code_digest=auth.token_digest(code), status="pending", created_at=moment,
                                 expires_at=moment + timedelta(days=SALE_DAYS))
    session.add(transfer)
    session.flush()
    return transfer, display(code)


def pending_of(*, session: Session, customer_id: int, vehicle_id: int | None = None) -> list[OwnershipTransfer]:
    """The owner's sales still waiting for a buyer."""
    query = select(OwnershipTransfer).where(OwnershipTransfer.seller_customer_id == customer_id,
                                            OwnershipTransfer.status == "pending",
                                            OwnershipTransfer.expires_at > now())
    if vehicle_id is not None:
        query = query.where(OwnershipTransfer.vehicle_id == vehicle_id)
    return list(session.scalars(query.order_by(OwnershipTransfer.created_at.desc())))


def cancel_sale(*, session: Session, customer_id: int, transfer_id: int) -> OwnershipTransfer:
    transfer = session.get(OwnershipTransfer, transfer_id)
    if transfer is None or transfer.seller_customer_id != customer_id:
        raise NotFound("Sale not found")
    if transfer.status != "pending":
        raise Conflict(_("This sale is already %(status)s.", status=transfer.status))
    transfer.status = "cancelled"
    session.flush()
    return transfer


def _waiting(session: Session, code: str) -> OwnershipTransfer:
    """The sale this code opens: pending, not expired, and its seller still owns the car."""
    digest = auth.token_digest(_normalise(code))
    transfer = session.scalars(select(OwnershipTransfer).where(OwnershipTransfer.code_digest == digest)).first()
    if (transfer is None or transfer.status != "pending" or as_utc(transfer.expires_at) <= now()
            or transfer.seller_customer_id is None
            or vehicles_service.current_owner_id(session=session, vehicle_id=transfer.vehicle_id)
            != transfer.seller_customer_id):
        raise NotFound(_("No sale is waiting for this code; ask the seller for a new one."))
    return transfer


def preview(*, session: Session, code: str) -> dict:
    """What the buyer is about to accept: the car, never the seller's name."""
    transfer = _waiting(session, code)
    vehicle = vehicles_service.get(session=session, vehicle_id=transfer.vehicle_id)
    return dict(vehicle=vehicle, expires_at=as_utc(transfer.expires_at), code=display(_normalise(code)))


def accept_as_buyer(*, session: Session, customer_id: int, code: str) -> Ownership:
    """A driver buys the car privately: it is theirs from this moment."""
    transfer = _waiting(session, code)
    if transfer.seller_customer_id == customer_id:
        raise Invalid(_("This is your own car; give the code to the buyer."), field="code")
    previous = vehicles_service.current_ownership(session=session, vehicle_id=transfer.vehicle_id)
    ownership = vehicles_service.transfer(session=session, vehicle_id=transfer.vehicle_id, customer_id=customer_id,
                                          acquisition="private_sale")
    _complete(transfer, "private_sale", ownership.started_at, buyer_customer_id=customer_id)
    _changed_hands(session, transfer.vehicle_id, previous, customer_id, ownership.started_at, how="private_sale")
    return ownership


def accept_trade_in(*, session: Session, principal: Principal, code: str) -> Vehicle:
    """A dealer takes the car in trade: it leaves its owner and joins the dealer's stock."""
    if principal.organization_id is None:
        raise NotFound("Sale not found")
    transfer = _waiting(session, code)
    previous = vehicles_service.end_ownership(session=session, vehicle_id=transfer.vehicle_id,
                                              stock_dealer_id=principal.organization_id)
    _complete(transfer, "trade_in", previous.ended_at, buyer_dealer_id=principal.organization_id)
    _changed_hands(session, transfer.vehicle_id, previous, None, previous.ended_at, how="trade_in")
    return vehicles_service.get(session=session, vehicle_id=transfer.vehicle_id)


def _complete(transfer: OwnershipTransfer, kind: str, at: datetime, *, buyer_customer_id: int | None = None,
              buyer_dealer_id: int | None = None) -> None:
    transfer.status, transfer.kind, transfer.completed_at = "completed", kind, at
    transfer.buyer_customer_id, transfer.buyer_dealer_id = buyer_customer_id, buyer_dealer_id


# --- a dealer's own stock ----------------------------------------------------------------------------

def hand_over_stock(*, session: Session, vehicle_id: int, customer_id: int, dealer_id: int) -> Ownership:
    """The keys of a car from the dealer's stock (or new from the factory) to its buyer, now."""
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    if vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) is not None:
        raise Conflict(_("Car %(vin)s already has an owner; only a car in stock can be handed over.",
                         vin=vehicle.vin), field="vin")
    if vehicle.selling_dealer_id not in (None, dealer_id):
        raise NotFound("Vehicle not found")  # another dealer's stock
    ownership = vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=customer_id,
                                          dealer_id=dealer_id, acquisition="dealer_sale")
    _changed_hands(session, vehicle.id, None, customer_id, ownership.started_at, how="dealer_sale")
    return ownership


def sell_from_stock(*, session: Session, principal: Principal, vehicle_id: int, customer_id: int) -> Ownership:
    """A dealer sells a car it holds in stock (taken in or traded in by this dealer) to a buyer."""
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    if principal.organization_id is None or not vehicles_service.in_stock_of(
            session=session, vehicle=vehicle, dealer_id=principal.organization_id):
        raise NotFound("Vehicle not found")
    return hand_over_stock(session=session, vehicle_id=vehicle.id, customer_id=customer_id,
                           dealer_id=principal.organization_id)


# --- the carmaker's correction -----------------------------------------------------------------------

def correct_owner(*, session: Session, principal: Principal, vin: str, customer_id: int | None, reason: str,
                  at: datetime | None = None) -> Ownership | None:
    """The carmaker puts a wrong registration right: the car to ``customer_id`` (or back to nobody),
    with the reason in the audit log. ``at`` may be earlier than now, inside the car's history."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise Invalid(_("Say why the owner is corrected (at least %(n)s characters).", n=MIN_REASON),
                      field="reason")
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    previous = vehicles_service.current_ownership(session=session, vehicle_id=vehicle.id)
    if customer_id is None:
        if previous is None:
            raise Conflict(_("This car has no owner to take it from."), field="customer_id")
        vehicles_service.end_ownership(session=session, vehicle_id=vehicle.id, at=at)
        ownership, moment = None, previous.ended_at
    else:
        ownership = vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=customer_id,
                                              at=at, acquisition="correction")
        moment = ownership.started_at
    parties_service.audit(session=session, actor=principal, action="ownership.correct", target=f"vehicle:{vehicle.vin}",
                          details={"from_customer_id": previous.customer_id if previous else None,
                                   "to_customer_id": customer_id, "at": moment.isoformat(), "reason": reason})
    _changed_hands(session, vehicle.id, previous, customer_id, moment, how="correction", reason=reason)
    return ownership


# --- after every change ------------------------------------------------------------------------------

def _changed_hands(session: Session, vehicle_id: int, previous: Ownership | None, new_owner: int | None,
                   at: datetime, *, how: str, reason: str | None = None) -> None:
    """The previous owner's devices stop reporting as the car; both owners are told what happened
    (a driver who bought from a dealer's stock knows already, unless devices were unpaired)."""
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    gone = devices.unpair_for_new_owner(session=session, vehicle_id=vehicle_id,
                                        ownership_id=previous.id if previous is not None else None)
    seller = previous.customer_id if previous is not None else None
    car = f"{vehicle.model_name} ({vehicle.vin})"
    marker = f"{vehicle_id}:{as_utc(at).isoformat()}"
    if seller is not None:
        with outbox.written_for(session, customer_id=seller):  # each owner reads it in their own language
            day = dates.format_date(as_utc(at), "long")
            body = _what_the_seller_hears(how, day, reason)
            if gone:
                body += " " + _("These devices of yours no longer report as the car: %(names)s.", names=", ".join(
                    f"{d['label'] or d['kind']} ({d['identifier']})" for d in gone))
            _tell(session, seller, _("Your %(car)s is no longer registered to you", car=car), body,
                  f"ownership:{marker}:seller:{seller}", "/me")
    if new_owner is not None and (gone or how == "correction"):
        with outbox.written_for(session, customer_id=new_owner):
            day = dates.format_date(as_utc(at), "long")
            body = (_("The carmaker registered the car to you from %(day)s: %(reason)s", day=day, reason=reason)
                    if how == "correction" else _("The car is registered to you since %(day)s.", day=day))
            if gone:
                body += " " + _("The previous owner's phones and devices no longer report as the car; pair your "
                                "own phone on the car's page.")
            _tell(session, new_owner, _("Your %(car)s is registered to you", car=car), body,
                  f"ownership:{marker}:buyer:{new_owner}", f"/me/vehicles/{vehicle.vin}")


def _what_the_seller_hears(how: str, day: str, reason: str | None) -> str:
    if how == "private_sale":
        return _("The buyer accepted your sale: since %(day)s the car is theirs.", day=day)
    if how == "trade_in":
        return _("The dealer took the car in trade: since %(day)s it is in the dealer's stock.", day=day)
    return _("The carmaker corrected the car's registration from %(day)s: %(reason)s", day=day, reason=reason)


def _tell(session: Session, customer_id: int, subject: str, body: str, key: str, link: str) -> None:
    for channel in ("in_app", "email"):
        outbox.enqueue(session=session, customer_id=customer_id, channel=channel, topic="ownership",
                       subject=subject, body=body, basis=BASIS, dedupe_key=f"{key}:{channel}", link=link)


# --- export and erasure ------------------------------------------------------------------------------

def of_customer(*, session: Session, customer_id: int) -> list[OwnershipTransfer]:
    """The sales the person started or accepted (for "download my data")."""
    return list(session.scalars(select(OwnershipTransfer).where(
        (OwnershipTransfer.seller_customer_id == customer_id) | (OwnershipTransfer.buyer_customer_id == customer_id))
        .order_by(OwnershipTransfer.id)))


def erase_customer(*, session: Session, customer_id: int) -> int:
    """A waiting sale of the person ends with them; completed ones stay in the car's history, unlinked."""
    found = of_customer(session=session, customer_id=customer_id)
    for transfer in found:
        if transfer.status == "pending":
            transfer.status = "cancelled"
        if transfer.seller_customer_id == customer_id:
            transfer.seller_customer_id = None
        if transfer.buyer_customer_id == customer_id:
            transfer.buyer_customer_id = None
    session.flush()
    return len(found)

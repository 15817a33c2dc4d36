"""The admin audit trail as a person reads it: names instead of ``organization:14``, the action in
words, and each change as what it was and what it became.

The stored rows stay as written (codes and ids, which the API returns); only their reading is
translated, so a renamed organization shows its current name beside the change that renamed it.
Amounts, shares, days and moments are stored as plain strings (the API's form); they are read here as
the viewer writes them: money with its currency by Babel, days in the reader's words, moments on the
viewer's clock.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import ROLE_LABELS
from forecourt.core.dates import format_date, format_datetime, format_number, format_percent
from forecourt.core.i18n import N_, _, Labels, gettext
from forecourt.core.money import Money, format_money
from forecourt.parties.models import Organization, User
from forecourt.parties.service import list_audit

ACTIONS = Labels({
    "organization.create": N_("Organization created"), "organization.update": N_("Organization changed"),
    "organization.dispatch_webhook": N_("Dispatch webhook set"),
    "organization.dispatch_webhook_removed": N_("Dispatch webhook removed"),
    "user.create": N_("Staff login created"), "user.update": N_("Staff login changed"),
    "commission_rule.create": N_("Commission rule created"), "commission_rule.change": N_("Commission rule changed"),
    "commission_rule.retire": N_("Commission rule retired"), "device.register": N_("Device registered"),
    "ownership.correct": N_("Ownership corrected"), "recall.open": N_("Recall opened"),
    "warranty_terms.set": N_("Warranty terms set"), "event.replay": N_("Event sent again"),
    "message.replay": N_("E-mail sent again"), "payment.receipt": N_("Payment received"),
    "payment.reversal": N_("Payment reversed"), "payment.refund": N_("Payment refunded"),
    "payment.authorisation": N_("Card payment authorised"), "payment.capture": N_("Card payment captured"),
    "payment.release": N_("Card payment released"),
})
FIELDS = Labels({
    "name": N_("Name"), "display_name": N_("Name"), "email": N_("E-mail"), "phone": N_("Phone"),
    "street": N_("Street"), "postcode": N_("Postcode"), "city": N_("City"), "country": N_("Country"),
    "is_active": N_("Active"), "opening_hours": N_("Opening hours"), "service_bays": N_("Service bays"),
    "role": N_("Role"), "organization_id": N_("Organization"), "time_zone": N_("Time zone"),
    "latitude": N_("Latitude"), "longitude": N_("Longitude"), "code": N_("Code"), "password": N_("Password"),
    "language": N_("Language"), "dispatch_capacity": N_("Cases at once"), "amount": N_("Amount"),
    "fixed": N_("Amount per car"), "percent": N_("Share"), "valid_from": N_("From"), "retired_on": N_("Until"),
    "kind": N_("Kind"), "note": N_("Note"), "reason": N_("Reason"), "affected": N_("Cars affected"),
    "remedied": N_("Remedied"), "notified": N_("Owners told"), "open": N_("Still open"),
    "superseded_by": N_("Superseded by"), "dealer_id": N_("Dealer"), "model_id": N_("Model"),
    "entry": N_("Ledger entry"), "subject": N_("For"),
})
CODES = frozenset({"kind", "outcome"})  # stored codes whose words are in the catalogues
# Values stored as strings that are money (beside a ``currency``), a share in percent, a day or a moment.
MONEY = frozenset({"amount", "fixed", "price", "deposit", "total"})
PERCENT = frozenset({"percent"})
COUNTS = frozenset({"affected", "remedied", "open", "notified", "owner_unknown", "service_bays", "dispatch_capacity"})
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _target_id(target: str, kind: str) -> int | None:
    found, _sep, ident = target.partition(":")
    return int(ident) if found == kind and ident.isdigit() else None


def _names(session: Session, model, ids: set[int], column) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(model.id, column).where(model.id.in_(ids))).all())


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _moment(value: str) -> datetime | None:
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)  # stored moments are UTC


def _shown(field: str, value, organizations: dict[int, str], currency: str | None = None) -> str:
    """One stored value as the viewer reads it; ``currency`` is the one written beside an amount."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field in ("organization_id", "dealer_id") and isinstance(value, int):
        return organizations.get(value, f"#{value}")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if field in MONEY and (amount := _decimal(value)) is not None:
        return format_money(Money.of(amount, currency)) if currency else format_number(amount, 2)
    if field in PERCENT and (share := _decimal(value)) is not None:
        return format_percent(share / 100, max(0, -share.normalize().as_tuple().exponent))  # 2.50 -> "2.5%"
    if field == "role" and value in ROLE_LABELS:
        return gettext(ROLE_LABELS[value].message)
    if field in CODES and isinstance(value, str):
        return gettext(value.replace("_", " "))
    if field in COUNTS and isinstance(value, int):
        return format_number(value)  # ids stay as they are: 1234, never "1,234"
    if isinstance(value, str) and _DAY.match(value):
        try:
            return format_date(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, str) and _MOMENT.match(value) and (moment := _moment(value)) is not None:
        return format_datetime(moment)
    return str(value)


def _changes(details: dict) -> dict:
    """``changes`` ({field: [before, after]}), or a ``before``/``after`` pair of snapshots made into one."""
    changes = details.pop("changes", None) or {}
    before, after = details.get("before"), details.get("after")
    if not changes and isinstance(before, dict) and isinstance(after, dict):
        details.pop("before"), details.pop("after")
        changes = {key: [before.get(key), after.get(key)] for key in after if before.get(key) != after.get(key)}
        details.setdefault("currency", after.get("currency") or before.get("currency"))
    return changes


def entries(*, session: Session, limit: int, offset: int = 0) -> list[dict]:
    """Audit rows, newest first, each with its actor, target and changes in words."""
    rows = list_audit(session=session, limit=limit, offset=offset)
    user_ids = {r.actor_user_id for r in rows if r.actor_user_id is not None}
    user_ids |= {i for r in rows if (i := _target_id(r.target, "user")) is not None}
    organization_ids = {i for r in rows if (i := _target_id(r.target, "organization")) is not None}
    for r in rows:
        details = r.details or {}
        mentioned = [details.get("organization_id"), details.get("dealer_id"),
                     *((details.get("changes") or {}).get("organization_id") or [])]
        organization_ids |= {v for v in mentioned if isinstance(v, int)}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    organizations = _names(session, Organization, organization_ids, Organization.name)
    out = []
    for row in rows:
        details = dict(row.details or {})
        changes = _changes(details)
        if changes:
            details.pop("fields", None)  # the changes name them, with their values
        currency = details.pop("currency", None) if isinstance(details.get("currency"), str) else None
        changes.pop("currency", None)
        actor = users.get(row.actor_user_id)
        target = {"text": row.target, "href": None}
        if (ident := _target_id(row.target, "organization")) is not None:
            target = {"text": organizations.get(ident, row.target), "href": f"/admin/organizations/{ident}"}
        elif (ident := _target_id(row.target, "user")) is not None and ident in users:
            target = {"text": f"{users[ident].display_name} <{users[ident].email}>", "href": None}
        out.append({
            "id": row.id, "at": row.at, "code": row.action, "action": ACTIONS.get(row.action, row.action),
            "actor": ({"name": actor.display_name, "email": actor.email} if actor else None), "target": target,
            "changes": [{"field": FIELDS.get(field, field),
                         "before": _shown(field, pair[0], organizations, currency),
                         "after": _shown(field, pair[1], organizations, currency)}
                        for field, pair in changes.items() if isinstance(pair, list) and len(pair) == 2],
            "details": [(FIELDS.get(key, key), _shown(key, value, organizations, currency))
                        for key, value in details.items() if value not in (None, "")],
        })
    return out

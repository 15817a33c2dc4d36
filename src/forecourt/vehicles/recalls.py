"""Recalls: the carmaker's campaigns, the cars they affect, the owners who must hear of them, and the
remedy each dealer carries out.

A recall rests on a legal obligation, not on consent: every current owner is told (an e-mail and a
message in the portal) whatever their marketing choices, and reading their contact for it is written
to their access log under ``safety_recalls`` with the campaign code. Messages go through the outbox,
so they are written in the same transaction as the campaign and sent afterwards; the e-mail address is
looked up at send time, which keeps an erased owner from ever being written to.

Matching is set-based: one query per scope, whatever the number of cars.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, case, func, insert, select, update
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import dates, events
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _, lazy_gettext, use_locale
from forecourt.core.outbox import OutboxMessage, enqueue, languages_of
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.events import RecallMatched
from forecourt.vehicles.models import (RecallCampaign, RecallScope, RecallVehicle, ServiceRecord, Trim, Vehicle,
                                       VehicleModel)

SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_WORDS = {"critical": lazy_gettext("Critical: stop driving until fixed"), "high": lazy_gettext("High"),
                  "medium": lazy_gettext("Medium"), "low": lazy_gettext("Low")}
PURPOSE = "safety_recalls"
CHANNELS = ("email", "in_app")
REMEDIED = "remedied"
BOOKED = "booked"  # the owner booked the fix: not reminded meanwhile


# --- campaigns and scopes ------------------------------------------------------------------------

def _date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(_("'%(value)s' is not a date; write it as 2024-03-31.", value=value), field=field) from None


def _scope_row(session: Session, spec: dict, position: int) -> RecallScope:
    """One scope from the form or API, checked: a scope with no limit would recall every car ever built."""
    where = f"scopes.{position}"
    unknown = set(spec) - {"model_code", "trim_code", "vin_from", "vin_to", "produced_from", "produced_to"}
    if unknown:
        raise Invalid(_("Scope %(value)s has unknown fields: %(values)s.", value=position + 1, values=', '.join(sorted(unknown))), field=where)
    values = {key: (str(value).strip() if isinstance(value, str) else value) or None for key, value in spec.items()}
    if not any(values.values()):
        raise Invalid(_("Scope %(value)s has no limit: give a model, a trim, a VIN range or production dates, or it would recall every car.", value=position + 1), field=where)
    scope = RecallScope()
    if values.get("model_code"):
        model = session.scalars(select(VehicleModel).where(VehicleModel.code == values["model_code"].upper())).first()
        if model is None:
            raise Invalid(_("There is no model '%(model_code)s' in the catalogue.", model_code=values['model_code']), field=f"{where}.model_code")
        scope.model_id = model.id
    if values.get("trim_code"):
        trim = session.scalars(select(Trim).where(Trim.code == values["trim_code"].upper())).first()
        if trim is None:
            raise Invalid(_("There is no trim '%(trim_code)s' in the catalogue.", trim_code=values['trim_code']), field=f"{where}.trim_code")
        if scope.model_id is not None and trim.model_id != scope.model_id:
            raise Invalid(_("Trim %(code)s is not a %(upper)s; check the model or the trim.", code=trim.code, upper=values['model_code'].upper()),
                          field=f"{where}.trim_code")
        scope.trim_id = trim.id
    for end in ("vin_from", "vin_to"):
        if values.get(end):
            try:
                setattr(scope, end, vehicles_service.normalise_vin(values[end]))
            except Invalid as error:
                raise Invalid(_("Scope %(value)s, %(replace)s: %(message)s", value=position + 1, replace=end.replace('_', ' '), message=error.message),
                              field=f"{where}.{end}") from None
    if scope.vin_from and scope.vin_to and _serial(scope.vin_from) > _serial(scope.vin_to):
        raise Invalid(_("Scope %(value)s: the VIN range ends before it starts (%(vin_from)s comes after %(vin_to)s).", value=position + 1, vin_from=scope.vin_from, vin_to=scope.vin_to), field=f"{where}.vin_to")
    scope.produced_from = _date(values.get("produced_from"), f"{where}.produced_from")
    scope.produced_to = _date(values.get("produced_to"), f"{where}.produced_to")
    if scope.produced_from and scope.produced_to and scope.produced_from > scope.produced_to:
        raise Invalid(_("Scope %(value)s: production ends (%(produced_to)s) before it starts (%(produced_from)s).", value=position + 1, produced_to=scope.produced_to, produced_from=scope.produced_from), field=f"{where}.produced_to")
    return scope


def _serial(vin: str) -> str:
    """A VIN without its check digit (position 9), which is noise for ranges: consecutive cars differ there."""
    return vin[:8] + vin[9:]


def _vin_serial_column():
    return func.substr(Vehicle.vin, 1, 8, type_=String) + func.substr(Vehicle.vin, 10, 8, type_=String)


def _scope_query(scope: RecallScope):
    query = select(Vehicle.id)
    if scope.model_id is not None:
        query = query.join(Trim, Trim.id == Vehicle.trim_id).where(Trim.model_id == scope.model_id)
    if scope.trim_id is not None:
        query = query.where(Vehicle.trim_id == scope.trim_id)
    if scope.vin_from:
        query = query.where(_vin_serial_column() >= _serial(scope.vin_from))
    if scope.vin_to:
        query = query.where(_vin_serial_column() <= _serial(scope.vin_to))
    if scope.produced_from:
        query = query.where(Vehicle.production_date >= scope.produced_from)
    if scope.produced_to:
        query = query.where(Vehicle.production_date <= scope.produced_to)
    return query


def matching_vehicle_ids(*, session: Session, scopes: list[RecallScope]) -> set[int]:
    """Every car any scope covers: one query per scope."""
    found: set[int] = set()
    for scope in scopes:
        found.update(session.scalars(_scope_query(scope)))
    return found


def preview(*, session: Session, scopes: list[dict]) -> int:
    """How many cars these scopes would recall (the form shows it before the campaign opens)."""
    if not scopes:
        raise Invalid(_("Give at least one scope: a model, a trim, a VIN range or production dates."), field="scopes")
    rows = [_scope_row(session, spec, i) for i, spec in enumerate(scopes)]
    return len(matching_vehicle_ids(session=session, scopes=rows))


def get_campaign(*, session: Session, code: str) -> RecallCampaign:
    campaign = session.scalars(select(RecallCampaign).where(RecallCampaign.code == (code or "").strip().upper())).first()
    if campaign is None:
        raise NotFound("Recall campaign not found")
    return campaign


def scopes_of(*, session: Session, campaign_id: int) -> list[RecallScope]:
    return list(session.scalars(select(RecallScope).where(RecallScope.campaign_id == campaign_id)
                                .order_by(RecallScope.id)))


def open_campaign(*, session: Session, principal: Principal, code: str, title: str, description: str = "",
                  remedy: str, severity: str, labour_minutes: int = 60, scopes: list[dict],
                  notify: bool = True) -> dict:
    """Opens the campaign, finds the affected cars and (unless ``notify`` is off) tells their owners."""
    code = (code or "").strip().upper()
    if not code:
        raise Invalid(_("Give the campaign a code, e.g. RC-2025-014."), field="code")
    if severity not in SEVERITIES:
        raise Invalid(_("Severity is one of %(values)s.", values=', '.join(SEVERITIES)), field="severity")
    if not 1 <= int(labour_minutes) <= 24 * 60:
        raise Invalid(_("The remedy takes between 1 minute and 24 hours of labour."), field="labour_minutes")
    if not (title or "").strip():
        raise Invalid(_("Give the campaign a title owners will understand."), field="title")
    if not (remedy or "").strip():
        raise Invalid(_("Say what the workshop does to fix it."), field="remedy")
    if not scopes:
        raise Invalid(_("Give at least one scope: a model, a trim, a VIN range or production dates."), field="scopes")
    if session.scalars(select(RecallCampaign.id).where(RecallCampaign.code == code)).first():
        raise Conflict(_("There is already a campaign %(code)s.", code=code), field="code")
    scope_rows = [_scope_row(session, spec, i) for i, spec in enumerate(scopes)]
    campaign = RecallCampaign(code=code, title=title.strip(), description=(description or "").strip(),
                              remedy=remedy.strip(), severity=severity, labour_minutes=int(labour_minutes),
                              opened_at=now())
    session.add(campaign)
    session.flush()
    for scope in scope_rows:
        scope.campaign_id = campaign.id
        session.add(scope)
    session.flush()
    affected = match(session=session, campaign=campaign)
    result = {"campaign": campaign, "affected": affected, "notified": 0, "owner_unknown": 0}
    if notify:
        result |= notify_owners(session=session, principal=principal, campaign=campaign)
    return result


def match(*, session: Session, campaign: RecallCampaign) -> int:
    """Adds the cars the scopes cover and are not yet in the campaign; returns how many it affects."""
    found = matching_vehicle_ids(session=session, scopes=scopes_of(session=session, campaign_id=campaign.id))
    known = set(session.scalars(select(RecallVehicle.vehicle_id).where(RecallVehicle.campaign_id == campaign.id)))
    new = sorted(found - known)
    for start in range(0, len(new), 5000):
        session.execute(insert(RecallVehicle), [dict(campaign_id=campaign.id, vehicle_id=v, state="open")
                                                for v in new[start:start + 5000]])
    session.flush()
    if new:
        events.publish(session, RecallMatched(campaign_id=campaign.id, code=campaign.code, added=len(new)))
    return len(found | known)


# --- owners and notices --------------------------------------------------------------------------

def owners_to_notify(*, session: Session, campaign: RecallCampaign) -> dict:
    """The current owner of each affected car not yet remedied. A resold car reaches its new owner; a car
    whose owner was erased (or that was never sold) has nobody to reach: "owner unknown"."""
    rows = session.execute(select(RecallVehicle.vehicle_id, Vehicle.vin)
                           .join(Vehicle, Vehicle.id == RecallVehicle.vehicle_id)
                           .where(RecallVehicle.campaign_id == campaign.id, RecallVehicle.state != REMEDIED)).all()
    owners = vehicles_service.current_owners(session=session, vehicle_ids=[v for v, _ in rows])
    reach = [(vehicle_id, vin, owners[vehicle_id]) for vehicle_id, vin in rows if vehicle_id in owners]
    return {"owners": reach, "owner_unknown": [vehicle_id for vehicle_id, _ in rows if vehicle_id not in owners]}


def _titles(session: Session, vehicle_ids: list[int]) -> dict[int, str]:
    titles: dict[int, str] = {}
    for start in range(0, len(vehicle_ids), 5000):
        titles.update((vehicle_id, f"{year} {name}") for vehicle_id, year, name in session.execute(
            select(Vehicle.id, Vehicle.model_year, VehicleModel.name).join(Trim, Trim.id == Vehicle.trim_id)
            .join(VehicleModel, VehicleModel.id == Trim.model_id).where(Vehicle.id.in_(vehicle_ids[start:start + 5000]))))
    return titles


def notice_text(campaign: RecallCampaign, *, title: str, vin: str) -> tuple[str, str]:
    """Subject and body in plain words: what is wrong, the risk, the fix, and where to get it.

    In the current language (the owner's: ``use_locale`` around the call); the campaign's own title,
    description and remedy are the carmaker's words, quoted as written."""
    subject = _("Safety recall for your %(car)s: %(title)s", car=title, title=campaign.title)[:200]
    body = "\n\n".join(part for part in (
        _("Your %(car)s (VIN %(vin)s) is part of safety recall %(code)s.", car=title, vin=vin, code=campaign.code),
        _("What is wrong: %(title)s.", title=campaign.title),
        _("The risk: %(description)s", description=campaign.description) if campaign.description else "",
        _("How serious it is: %(severity)s.", severity=str(SEVERITY_WORDS[campaign.severity])),
        _("The fix: %(remedy)s It takes about %(minutes)s minutes and costs you nothing.", remedy=campaign.remedy,
          minutes=campaign.labour_minutes),
        _("Book it at any dealer of the network: they all carry out this recall."),
        _("We tell you this because the law requires it, whatever your marketing choices."),
    ) if part)
    return subject, body


def notify_owners(*, session: Session, principal: Principal, campaign: RecallCampaign) -> dict:
    """An e-mail and a portal message to each current owner, once per campaign, car, owner and channel.

    Safe to run again (after a resale, say): messages already written are not written twice, and the
    new owner of a resold car is reached."""
    found = owners_to_notify(session=session, campaign=campaign)
    reach = found["owners"]
    if reach:
        consent_service.log_access(session=session, principal=principal, customer_ids=sorted({c for _, _, c in reach}),
                                   purpose=consent_service.get_purpose(session=session, code=PURPOSE),
                                   what="contact and car, for a recall notice", reference=campaign.code)
    prefix = f"recall:{campaign.code}:"
    written = set(session.scalars(select(OutboxMessage.dedupe_key)
                                  .where(OutboxMessage.dedupe_key.startswith(prefix, autoescape=True))))
    titles = _titles(session, [vehicle_id for vehicle_id, _, _ in reach])
    languages = languages_of(session, customer_ids=sorted({c for _, _, c in reach}))
    rows, notified = [], []
    for vehicle_id, vin, customer_id in reach:
        with use_locale(languages.get(customer_id)):
            subject, body = notice_text(campaign, title=titles.get(vehicle_id, _("car")), vin=vin)
        for channel in CHANNELS:
            key = f"{prefix}{vehicle_id}:{customer_id}:{channel}"
            if key not in written:
                rows.append(dict(customer_id=customer_id, channel=channel, topic="recall", subject=subject, body=body,
                                 link=f"/me/vehicles/{vin}", basis="legal_obligation", dedupe_key=key, attempts=0,
                                 created_at=now()))
        notified.append(vehicle_id)
    for start in range(0, len(rows), 5000):
        session.execute(insert(OutboxMessage), rows[start:start + 5000])
    moment = now()
    for start in range(0, len(notified), 5000):
        session.execute(update(RecallVehicle).where(
            RecallVehicle.campaign_id == campaign.id, RecallVehicle.state == "open",
            RecallVehicle.vehicle_id.in_(notified[start:start + 5000])).values(state="notified", notified_at=moment))
    session.flush()
    return {"notified": len(notified), "owner_unknown": len(found["owner_unknown"]), "messages": len(rows)}


def remind_owners(*, session: Session, every_days: int = 30, at_most: int = 3) -> dict:
    """Reminds the current owner of each notified car still not remedied, ``every_days`` after the last
    notice, ``at_most`` times (for the worker's schedule; running it twice a day changes nothing).

    A car booked in for the fix is not reminded; a resold car's reminder reaches its new owner. The
    basis is the legal obligation of the recall, logged under ``safety_recalls`` like the notice."""
    due_before = now() - timedelta(days=every_days)
    last_told = func.coalesce(RecallVehicle.reminded_at, RecallVehicle.notified_at)
    rows = session.execute(select(RecallVehicle, Vehicle.vin, RecallCampaign).join(
        Vehicle, Vehicle.id == RecallVehicle.vehicle_id).join(RecallCampaign, RecallCampaign.id == RecallVehicle.campaign_id)
        .where(RecallVehicle.state == "notified", RecallVehicle.reminders < at_most, last_told <= due_before,
               RecallCampaign.closed_at.is_(None)).order_by(RecallVehicle.id)).all()
    owners = vehicles_service.current_owners(session=session, vehicle_ids=[row.vehicle_id for row, _, _ in rows])
    titles = _titles(session, sorted(owners))
    languages = languages_of(session, customer_ids=sorted(set(owners.values())))
    reminded: dict[str, list[int]] = {}
    for row, vin, campaign in rows:
        customer_id = owners.get(row.vehicle_id)
        if customer_id is None:
            continue  # nobody to reach (erased, or the car went back to the trade)
        row.reminders += 1
        row.reminded_at = now()
        with use_locale(languages.get(customer_id)):
            subject, body = notice_text(campaign, title=titles.get(row.vehicle_id, _("car")), vin=vin)
            subject = _("Reminder: %(subject)s", subject=subject)[:200]
        for channel in CHANNELS:
            enqueue(session=session, customer_id=customer_id, channel=channel, topic="recall_reminder",
                    subject=subject, body=body, link=f"/me/vehicles/{vin}",
                    basis="legal_obligation",
                    dedupe_key=f"recall:{campaign.code}:{row.vehicle_id}:{customer_id}:reminder{row.reminders}:{channel}")
        reminded.setdefault(campaign.code, []).append(customer_id)
    if reminded:
        purpose = consent_service.get_purpose(session=session, code=PURPOSE)
        principal = Principal(user_id=None, role=Role.CARMAKER_ADMIN, display_name="Recall reminders",
                              organization_id=parties_service.carmaker(session=session).id)
        for code, customer_ids in reminded.items():
            consent_service.log_access(session=session, principal=principal, customer_ids=sorted(set(customer_ids)),
                                       purpose=purpose, what="contact and car, for a recall reminder", reference=code)
    session.flush()
    return {"reminded": sum(len(ids) for ids in reminded.values())}


# --- remedies, flags, progress -------------------------------------------------------------------

def _affected(session: Session, campaign: RecallCampaign, vehicle: Vehicle) -> RecallVehicle:
    row = session.scalars(select(RecallVehicle).where(RecallVehicle.campaign_id == campaign.id,
                                                      RecallVehicle.vehicle_id == vehicle.id)).first()
    if row is None:
        raise Invalid(_("Car %(vin)s is not affected by recall %(code)s; nothing to remedy.", vin=vehicle.vin, code=campaign.code), field="vin")
    return row


def record_remedy(*, session: Session, principal: Principal, campaign_code: str, vin: str, performed_on: date,
                  odometer_km: int) -> ServiceRecord:
    """The dealer carried out the recall work: a service record on the car, and the car counts as remedied."""
    if principal.organization_id is None:
        raise NotFound("Recall campaign not found")
    campaign = get_campaign(session=session, code=campaign_code)
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    row = _affected(session, campaign, vehicle)
    if campaign.closed_at is not None:
        raise Conflict(_("Recall %(code)s was closed on %(day)s; it takes no more remedies.", code=campaign.code,
                         day=dates.format_date(campaign.closed_at)), field="code")
    if row.state == REMEDIED:
        dealer = parties_service.get_organization(session=session, organization_id=row.remedied_by_dealer_id).name \
            if row.remedied_by_dealer_id else "a dealer"
        raise Conflict(_("Car %(vin)s was already remedied for %(code)s on %(remedied_at)s by %(dealer)s.", vin=vehicle.vin, code=campaign.code, remedied_at=dates.format_date(row.remedied_at), dealer=dealer), field="vin")
    today = now().date()
    if performed_on > today:
        raise Invalid(_("The work cannot be recorded for a day that has not come yet."), field="performed_on")
    if performed_on < campaign.opened_at.date():
        raise Invalid(_("Recall %(code)s opened on %(opened_at)s; work done before that is not its remedy.", code=campaign.code, opened_at=dates.format_date(campaign.opened_at)), field="performed_on")
    record = vehicles_service.add_service_record(
        session=session, vehicle_id=vehicle.id, dealer_id=principal.organization_id, performed_on=performed_on,
        odometer_km=odometer_km, kind="recall", summary=f"Recall {campaign.code}: {campaign.title}",
        operations=[campaign.remedy], total_cost=0)
    record.recall_campaign_id = campaign.id
    row.state, row.remedied_by_dealer_id = REMEDIED, principal.organization_id
    row.remedied_at = now() if performed_on == today else datetime.combine(performed_on, time(12), tzinfo=UTC)
    session.flush()
    return record


def mark_booked(*, session: Session, campaign_id: int, vehicle_id: int) -> None:
    """The car's fix is booked: it is not reminded meanwhile (``remind_owners`` reminds notified cars)."""
    session.execute(update(RecallVehicle).where(
        RecallVehicle.campaign_id == campaign_id, RecallVehicle.vehicle_id == vehicle_id,
        RecallVehicle.state.in_(("open", "notified"))).values(state=BOOKED))


def unmark_booked(*, session: Session, campaign_ids: list[int], vehicle_id: int) -> None:
    """The booking of the fix was cancelled: reminders resume (or the first notice, if none went yet)."""
    session.execute(update(RecallVehicle).where(
        RecallVehicle.vehicle_id == vehicle_id, RecallVehicle.state == BOOKED,
        RecallVehicle.campaign_id.in_(list(campaign_ids)))
        .values(state=case((RecallVehicle.notified_at.is_not(None), "notified"), else_="open")))


def open_recalls_for(*, session: Session, vehicle_id: int) -> list[RecallCampaign]:
    """The open campaigns a car still needs (for check-in flags, the owner's car page and the advisor's brief)."""
    order = {severity: i for i, severity in enumerate(SEVERITIES)}
    found = session.scalars(select(RecallCampaign).join(RecallVehicle, RecallVehicle.campaign_id == RecallCampaign.id)
                            .where(RecallVehicle.vehicle_id == vehicle_id, RecallVehicle.state != REMEDIED,
                                   RecallCampaign.closed_at.is_(None)))
    return sorted(found, key=lambda c: (order.get(c.severity, 9), c.opened_at))


def check_in_flags(*, session: Session, vin: str) -> list[dict]:
    """What any workshop must know when the car arrives; the car only, never its owner."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    return [{"campaign_code": c.code, "title": c.title, "severity": c.severity, "remedy": c.remedy,
             "labour_minutes": c.labour_minutes,
             "message": _("This car has an open recall: %(title)s (%(severity)s)", title=c.title,
                          severity=_(c.severity))}
            for c in open_recalls_for(session=session, vehicle_id=vehicle.id)]


def _counts(session: Session, campaign_ids: list[int]) -> dict[int, Counter]:
    counts: dict[int, Counter] = {i: Counter() for i in campaign_ids}
    for campaign_id, state, notified, n in session.execute(
            select(RecallVehicle.campaign_id, RecallVehicle.state, RecallVehicle.notified_at.is_not(None), func.count())
            .where(RecallVehicle.campaign_id.in_(campaign_ids))
            .group_by(RecallVehicle.campaign_id, RecallVehicle.state, RecallVehicle.notified_at.is_not(None))):
        counts[campaign_id]["affected"] += n
        counts[campaign_id][state] += n
        counts[campaign_id]["notified_ever"] += n if notified else 0
    return counts


def list_campaigns(*, session: Session) -> list[dict]:
    """Every campaign, newest first, with its completion (one grouped query for all of them)."""
    campaigns = list(session.scalars(select(RecallCampaign).order_by(RecallCampaign.opened_at.desc())))
    counts = _counts(session, [c.id for c in campaigns])
    return [_summary(c, counts[c.id]) for c in campaigns]


def list_figures(*, session: Session, campaign: RecallCampaign) -> dict:
    """Affected, remedied and open cars now (what closing a campaign freezes)."""
    summary = _summary(campaign, _counts(session, [campaign.id])[campaign.id], frozen=False)
    return {key: summary[key] for key in ("affected", "remedied", "open")}


def _summary(campaign: RecallCampaign, count: Counter, *, frozen: bool = True) -> dict:
    """A closed campaign reports the figures frozen when it closed: they are its final record."""
    affected, remedied = count["affected"], count[REMEDIED]
    if frozen and campaign.affected_at_close is not None:
        affected, remedied = campaign.affected_at_close, campaign.remedied_at_close or 0
    return {"code": campaign.code, "title": campaign.title, "severity": campaign.severity,
            "opened_at": campaign.opened_at, "closed_at": campaign.closed_at, "outcome": campaign.outcome,
            "affected": affected, "notified": count["notified_ever"], "remedied": remedied,
            "open": affected - remedied, "completion": round(remedied / affected, 4) if affected else 0.0}


def campaign_progress(*, session: Session, campaign_id: int) -> dict:
    """Counts, remedies per dealer, and cumulative remedies week by week since the campaign opened."""
    campaign = session.get(RecallCampaign, campaign_id)
    if campaign is None:
        raise NotFound("Recall campaign not found")
    summary = _summary(campaign, _counts(session, [campaign.id])[campaign.id])
    unremedied = session.scalars(select(RecallVehicle.vehicle_id).where(
        RecallVehicle.campaign_id == campaign.id, RecallVehicle.state != REMEDIED)).all()
    owners = vehicles_service.current_owners(session=session, vehicle_ids=unremedied)
    summary["owner_unknown"] = len(unremedied) - len(owners)
    remedies = session.execute(select(RecallVehicle.remedied_at, RecallVehicle.remedied_by_dealer_id).where(
        RecallVehicle.campaign_id == campaign.id, RecallVehicle.state == REMEDIED)).all()
    names = {o.id: o.name for o in parties_service.list_organizations(session=session, kind="dealer",
                                                                       active_only=False)}
    per_dealer = Counter(dealer_id for _, dealer_id in remedies)
    summary["per_dealer"] = sorted(({"dealer_id": d, "dealer": names.get(d, "Unknown dealer"), "remedied": n}
                                    for d, n in per_dealer.items()), key=lambda r: (-r["remedied"], r["dealer"]))
    opened, until = campaign.opened_at, campaign.closed_at or now()
    moments = sorted(at for at, _ in remedies if at is not None)
    weeks = max(int((until - opened) / timedelta(weeks=1)) + 1, 1)
    points = []
    for week in range(weeks + 1):
        edge = min(opened + timedelta(weeks=week), until) if week < weeks else until
        done = bisect_right(moments, edge)
        points.append({"week": week, "date": edge.date(), "remedied": done,
                       "share": round(done / summary["affected"], 4) if summary["affected"] else 0.0})
    summary["over_time"] = points
    summary["campaign"] = campaign
    return summary

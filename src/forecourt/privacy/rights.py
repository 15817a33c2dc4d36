"""Data-subject rights: download everything linked to me, and erase me.

Export walks every table that points at the customer; erasure removes personal data, unlinks the
records a carmaker must keep (service, warranty, recalls) and writes down what it kept and why.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.assist import records as assist_records
from forecourt.consent import service as consent_service
from forecourt.core.clock import now
from forecourt.core import outbox
from forecourt.core.db import plain_row
from forecourt.core.errors import NotFound
from forecourt.core.i18n import Labels, N_
from forecourt.customers import email_links
from forecourt.customers import records as customers_records
from forecourt.engagement import records as engagement_records
from forecourt.engagement.nps import records as nps_records
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.payments import service as payments_service
from forecourt.privacy.schemas import ExportDocument
from forecourt.sales import follow_ups
from forecourt.sales import records as sales_records
from forecourt.sales import transfers
from forecourt.sharing import records as sharing_records
from forecourt.telematics import service as telematics_service
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import records as workshop_records

EXPORT_FORMAT = "forecourt-export/1"




def export(*, session: Session, customer_id: int) -> dict:
    """Everything linked to the customer, as plain JSON-ready data. Recorded as a data request."""
    customer = customers_records.any_of(session=session, customer_id=customer_id)
    if customer is None or customer.erased_at is not None:
        raise NotFound("Customer not found")
    account = parties_service.customer_account(session=session, customer_id=customer_id)
    ownerships = vehicles_service.ownerships_of(session=session, customer_id=customer_id)
    vehicles = []
    for ownership in ownerships:
        vehicle = vehicles_service.get(session=session, vehicle_id=ownership.vehicle_id)
        vehicles.append({
            "vin": vehicle.vin, "model": vehicle.trim.model.name, "trim": vehicle.trim.name,
            "model_year": vehicle.model_year, "colour": vehicle.colour, "registration": vehicle.registration,
            "ownership": plain_row(ownership),
        })
    data_requests = consent_service.data_requests_of(session=session, customer_id=customer_id)
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": now().isoformat(),
        **customers_records.export_of(session=session, customer_id=customer_id),
        "account": plain_row(account, skip=("password_hash",)) if account else None,
        "sessions": [plain_row(t, skip=("digest", "csrf_token"))
                     for t in parties_service.tokens_of(session=session, user_id=account.id)] if account else [],
        "vehicles": vehicles,
        "ownerships": [plain_row(o) for o in ownerships],
        "service_records": [plain_row(r) for r in vehicles_service.service_records_of(session=session,
                                                                                    customer_id=customer_id)],
        "consent_grants": [plain_row(g) for g in consent_service.grants_of(session=session, customer_id=customer_id)],
        "consent_ledger": [plain_row(r) for r in consent_service.ledger_of(session=session, customer_id=customer_id)],
        "access_log": [plain_row(a) for a in consent_service.access_log_of(session=session, customer_id=customer_id,
                                                                        limit=1_000_000)],
        "data_requests": [plain_row(d) for d in data_requests],
        "telemetry": telematics_service.telemetry_of_owner(session=session, customer_id=customer_id),
        **sales_records.export_of(session=session, customer_id=customer_id),
        "payments": payments_service.export_of(session=session, customer_id=customer_id),
        "warranty_contracts": [plain_row(c) for c in vehicles_service.warranty_contracts_of(
            session=session, customer_id=customer_id)],
        "warranty_offers": [plain_row(o) for o in vehicles_service.warranty_offers_of(
            session=session, customer_id=customer_id)],
        "ownership_transfers": [plain_row(t, skip=("code_digest",))
                                for t in transfers.of_customer(session=session, customer_id=customer_id)],
        "messages": [plain_row(m) for m in outbox.messages_of(session=session, customer_id=customer_id)],
        "email_links": email_links.export_of(session=session, customer_id=customer_id),
        **workshop_records.export_of(session=session, customer_id=customer_id),
        **assist_records.export_of(session=session, customer_id=customer_id),
        **nps_records.export_of(session=session, customer_id=customer_id),
        **sharing_records.export_of(session=session, customer_id=customer_id),
        **engagement_records.export(session=session, customer_id=customer_id),
    }
    ExportDocument.model_validate(document)  # a broken export fails here, not in the customer's hands
    consent_service.record_data_request(
        session=session, customer_id=customer_id, kind="export",
        report={"sections": sorted(k for k in document if k not in ("format", "exported_at"))})
    return document


# Why each kept record is kept. What the law says differs by the customer's market (``parties.markets``
# names its jurisdiction): the GDPR and German commercial and tax law in Germany (and the EU), the
# Personal Information Protection Act (개인정보 보호법, PIPA) and Korean commercial and tax law in Korea.
_KEPT_EVERYWHERE = {
    "service_records": N_("The car's service book stays with the car for warranty, recalls and later owners; "
                          "your name is no longer linked to it."),
    "ownerships": N_("The car's chain of ownership is needed for safety recalls; your periods are kept without you."),
    "warranty_contracts": N_("An extended warranty belongs to the car and passes to its next owner; it no longer "
                             "names you."),
    "data_requests": N_("A record that this erasure happened, so it can be proven and not repeated by mistake."),
    "satisfaction_surveys": N_("Your scores in satisfaction surveys still count in the organization's NPS; your words, "
                               "their topics and any follow-up note are removed, and the scores no longer name you."),
    "opportunities": N_("The dealer's record of a deal stays in its sales books; it no longer names you, and a "
                        "title that did is replaced."),
    "sharing_photos": N_("Photos of a shared car at pick-up and return stay with the car as the record of its "
                         "condition and damage; they no longer name you and never kept where or on which phone "
                         "they were taken."),
}
KEPT_BY_LAW = {
    "EU": {
        "consent_ledger": N_("Proof of what you consented to and when (GDPR Art. 7(1)); it names you only by a "
                             "number."),
        "orders": N_("A car sale stays in the dealer's books and tax records (kept for ten years under German "
                     "commercial and tax law, HGB §257 and AO §147), with its payments; it no longer names you."),
        "payments": N_("Money received and paid back stays in the books of whoever received it (ten years under "
                       "German commercial and tax law, HGB §257 and AO §147); it no longer names you."),
        "sharing_bills": N_("A car-sharing bill stays in the hub's books (ten years under German commercial and tax "
                            "law, HGB §257 and AO §147) with the trip it was computed from; it no longer names you."),
    },
    "KR": {
        "consent_ledger": N_("Proof of what you consented to and when, which the Personal Information Protection "
                             "Act (PIPA) asks us to be able to show; it names you only by a number."),
        "orders": N_("A car sale stays in the dealer's books and tax records (ten years under the Commercial Act, "
                     "Art. 33, and five under the Framework Act on National Taxes, Art. 85-3), with its payments; "
                     "it no longer names you."),
        "payments": N_("Money received and paid back stays in the books of whoever received it (five years under "
                       "the Framework Act on National Taxes, Art. 85-3); it no longer names you."),
        "sharing_bills": N_("A car-sharing bill stays in the hub's books (five years under the Framework Act on "
                            "National Taxes, Art. 85-3) with the trip it was computed from; it no longer names you."),
    },
}
KEPT_ORDER = ("consent_ledger", "service_records", "ownerships", "warranty_contracts", "data_requests", "orders",
              "payments", "opportunities", "satisfaction_surveys", "sharing_bills", "sharing_photos")


def kept_reasons(*, jurisdiction: str | None) -> Labels:
    """What erasure keeps and why, citing the law of the customer's market (the EU's for one we do not know)."""
    law = KEPT_BY_LAW.get(jurisdiction or "", KEPT_BY_LAW["EU"])
    reasons = _KEPT_EVERYWHERE | law
    return Labels({what: reasons[what] for what in KEPT_ORDER})


def kept_reasons_for(*, session: Session, customer_id: int) -> Labels:
    """``kept_reasons`` for this customer's market (their own, else their country's)."""
    customer = customers_records.any_of(session=session, customer_id=customer_id)
    code = (customer.market or customer.country) if customer is not None else None
    return kept_reasons(jurisdiction=markets.jurisdiction_of(code))




def erase(*, session: Session, customer_id: int) -> dict:
    """Erase the person; keep what the law or the car needs, unlinked. Harmless to repeat."""
    customer = customers_records.any_of(session=session, customer_id=customer_id)
    if customer is None:
        raise NotFound("Customer not found")
    if customer.erased_at is not None:
        previous = consent_service.data_requests_of(session=session, customer_id=customer_id, kind="erasure")
        report = dict(previous[0].report) if previous else {}
        return report | {"already_erased": True}
    moment = now()
    # Read before the profile goes: the law the report cites is the one of the customer's market.
    reasons = kept_reasons(jurisdiction=markets.jurisdiction_of(customer.market or customer.country))
    consents = consent_service.erase_consents(session=session, customer_id=customer_id)
    withdrawn = consents.pop("grants_withdrawn")
    removed = {
        "profile": 1,
        "preferences": customers_records.erase_preferences(session=session, customer_id=customer_id),
        "account": 0,
        **consents,
    }
    account = parties_service.customer_account(session=session, customer_id=customer_id)
    if account is not None:
        parties_service.close_account(session=session, user_id=account.id)
        removed["account"] = 1
    telemetry = telematics_service.erase_owner_telemetry(session=session, customer_id=customer_id)
    removed |= {f"telemetry_{name}": count for name, count in telemetry.items()}
    unlinked = vehicles_service.erase_owner(session=session, customer_id=customer_id)
    removed["warranty_offers"] = unlinked.pop("warranty_offers")
    removed["ownership_transfers_unlinked"] = transfers.erase_customer(session=session, customer_id=customer_id)
    sales = sales_records.erase_customer(session=session, customer_id=customer_id,
                                         names=(customer.first_name or "", customer.last_name or ""))
    removed |= workshop_records.erase_customer(session=session, customer_id=customer_id)
    removed |= assist_records.erase_customer(session=session, customer_id=customer_id)
    removed |= nps_records.erase_customer(session=session, customer_id=customer_id)  # before its e-mails go
    sharing = sharing_records.erase_customer(session=session, customer_id=customer_id)
    bills_kept = sharing.pop("sharing_bills_unlinked")
    photos_kept = sharing.pop("sharing_photos_unlinked")
    removed |= sharing
    removed |= {f"engagement_{k}": v for k, v in engagement_records.erase(session=session,
                                                                            customer_id=customer_id).items()}
    removed["messages"] = outbox.erase_customer(session=session, customer_id=customer_id)
    payments = payments_service.erase_customer(session=session, customer_id=customer_id)
    removed["email_links"] = email_links.erase_customer(session=session, customer_id=customer_id)
    removed["follow_ups"] = follow_ups.erase_customer(session=session, customer_id=customer_id)
    removed |= {"sales_configurations_unlinked": sales["configurations"],
                "sales_lead_contact_details": sales["leads"], "sales_activity_notes": sales["sales_activities"],
                "sales_finance_contracts": sales["finance_contracts"]}
    customers_records.erase_profile(session=session, customer=customer, moment=moment)
    ledger_rows = len(consent_service.ledger_of(session=session, customer_id=customer_id))
    kept = [
        {"what": "consent_ledger", "count": ledger_rows, "why": reasons["consent_ledger"]},
        {"what": "service_records", "count": unlinked["service_records"], "why": reasons["service_records"]},
        {"what": "ownerships", "count": unlinked["ownerships"], "why": reasons["ownerships"]},
        {"what": "data_requests", "count": 1, "why": reasons["data_requests"]},
    ] + [{"what": what, "count": count, "why": reasons[what]}
         for what, count in (("orders", sales["orders"]), ("payments", payments),
                             ("opportunities", sales["opportunities"]),
                             ("warranty_contracts", unlinked["warranty_contracts"]),
                             ("satisfaction_surveys", removed["nps_surveys_unlinked"]),
                             ("sharing_bills", bills_kept), ("sharing_photos", photos_kept)) if count]
    report = {"customer_id": customer_id, "erased_at": moment.isoformat(), "removed": removed,
              "grants_withdrawn": withdrawn, "kept": kept, "already_erased": False}
    consent_service.record_data_request(session=session, customer_id=customer_id, kind="erasure", report=report)
    return report

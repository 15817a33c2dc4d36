"""The carmaker's desk for recall campaigns: opening and ending one are an administrator's audited
acts, and a campaign's figures come with what the dashboard says about it.

The JSON routes and the recall pages both call these, so the audit trail reads the same whichever
door the administrator used.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.core.auth import Principal
from forecourt.parties import service as parties_service
from forecourt.vehicles import recall_closure, recalls
from forecourt.vehicles.schemas.recalls import RecallCampaignIn, RecallCloseIn


def progress_of(*, session: Session, code: str) -> dict:
    """The campaign's completion figures with its text, remedy, closing reason and successor."""
    campaign = recalls.get_campaign(session=session, code=code)
    progress = recalls.campaign_progress(session=session, campaign_id=campaign.id)
    successor = recall_closure.successor_of(session=session, campaign=campaign)
    return progress | {"description": campaign.description, "remedy": campaign.remedy,
                       "labour_minutes": campaign.labour_minutes, "closing_reason": campaign.closing_reason,
                       "superseded_by": successor.code if successor else None}


def open_and_audit(*, session: Session, admin: Principal, body: RecallCampaignIn) -> dict:
    """Open the campaign (owners are told through the outbox) and audit who opened it, and its reach."""
    result = recalls.open_campaign(session=session, principal=admin, code=body.code, title=body.title,
                                   description=body.description, remedy=body.remedy, severity=body.severity,
                                   labour_minutes=body.labour_minutes,
                                   scopes=[scope.model_dump(exclude_none=True) for scope in body.scopes])
    parties_service.audit(session=session, actor=admin, action="recall.open", target=f"recall:{result['campaign'].code}",
                          details={"affected": result["affected"], "notified": result["notified"]})
    return result


def close_and_audit(*, session: Session, admin: Principal, code: str, body: RecallCloseIn) -> dict:
    """End the campaign (closed or superseded, its figures frozen) and audit it with those figures."""
    result = recall_closure.close_campaign(session=session, code=code, outcome=body.outcome, reason=body.reason,
                                           superseded_by=body.superseded_by)
    campaign = result["campaign"]
    parties_service.audit(session=session, actor=admin, action=f"recall.{campaign.outcome}",
                          target=f"recall:{campaign.code}",
                          details={"reason": campaign.closing_reason, "affected": result["affected"],
                                   "remedied": result["remedied"], "open": result["open"],
                                   "superseded_by": result["successor"].code if result["successor"] else None})
    return result

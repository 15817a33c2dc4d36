"""Ending a recall campaign: the carmaker closes it, or replaces it with another (superseded).

Closing freezes the completion figures (cars affected, remedied, still open) as they stood at that
moment and stores them on the campaign: they are its final record, whatever happens to the cars
afterwards. A closed campaign reminds nobody, flags no car at check-in, takes no more remedies and
shows as closed on the dashboard. A superseded one names its successor, which must be open: owners
are then reached, booked and remedied under the new campaign.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.vehicles import recalls
from forecourt.vehicles.models import RecallCampaign

OUTCOMES = ("closed", "superseded")


def close_campaign(*, session: Session, code: str, outcome: str, reason: str,
                   superseded_by: str | None = None) -> dict:
    """Ends the campaign and freezes its figures; the caller (an administrator's route) audits it."""
    campaign = recalls.get_campaign(session=session, code=code)
    if campaign.closed_at is not None:
        raise Conflict(_("Recall %(code)s is already closed.", code=campaign.code), field="code")
    if outcome not in OUTCOMES:
        raise Invalid(_("A campaign is closed or superseded."), field="outcome")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why the campaign ends, in a sentence."), field="reason")
    successor = None
    if outcome == "superseded":
        if not (superseded_by or "").strip():
            raise Invalid(_("Name the campaign that replaces this one."), field="superseded_by")
        try:
            successor = recalls.get_campaign(session=session, code=superseded_by)
        except NotFound:  # a typo in the form, not a missing page
            raise Invalid(_("There is no campaign %(code)s.", code=superseded_by.strip().upper()),
                          field="superseded_by") from None
        if successor.id == campaign.id or successor.closed_at is not None:
            raise Invalid(_("The campaign that replaces this one must be another campaign that is still open."),
                          field="superseded_by")
    figures = recalls.list_figures(session=session, campaign=campaign)
    campaign.outcome, campaign.closing_reason, campaign.closed_at = outcome, reason, now()
    campaign.superseded_by_id = successor.id if successor else None
    campaign.affected_at_close = figures["affected"]
    campaign.remedied_at_close = figures["remedied"]
    campaign.open_at_close = figures["open"]
    session.flush()
    return {"campaign": campaign, "successor": successor, **figures}


def successor_of(*, session: Session, campaign: RecallCampaign) -> RecallCampaign | None:
    return session.get(RecallCampaign, campaign.superseded_by_id) if campaign.superseded_by_id else None

"""What NPS holds about one person, for "download my data" and erasure.

Export: each survey sent to the person with their answer, its topics and any follow-up (the note the
dealer wrote included: it is about them). Erasure keeps each survey's score for the organization's NPS
and removes everything that says who answered or why: the link to the person, the words, the topics
(derived from the words) and the follow-up's note. The invitation's e-mail goes with the person's
other messages (``core.outbox.erase_customer``), so the survey lets go of it first.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.core.db import plain_row
from forecourt.core.i18n import N_
from forecourt.engagement.nps.models import FollowUp, Response, Survey, Topic

# How the erasure page names the scores it keeps ("satisfaction_surveys", capitalised there).
KEPT_LABEL = N_("Satisfaction surveys")


def export_of(*, session: Session, customer_id: int) -> dict[str, list[dict]]:
    surveys = list(session.scalars(select(Survey).where(Survey.customer_id == customer_id).order_by(Survey.id)))
    ids = [s.id for s in surveys]
    responses = list(session.scalars(select(Response).where(Response.survey_id.in_(ids)).order_by(Response.id))) \
        if ids else []
    topic_rows = list(session.scalars(select(Topic).where(Topic.response_id.in_([r.id for r in responses]))
                                      .order_by(Topic.id))) if responses else []
    tasks = list(session.scalars(select(FollowUp).where(FollowUp.survey_id.in_(ids)).order_by(FollowUp.id))) \
        if ids else []
    return {"nps_surveys": [plain_row(s, skip=("token_digest",)) for s in surveys],
            "nps_responses": [plain_row(r) for r in responses],
            "nps_topics": [plain_row(t) for t in topic_rows],
            "nps_follow_ups": [plain_row(t) for t in tasks]}


def erase_customer(*, session: Session, customer_id: int) -> dict[str, int]:
    surveys = list(session.scalars(select(Survey).where(Survey.customer_id == customer_id)))
    ids = [s.id for s in surveys]
    words = topics_removed = notes = 0
    if ids:
        responses = list(session.scalars(select(Response).where(Response.survey_id.in_(ids))))
        response_ids = [r.id for r in responses]
        if response_ids:
            topics_removed = session.execute(delete(Topic).where(Topic.response_id.in_(response_ids))).rowcount
        for response in responses:
            words += response.why is not None
            response.why = None
        for task in session.scalars(select(FollowUp).where(FollowUp.survey_id.in_(ids))):
            notes += task.note is not None
            task.note = None
    for survey in surveys:
        survey.customer_id, survey.vehicle_id, survey.outbox_message_id = None, None, None
    session.flush()
    return {"nps_surveys_unlinked": len(surveys), "nps_answer_texts": words, "nps_topics": topics_removed,
            "nps_follow_up_notes": notes}

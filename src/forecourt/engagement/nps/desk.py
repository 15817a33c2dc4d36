"""The follow-up as its owner sees it: the driver's answer and, within consent, who they are and their
recent service history.

The answer is the responsible organization's own survey, so its staff always see the score and the
words. Who answered and their service history are customer data: each opens only through the consent
door (``consent.service.require``, which writes the access log the driver sees) for a purpose the
reader's role states and the driver granted to the reader's organization. Without it the page says so
and shows the answer alone.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.auth import Principal
from forecourt.customers import service as customers_service
from forecourt.engagement.nps import follow_ups, surveys, topics, touchpoints
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service

HISTORY_PURPOSE = "service_reminders"  # the purpose that opens a driver's service history to a workshop
RECENT_VISITS = 5


def _contact_purpose(session: Session, principal: Principal, customer_id: int, touchpoint: str) -> str | None:
    """The first purpose, of the touchpoint's and the reader's usual ones, under which the door would open."""
    candidates = [touchpoints.get(touchpoint).purpose, "sales_contact", HISTORY_PURPOSE, "marketing_offers"]
    return next((p for p in dict.fromkeys(candidates)
                 if consent_service.holds(session=session, principal=principal, customer_id=customer_id, purpose=p)),
                None)


def task_view(*, session: Session, principal: Principal, follow_up_id: int) -> dict:
    task = follow_ups.get_for(session=session, principal=principal, follow_up_id=follow_up_id)
    survey = follow_ups.survey_of(session=session, task=task)
    response = surveys.response_of(session=session, survey_id=survey.id)
    tags = surveys.topics_of(session=session, response_id=response.id) if response else []
    view = {"task": task, "survey": survey, "response": response,
            "category": surveys.category(response.score) if response else None,
            "topics": [{"code": t.topic, "name": topics.label(t.topic), "source": t.source} for t in tags],
            "touchpoint": touchpoints.name_of(survey.touchpoint), "overdue": follow_ups.is_overdue(task),
            "organization": parties_service.get_organization(session=session,
                                                             organization_id=task.organization_id).name,
            "customer": None, "history": None, "consent_closed": survey.customer_id is not None}
    if survey.customer_id is None:
        return view | {"consent_closed": False}
    what = f"NPS follow-up {task.id}"
    purpose = _contact_purpose(session, principal, survey.customer_id, survey.touchpoint)
    if purpose is not None:
        customer, _categories = customers_service.open_for(session=session, principal=principal,
                                                           customer_id=survey.customer_id, purpose=purpose, what=what)
        view["customer"] = {"name": customer.full_name, "email": customer.email, "phone": customer.phone,
                            "purpose": consent_service.get_purpose(session=session, code=purpose).name}
        view["consent_closed"] = False
    if consent_service.holds(session=session, principal=principal, customer_id=survey.customer_id,
                             purpose=HISTORY_PURPOSE):
        consent_service.require(session=session, principal=principal, customer_id=survey.customer_id,
                                purpose=HISTORY_PURPOSE, what=what)
        view["history"] = vehicles_service.service_records_of(session=session,
                                                             customer_id=survey.customer_id)[:RECENT_VISITS]
    return view

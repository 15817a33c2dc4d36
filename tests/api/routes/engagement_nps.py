"""Access-control classes of the NPS routes (see tests/api/test_access_control.py).

The survey pages are PUBLIC: the e-mailed link is the credential, and the page names only the
organization and the touchpoint, never the person. The dashboard, its CSV and the follow-up list are
NPS_FIGURES (a dealer's staff see their own dealer, the call centre its own, the carmaker the network;
checked by tests/engagement/test_nps_web.py). One follow-up, closing it and correcting an answer's
topic are DEALER: the responsible dealer's staff, everybody else 404.
"""

from __future__ import annotations

from forecourt.engagement.nps import surveys
from forecourt.engagement.nps.policy import Policy
from tests.api.acl_rules import DEALER, NPS_FIGURES, PUBLIC, Rule
from tests.engagement.nps_scene import token_of


def _survey_of_a(w):
    """Customer A's survey after a visit at dealer A (A allows the dealer's workshop to write)."""
    if not hasattr(w, "_nps_survey"):
        w.grant(w.dealer, "service_reminders")
        survey = surveys.invite(session=w.session, touchpoint="service_visit", subject_key=f"test:{w.customer.id}",
                                customer_id=w.customer.id, vehicle_id=None, organization_id=w.dealer.id,
                                policy=Policy())
        w.session.commit()
        w._nps_survey, w._nps_token = survey, token_of(w.session, survey)
    return w._nps_survey


def survey_link(w) -> dict:
    _survey_of_a(w)
    return {"token": w._nps_token}


def _detractor_of_a(w):
    if not hasattr(w, "_nps_response"):
        _survey_of_a(w)
        w._nps_response = surveys.answer(session=w.session, token=w._nps_token, score=3, why="", policy=Policy())
        w.session.commit()
    return w._nps_response


def follow_up_of_a(w) -> dict:
    from sqlalchemy import select

    from forecourt.engagement.nps.models import FollowUp

    _detractor_of_a(w)
    task = w.session.scalar(select(FollowUp).where(FollowUp.survey_id == w._nps_survey.id))
    return {"follow_up_id": task.id}


def answer_of_a(w) -> dict:
    return {"response_id": _detractor_of_a(w).id}


ROUTES: dict = {
    ("GET", "/survey/{token}"): Rule(PUBLIC, params=survey_link),
    ("POST", "/survey/{token}"): Rule(PUBLIC, params=survey_link, form=lambda w: {"score": "9", "why": ""}),
    ("POST", "/api/surveys/{token}"): Rule(PUBLIC, params=survey_link, json=lambda w: {"score": 9, "why": ""},
                                           ok=(201,), anonymous=(201,)),
    ("GET", "/api/nps"): Rule(NPS_FIGURES),
    ("GET", "/nps"): Rule(NPS_FIGURES),
    ("GET", "/nps.csv"): Rule(NPS_FIGURES),
    ("GET", "/nps/follow-ups"): Rule(NPS_FIGURES),
    ("GET", "/nps/follow-ups/{follow_up_id}"): Rule(DEALER, params=follow_up_of_a),
    ("POST", "/nps/follow-ups/{follow_up_id}/close"): Rule(DEALER, params=follow_up_of_a, ok=(303,),
                                                          form=lambda w: {"note": "Called back, sorted out"}),
    ("POST", "/nps/answers/{response_id}/topic"): Rule(DEALER, params=answer_of_a, ok=(303,),
                                                      form=lambda w: {"topic": "price"}),
}

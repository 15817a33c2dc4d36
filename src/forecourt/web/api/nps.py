"""JSON routes: NPS — a driver's answer from the app (the e-mailed link's token is the credential), and
the figures for dealer staff (their dealer), the call centre (its own) and the carmaker (the network).

The figures name nobody: counts, rates, scores and the answers' words grouped by topic.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from forecourt.core.auth import Principal, Role
from forecourt.core.schemas import Id
from forecourt.engagement.nps import dashboards, surveys
from forecourt.engagement.nps.policy import Policy
from forecourt.engagement.nps.schemas import SurveyAnswerIn, SurveyAnswerOut
from forecourt.web.deps import ApiPrincipal, AppSettings, DbSession

router = APIRouter(prefix="/api", tags=["engagement: NPS"])
NPS_ROLES = (Role.DEALER_SALES, Role.DEALER_SERVICE, Role.CALL_CENTRE_AGENT, Role.CARMAKER_ADMIN)


def api_nps(principal: ApiPrincipal) -> Principal:
    if principal.role not in NPS_ROLES:
        raise HTTPException(status_code=404, detail="Not found")
    return principal


NpsViewer = Annotated[Principal, Depends(api_nps)]


@router.post("/surveys/{token}", status_code=201)
def answer_survey(token: str, body: SurveyAnswerIn, session: DbSession, settings: AppSettings) -> SurveyAnswerOut:
    """The driver's answer, once: a link we did not send is 404, an answered or expired one 409."""
    response = surveys.answer(session=session, token=token, score=body.score, why=body.why,
                              policy=Policy.from_settings(settings))
    category = surveys.category(response.score)
    return SurveyAnswerOut(score=response.score, category=category, follow_up=category == "detractor")


@router.get("/nps")
def nps_figures(principal: NpsViewer, session: DbSession, organization_id: Id | None = None,
                date_from: date | None = None, date_to: date | None = None) -> dict:
    """NPS overall, by organization, touchpoint and month, with response rates, open follow-ups and the
    answers by topic, for the caller's scope."""
    scope = dashboards.scope_for(session=session, principal=principal, organization_id=organization_id,
                                 date_from=date_from, date_to=date_to)
    data = dashboards.dashboard(session=session, scope=scope)
    return {"scope": {"organization_id": scope.organization_id, "date_from": scope.date_from.isoformat(),
                      "date_to": scope.date_to.isoformat()}, **data}

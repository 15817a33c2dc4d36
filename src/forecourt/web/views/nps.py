"""Pages: the NPS survey a driver answers from an e-mailed link, and the staff's NPS dashboard and follow-ups.

The survey page needs no login: the link's token is the credential (``engagement.nps.surveys``), and it
is shown in the language the driver was written to in, unless they switch. A link we did not send, a
link answered already, an expired one or a score outside 0–10 is answered with what happened and
nothing is changed. The staff pages are for the dealer's sales and service staff, the call centre and
the carmaker; everyone else is told they do not exist (404).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from forecourt.core import i18n
from forecourt.core.auth import Principal, Role
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.engagement.nps import dashboards, desk, follow_ups, surveys, topics
from forecourt.engagement.nps.policy import Policy
from forecourt.web.deps import AppSettings, DbSession, PagePrincipal
from forecourt.web.openapi import CSV, answers
from forecourt.web.viewer import LANGUAGE_COOKIE
from forecourt.web.views import nps_charts
from forecourt.web.views.forms import Form, chosen_id, iso_day, text
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])
NPS_ROLES = (Role.DEALER_SALES, Role.DEALER_SERVICE, Role.CALL_CENTRE_AGENT, Role.CARMAKER_ADMIN)


def page_nps(principal: PagePrincipal) -> Principal:
    if principal.role not in NPS_ROLES:
        raise HTTPException(status_code=404, detail="Not found")
    return principal


NpsPage = Annotated[Principal, Depends(page_nps)]


# --- the driver's survey ----------------------------------------------------------------------------

def _in_language(request: Request, survey) -> str:
    """The survey's language, unless the visitor chose one with the language switch."""
    if request.cookies.get(LANGUAGE_COOKIE) and i18n.supported(request.cookies[LANGUAGE_COOKIE]):
        return i18n.supported(request.cookies[LANGUAGE_COOKIE])
    return i18n.supported(survey.language) or i18n.DEFAULT_LOCALE


def _survey_page(request: Request, session, *, survey=None, token: str | None = None, status_code: int = 200,
                 **context):
    language = _in_language(request, survey) if survey is not None else None
    values = {"survey": survey, "token": token, "problem": None, "errors": {}, "done": None, "score": None,
              "why": "", "organization": None, "touchpoint": None, "scores": list(range(11))} | context
    if survey is not None:
        values |= surveys.describe(session=session, survey=survey)
    if language is None:
        return render(request, "nps/survey.html", status_code=status_code, **values)
    with i18n.use_locale(language):
        return render(request, "nps/survey.html", status_code=status_code, **values)


@router.get("/survey/{token}", responses=answers(409))
def survey_page(request: Request, token: str, session: DbSession):
    try:
        survey = surveys.by_token(session=session, token=token)
    except NotFound as error:
        return _survey_page(request, session, status_code=404, problem=error.what)
    state = surveys.state_of(survey)
    if state != "open":
        return _survey_page(request, session, survey=survey, status_code=409,
                            problem=surveys.state_text(state))
    return _survey_page(request, session, survey=survey, token=token)


@router.post("/survey/{token}")
def survey_answer(request: Request, token: str, session: DbSession, settings: AppSettings, form: Form):
    raw_score, why = text(form, "score"), text(form, "why") or ""
    score = int(raw_score) if raw_score and raw_score.strip().isdigit() and len(raw_score.strip()) <= 2 else raw_score
    try:
        survey = surveys.by_token(session=session, token=token)
    except NotFound as error:
        return _survey_page(request, session, status_code=404, problem=error.what)
    try:
        with session.begin_nested():
            response = surveys.answer(session=session, token=token, score=score, why=why,
                                      policy=Policy.from_settings(settings))
    except Conflict as error:
        return _survey_page(request, session, survey=survey, status_code=409, problem=error.message)
    except Invalid as error:
        return _survey_page(request, session, survey=survey, token=token, status_code=422, problem=error.message,
                            errors={error.field or "score": error.message}, why=why)
    return _survey_page(request, session, survey=survey, done=response)


# --- staff: dashboard, CSV, follow-ups -------------------------------------------------------------


def _scope(session, principal, request: Request):
    """The scope the filters ask for, or the caller's default scope with the filters' problem."""
    query = request.query_params
    try:
        return dashboards.scope_for(session=session, principal=principal,
                                    organization_id=chosen_id(query.get("organization_id"), "organization_id"),
                                    date_from=iso_day(query.get("date_from"), "date_from"),
                                    date_to=iso_day(query.get("date_to"), "date_to")), None
    except Invalid as error:
        return dashboards.scope_for(session=session, principal=principal), error


@router.get("/nps")
def nps_dashboard(request: Request, principal: NpsPage, session: DbSession):
    scope, problem = _scope(session, principal, request)
    data = dashboards.dashboard(session=session, scope=scope)
    return render(request, "nps/dashboard.html", status_code=422 if problem else 200,
                  error=problem.message if problem else None, scope=scope, data=data,
                  chart=nps_charts.trend(data["by_month"]), topic_choices=topics.TOPICS.items(),
                  organizations=dashboards.organizations_for(session=session, scope=scope),
                  query=request.url.query)


@router.get("/nps.csv", response_class=Response, responses=CSV)
def nps_csv(request: Request, principal: NpsPage, session: DbSession):
    scope, problem = _scope(session, principal, request)
    if problem is not None:
        raise problem
    headers, rows = dashboards.csv_table(data=dashboards.dashboard(session=session, scope=scope), scope=scope)
    body = nps_charts.csv_text(headers, rows)
    name = f"nps-{scope.date_from.isoformat()}-{scope.date_to.isoformat()}.csv"
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/nps/answers/{response_id}/topic")
def correct_topic(response_id: Id, principal: NpsPage, session: DbSession, form: Form):
    try:
        with session.begin_nested():
            dashboards.correct_topic(session=session, principal=principal, response_id=response_id,
                                     topic=text(form, "topic") or "")
    except Invalid as error:
        return redirect(f"/nps?error={quote_plus(error.message)}#topics")
    back = text(form, "back") or ""
    if back.isdigit():
        return redirect(f"/nps/follow-ups/{int(back)}?flash={quote_plus(_('Topic set.'))}")
    return redirect(f"/nps?flash={quote_plus(_('Topic set.'))}#topics")


@router.get("/nps/follow-ups")
def follow_up_list(request: Request, principal: NpsPage, session: DbSession, show: str | None = None):
    open_only = show != "all"
    tasks = follow_ups.list_for(session=session, principal=principal, open_only=open_only)
    return render(request, "nps/follow_ups.html", rows=dashboards.follow_up_rows(session=session, tasks=tasks),
                  open_only=open_only)


@router.get("/nps/follow-ups/{follow_up_id}")
def follow_up_page(request: Request, follow_up_id: Id, principal: NpsPage, session: DbSession):
    view = desk.task_view(session=session, principal=principal, follow_up_id=follow_up_id)
    return render(request, "nps/follow_up.html", view=view, topic_choices=topics.TOPICS.items(),
                  error=request.query_params.get("error"))


@router.post("/nps/follow-ups/{follow_up_id}/close")
def close_follow_up(follow_up_id: Id, principal: NpsPage, session: DbSession, form: Form):
    try:
        with session.begin_nested():
            follow_ups.close(session=session, principal=principal, follow_up_id=follow_up_id,
                             note=text(form, "note") or "")
    except (Invalid, Conflict) as error:
        return redirect(f"/nps/follow-ups/{follow_up_id}?error={quote_plus(error.message)}")
    return redirect(f"/nps/follow-ups?flash={quote_plus(_('Follow-up closed.'))}")

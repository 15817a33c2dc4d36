"""NPS as the network reads it: by organization, touchpoint and month, with response rate, the open
follow-ups and the answers' words grouped by topic.

A dealer's staff see their own dealer; the call centre its own surveys; the carmaker the whole network
and may narrow to one organization. Anyone else: 404. The figures are computed from one read of the
period's surveys and answers (a dealer network's year fits in memory easily); the answers' words are
read separately, newest first and bounded per topic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.periods import Period
from forecourt.engagement.nps import topics, touchpoints
from forecourt.engagement.nps.follow_ups import is_overdue
from forecourt.engagement.nps.models import FollowUp, Response, Survey, Topic
from forecourt.engagement.nps.surveys import category
from forecourt.parties import service as parties_service

OWN_ONLY = {Role.DEALER_SALES, Role.DEALER_SERVICE, Role.CALL_CENTRE_AGENT}
ANSWERS_PER_TOPIC = 20


@dataclass(frozen=True)
class Scope(Period):
    organization_id: int | None  # None: the whole network (carmaker only)
    date_from: date
    date_to: date
    network_view: bool


def scope_for(*, session: Session, principal: Principal, organization_id: int | None = None,
              date_from: date | None = None, date_to: date | None = None) -> Scope:
    today = now().date()
    if date_to is None:
        date_to = today
    if date_from is None:
        start_month = date_to.month - 11
        date_from = date(date_to.year + (start_month - 1) // 12, (start_month - 1) % 12 + 1, 1)
    if date_from > date_to or (date_to - date_from).days > 366 * 5:
        raise Invalid(_("The period must run forwards and last at most five years."), field="date_from")
    if principal.role in OWN_ONLY and principal.organization_id is not None:
        if organization_id is not None and organization_id != principal.organization_id:
            raise NotFound(_("Not found"))
        return Scope(principal.organization_id, date_from, date_to, network_view=False)
    if principal.role is not Role.CARMAKER_ADMIN:
        raise NotFound(_("Not found"))
    if organization_id is not None and parties_service.organization_or_none(
            session=session, organization_id=organization_id) is None:
        raise NotFound(_("Not found"))
    return Scope(organization_id, date_from, date_to, network_view=True)


def score_of(answers: list[int], invited: int) -> dict:
    """NPS = % promoters (9–10) − % detractors (0–6), of the answers; None without answers."""
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for score in answers:
        counts[category(score)] += 1
    answered = len(answers)
    nps = round(100 * (counts["promoter"] - counts["detractor"]) / answered) if answered else None
    return {"invited": invited, "answered": answered, "promoters": counts["promoter"], "passives": counts["passive"],
            "detractors": counts["detractor"], "nps": nps,
            "response_rate": round(100 * answered / invited) if invited else None}


def _rows(session: Session, scope: Scope) -> list:
    query = (select(Survey.organization_id, Survey.touchpoint, Survey.created_at, Response.score)
             .outerjoin(Response, Response.survey_id == Survey.id)
             .where(Survey.created_at >= scope.start, Survey.created_at < scope.end))
    if scope.organization_id is not None:
        query = query.where(Survey.organization_id == scope.organization_id)
    return list(session.execute(query))


def _group(rows: list, key) -> dict:
    grouped: dict = defaultdict(lambda: ([], [0]))
    for row in rows:
        answers, invited = grouped[key(row)]
        invited[0] += 1
        if row.score is not None:
            answers.append(row.score)
    return {k: score_of(answers, invited[0]) for k, (answers, invited) in grouped.items()}


def dashboard(*, session: Session, scope: Scope) -> dict:
    rows = _rows(session, scope)
    overall = _group(rows, lambda r: "all").get("all", score_of([], 0))
    names = {o.id: o.name for o in parties_service.list_organizations(session=session, active_only=False)}
    by_org = sorted(({"organization_id": org, "name": names.get(org, str(org)), **figures}
                     for org, figures in _group(rows, lambda r: r.organization_id).items()),
                    key=lambda r: (r["nps"] is None, -(r["nps"] or 0), r["name"]))
    by_touchpoint = [{"touchpoint": code, "name": touchpoints.name_of(code), **figures}
                     for code, figures in sorted(_group(rows, lambda r: r.touchpoint).items())]
    monthly = _group(rows, lambda r: r.created_at.strftime("%Y-%m"))
    by_month = [{"month": month, **monthly.get(month, score_of([], 0))} for month in scope.months()]
    return {"overall": overall, "by_organization": by_org, "by_touchpoint": by_touchpoint, "by_month": by_month,
            "follow_ups": follow_up_counts(session=session, scope=scope),
            "topics": answers_by_topic(session=session, scope=scope)}


def follow_up_counts(*, session: Session, scope: Scope) -> dict:
    query = select(FollowUp).where(FollowUp.closed_at.is_(None))
    if scope.organization_id is not None:
        query = query.where(FollowUp.organization_id == scope.organization_id)
    open_tasks = list(session.scalars(query))
    return {"open": len(open_tasks), "overdue": sum(1 for t in open_tasks if is_overdue(t)),
            "escalated": sum(1 for t in open_tasks if t.escalated_at is not None)}


def answers_by_topic(*, session: Session, scope: Scope) -> list[dict]:
    """Each topic with its count and its newest answers that have words, most spoken-of topic first."""
    query = (select(Topic.topic, Topic.source, Response.id, Response.score, Response.why, Response.language,
                    Response.answered_at, Survey.organization_id, Survey.touchpoint)
             .join(Response, Response.id == Topic.response_id).join(Survey, Survey.id == Response.survey_id)
             .where(Survey.created_at >= scope.start, Survey.created_at < scope.end, Response.why.is_not(None)))
    if scope.organization_id is not None:
        query = query.where(Survey.organization_id == scope.organization_id)
    grouped: dict[str, list] = defaultdict(list)
    for row in session.execute(query.order_by(Response.answered_at.desc())):
        grouped[row.topic].append(row)
    return sorted(({"topic": code, "name": topics.label(code), "count": len(found),
                    "answers": [{"response_id": r.id, "score": r.score, "category": category(r.score), "why": r.why,
                                 "language": r.language, "source": r.source, "answered_at": r.answered_at,
                                 "touchpoint": touchpoints.name_of(r.touchpoint)}
                                for r in found[:ANSWERS_PER_TOPIC]]}
                   for code, found in grouped.items()), key=lambda t: (-t["count"], t["name"]))


def csv_table(*, data: dict, scope: Scope) -> tuple[list[str], list[list]]:
    """The dashboard's rows as a table with headers in the reader's language."""
    headers = [_("Group"), _("Name"), _("Surveys sent"), _("Answers"), _("Response rate in percent"), _("Promoters"),
               _("Passives"), _("Detractors"), _("NPS")]

    def line(group: str, name: str, f: dict) -> list:
        return [group, name, f["invited"], f["answered"], "" if f["response_rate"] is None else f["response_rate"],
                f["promoters"], f["passives"], f["detractors"], "" if f["nps"] is None else f["nps"]]

    rows = [line(_("Total"), "", data["overall"])]
    rows += [line(_("Organization"), r["name"], r) for r in data["by_organization"]]
    rows += [line(_("Touchpoint"), r["name"], r) for r in data["by_touchpoint"]]
    rows += [line(_("Month"), r["month"], r) for r in data["by_month"]]
    return headers, rows


def correct_topic(*, session: Session, principal: Principal, response_id: int, topic: str) -> list[Topic]:
    """The responsible organization's staff set an answer's topic; it replaces the keywords' guess."""
    if topic not in topics.TOPICS:
        raise Invalid(_("Unknown topic '%(topic)s'.", topic=topic), field="topic")
    found = session.execute(select(Response, Survey).join(Survey, Survey.id == Response.survey_id)
                            .where(Response.id == response_id)).first()
    if found is None:
        raise NotFound(_("Answer not found"))
    response, survey = found
    if principal.role not in OWN_ONLY | {Role.CARMAKER_ADMIN} or principal.organization_id != survey.organization_id:
        raise NotFound(_("Answer not found"))
    for row in session.scalars(select(Topic).where(Topic.response_id == response.id)):
        session.delete(row)
    session.flush()
    row = Topic(response_id=response.id, topic=topic, source="staff", set_by_user_id=principal.user_id)
    session.add(row)
    session.flush()
    return [row]



def organizations_for(*, session: Session, scope: Scope) -> list[tuple[int, str]]:
    """The organizations the carmaker may narrow the dashboard to: those with surveys (none for a dealer)."""
    if not scope.network_view:
        return []
    ids = set(session.scalars(select(Survey.organization_id).distinct()))
    return sorted(((o.id, o.name) for o in parties_service.list_organizations(session=session, active_only=False)
                   if o.id in ids), key=lambda pair: pair[1])


def follow_up_rows(*, session: Session, tasks: list[FollowUp]) -> list[dict]:
    """The follow-up list: each task with its answer (no name: that opens on the task's own page)."""
    if not tasks:
        return []
    survey_ids = [t.survey_id for t in tasks]
    found = {survey.id: (survey, response) for survey, response in session.execute(
        select(Survey, Response).outerjoin(Response, Response.survey_id == Survey.id)
        .where(Survey.id.in_(survey_ids)))}
    names = {o.id: o.name for o in parties_service.list_organizations(session=session, active_only=False)}
    rows = []
    for task in tasks:
        survey, response = found[task.survey_id]
        rows.append({"task": task, "organization": names.get(task.organization_id, ""),
                     "touchpoint": touchpoints.name_of(survey.touchpoint), "overdue": is_overdue(task),
                     "score": response.score if response else None, "why": response.why if response else None})
    return rows

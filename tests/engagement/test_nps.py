"""NPS closes the loop: a touchpoint becomes a survey (within consent and the throttle), the answer is
taken once, a detractor opens a follow-up that needs a note to close and escalates when overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.assist.events import CaseClosed
from forecourt.core import events
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.outbox import OutboxMessage
from forecourt.engagement.nps import dashboards, follow_ups, surveys, topics
from forecourt.engagement.nps.models import FollowUp, Response, Survey, Topic
from forecourt.engagement.nps.policy import Policy
from forecourt.handlers import subscribe_all
from forecourt.privacy import rights
from forecourt.sales.events import CarDelivered
from forecourt.workshop.events import VisitClosed
from tests.engagement.nps_scene import POLICY, invite, scene, token_of

NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 12:00 in Berlin


@pytest.fixture(autouse=True)
def at_noon():
    with frozen_at(NOON):
        yield


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count(model.id)))


def test_a_closed_visit_delivered_after_commit_invites_the_driver_once_in_their_language(
        session_factory, session, make):
    s = scene(make, language="de")
    subscribe_all(session_factory)
    for _attempt in range(2):  # a redelivered event finds its survey
        writer = session_factory()
        events.publish(writer, VisitClosed(service_record_id=77, vehicle_id=s.car.id, dealer_id=s.dealer.id,
                                           customer_id=s.driver.id))
        writer.commit()
        writer.close()
    [survey] = session.scalars(select(Survey).where(Survey.customer_id == s.driver.id))
    assert (survey.touchpoint, survey.organization_id, survey.language, survey.subject_key) == (
        "service_visit", s.dealer.id, "de", "service_record:77")
    written = {m.channel: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "nps_survey"))}
    assert sorted(written) == ["email", "in_app"]  # once per channel, however often the event came
    message, in_app = written["email"], written["in_app"]
    assert in_app.link == message.link and in_app.subject == message.subject  # the inbox opens the same survey
    assert message.basis == "service_reminders" and message.consent_organization_id == s.dealer.id
    assert "Autohaus Hafen" in message.subject and "Wie" in message.subject  # German
    assert message.link.startswith("/survey/") and message.next_attempt_at is None  # noon: leaves at once
    assert survey.token_digest == surveys.digest(token_of(session, survey))  # only the digest is kept


def test_delivery_and_on_call_cases_invite_under_their_own_grants(session_factory, session, make):
    s = scene(make, grant=False)
    make.grant(s.driver, s.dealer, "sales_contact")
    subscribe_all(session_factory)
    writer = session_factory()
    events.publish(writer, CarDelivered(order_id=5, vehicle_id=s.car.id, dealer_id=s.dealer.id,
                                        customer_id=s.driver.id))
    writer.commit()
    writer.close()
    [survey] = session.scalars(select(Survey).where(Survey.customer_id == s.driver.id))
    assert (survey.touchpoint, survey.responsible) == ("delivery", "dealer")
    # an On Call case: the call centre (the carmaker) answers for it; without its grant nobody is asked
    other = make.customer()
    writer = session_factory()
    events.publish(writer, CaseClosed(case_id=9, vehicle_id=s.car.id, customer_id=other.id))
    writer.commit()
    writer.close()
    assert session.scalars(select(Survey).where(Survey.customer_id == other.id)).first() is None
    make.grant(other, s.carmaker, "marketing_offers")
    writer = session_factory()
    events.publish(writer, CaseClosed(case_id=10, vehicle_id=s.car.id, customer_id=other.id))
    writer.commit()
    writer.close()
    [survey] = session.scalars(select(Survey).where(Survey.customer_id == other.id))
    assert (survey.touchpoint, survey.responsible, survey.organization_id) == (
        "on_call_case", "call_centre", s.carmaker.id)


def test_no_grant_no_survey_and_at_most_one_survey_in_thirty_days(session, make):
    s = scene(make, grant=False)
    assert invite(session, s)[0] is None
    make.grant(s.driver, s.dealer, "service_reminders")
    first, _token = invite(session, s, key="service_record:1")
    assert first is not None
    assert invite(session, s, key="service_record:2", at=NOON + timedelta(days=29))[0] is None
    assert invite(session, s, key="service_record:3", at=NOON + timedelta(days=31))[0] is not None
    short = Policy(survey_every_days=1)
    assert surveys.invite(session=session, touchpoint="service_visit", subject_key="service_record:4",
                          customer_id=s.driver.id, vehicle_id=s.car.id, organization_id=s.dealer.id,
                          policy=short, at=NOON + timedelta(days=33)) is not None


def test_an_invitation_written_at_night_waits_for_the_morning_of_the_drivers_own_clock(session, make):
    s = scene(make, time_zone="Asia/Seoul")
    late = datetime(2026, 6, 10, 14, 30, tzinfo=UTC)  # 23:30 in Seoul
    survey, _token = invite(session, s, at=late)
    message = session.get(OutboxMessage, survey.outbox_message_id)
    assert message.next_attempt_at == datetime(2026, 6, 10, 23, 0, tzinfo=UTC)  # 08:00 in Seoul
    assert surveys.send_after(datetime(2026, 6, 10, 3, 0, tzinfo=UTC), UTC, POLICY) == datetime(
        2026, 6, 10, 8, 0, tzinfo=UTC)
    assert surveys.send_after(NOON, UTC, Policy(quiet_from_hour=0, quiet_until_hour=0)) == NOON


def test_the_answer_is_taken_once_and_bad_links_and_scores_change_nothing(session, make):
    s = scene(make)
    survey, token = invite(session, s)
    for bad in (token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "", "x" * 300):
        with pytest.raises(NotFound, match="not valid"):
            surveys.answer(session=session, token=bad, score=3, policy=POLICY)
    for score in (-1, 11, "7", None, True, 2.5):
        with pytest.raises(Invalid, match="0 to 10"):
            surveys.answer(session=session, token=token, score=score, policy=POLICY)
    with pytest.raises(Invalid, match="characters"):
        surveys.answer(session=session, token=token, score=3, why="x" * 2001, policy=POLICY)
    assert _count(session, Response) == 0 and survey.answered_at is None
    surveys.answer(session=session, token=token, score=10, why="Great advice", policy=POLICY)
    session.commit()
    with pytest.raises(Conflict, match="already answered"):
        surveys.answer(session=session, token=token, score=0, policy=POLICY)
    assert [r.score for r in session.scalars(select(Response))] == [10]
    assert _count(session, FollowUp) == 0  # a promoter opens no follow-up


def test_an_expired_link_takes_no_answer(session, make):
    s = scene(make)
    _survey, token = invite(session, s)
    with pytest.raises(Conflict, match="expired"):
        surveys.answer(session=session, token=token, score=8, policy=POLICY, at=NOON + timedelta(days=31))


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("I had to wait three hours and the bill was expensive", "en", ["waiting", "price"]),
    ("Die Wartezeit war lang, der Berater unfreundlich", "de", ["waiting", "staff"]),
    ("대기시간이 너무 길었고 직원분이 불친절했어요", "ko", ["waiting", "staff"]),
    ("", "en", ["other"]),
    ("Alles bestens", "de", ["other"]),
])
def test_keyword_topics_in_each_language(text, language, expected):
    assert topics.tag(text, language) == expected


def test_nps_is_promoters_minus_detractors_of_the_answers():
    figures = dashboards.score_of([10, 9, 8, 7, 6, 0, 10, 10], invited=10)
    assert (figures["promoters"], figures["passives"], figures["detractors"]) == (4, 2, 2)
    assert figures["nps"] == 25 and figures["response_rate"] == 80
    assert dashboards.score_of([], invited=3)["nps"] is None


def test_a_detractor_opens_a_follow_up_that_needs_a_note_and_escalates_when_overdue(session, make):
    s = scene(make)
    _survey, token = invite(session, s)
    surveys.answer(session=session, token=token, score=3, why="Waited two hours for nothing", policy=POLICY)
    session.commit()
    [task] = session.scalars(select(FollowUp))
    assert task.organization_id == s.dealer.id and task.due_at == NOON + timedelta(hours=48)
    assert [t.topic for t in session.scalars(select(Topic))] == ["waiting"]
    advisor = make.principal(make.staff(s.dealer, Role.DEALER_SERVICE))
    admin = make.principal(make.staff(s.carmaker, Role.CARMAKER_ADMIN))
    other = make.principal(make.staff(make.dealer(), Role.DEALER_SERVICE))
    assert [t.id for t in follow_ups.list_for(session=session, principal=advisor)] == [task.id]
    for outsider in (admin, other):  # not escalated yet: not theirs
        assert follow_ups.list_for(session=session, principal=outsider) == []
        with pytest.raises(NotFound):
            follow_ups.get_for(session=session, principal=outsider, follow_up_id=task.id)
    with pytest.raises(Invalid, match="note"):
        follow_ups.close(session=session, principal=advisor, follow_up_id=task.id, note="   ")
    assert follow_ups.escalate_overdue(session=session, at=NOON + timedelta(hours=47)) == 0
    assert follow_ups.escalate_overdue(session=session, at=NOON + timedelta(hours=49)) == 1
    assert follow_ups.escalate_overdue(session=session, at=NOON + timedelta(hours=50)) == 0  # once
    session.commit()
    assert task.escalated_to_id == s.carmaker.id
    [told] = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "nps_escalation"))
    assert told.organization_id == s.carmaker.id and told.customer_id is None
    assert [t.id for t in follow_ups.list_for(session=session, principal=admin)] == [task.id]
    follow_ups.close(session=session, principal=advisor, follow_up_id=task.id, note="Called, offered a free wash")
    with pytest.raises(Conflict):
        follow_ups.close(session=session, principal=advisor, follow_up_id=task.id, note="again")
    assert task.closed_by_user_id == advisor.user_id


def test_the_dashboard_is_scoped_and_the_dealer_corrects_a_topic(session, make):
    s = scene(make)
    _survey, token = invite(session, s)
    response = surveys.answer(session=session, token=token, score=4, why="Not great", policy=POLICY)
    session.commit()
    rep = make.principal(make.staff(s.dealer, Role.DEALER_SALES))
    rival = make.principal(make.staff(make.dealer(), Role.DEALER_SALES))
    admin = make.principal(make.staff(s.carmaker, Role.CARMAKER_ADMIN))
    mine = dashboards.dashboard(session=session, scope=dashboards.scope_for(session=session, principal=rep))
    assert mine["overall"]["nps"] == -100 and mine["follow_ups"]["open"] == 1
    theirs = dashboards.dashboard(session=session, scope=dashboards.scope_for(session=session, principal=rival))
    assert theirs["overall"]["invited"] == 0
    with pytest.raises(NotFound):
        dashboards.scope_for(session=session, principal=rival, organization_id=s.dealer.id)
    network = dashboards.dashboard(session=session, scope=dashboards.scope_for(session=session, principal=admin))
    assert [r["name"] for r in network["by_organization"]] == ["Autohaus Hafen"]
    with pytest.raises(NotFound):
        dashboards.correct_topic(session=session, principal=rival, response_id=response.id, topic="price")
    with pytest.raises(Invalid):
        dashboards.correct_topic(session=session, principal=rep, response_id=response.id, topic="nonsense")
    dashboards.correct_topic(session=session, principal=rep, response_id=response.id, topic="price")
    assert [(t.topic, t.source) for t in session.scalars(select(Topic))] == [("price", "staff")]
    headers, rows = dashboards.csv_table(data=mine, scope=None)
    assert headers[0] == "Group" and rows[0][-1] == -100


def test_export_has_the_answers_and_erasure_keeps_only_the_score(session, make):
    s = scene(make)
    _survey, token = invite(session, s)
    surveys.answer(session=session, token=token, score=2, why="Rude staff", policy=POLICY)
    advisor = make.principal(make.staff(s.dealer, Role.DEALER_SERVICE))
    [task] = session.scalars(select(FollowUp))
    follow_ups.close(session=session, principal=advisor, follow_up_id=task.id, note="Apologised to Dana")
    session.commit()
    document = rights.export(session=session, customer_id=s.driver.id)
    assert [r["why"] for r in document["nps_responses"]] == ["Rude staff"]
    assert "token_digest" not in document["nps_surveys"][0]
    assert document["nps_follow_ups"][0]["note"] == "Apologised to Dana"
    report = rights.erase(session=session, customer_id=s.driver.id)
    session.commit()
    assert report["removed"]["nps_answer_texts"] == 1
    assert any(k["what"] == "satisfaction_surveys" for k in report["kept"])
    session.expire_all()
    [survey] = session.scalars(select(Survey))
    [response] = session.scalars(select(Response))
    assert survey.customer_id is None and response.why is None and response.score == 2
    assert task.note is None and _count(session, Topic) == 0
    with pytest.raises(NotFound):  # the link of an erased driver opens nothing
        surveys.by_token(session=session, token=token)


def test_a_test_drive_logged_as_done_invites_under_sales_contact(session_factory, session, make):
    from forecourt.sales.events import TestDriveReturned

    s = scene(make, grant=False)
    make.grant(s.driver, s.dealer, "sales_contact")
    subscribe_all(session_factory)
    writer = session_factory()
    events.publish(writer, TestDriveReturned(activity_id=3, dealer_id=s.dealer.id, customer_id=s.driver.id,
                                             model_id=None))
    writer.commit()
    writer.close()
    [survey] = session.scalars(select(Survey).where(Survey.customer_id == s.driver.id))
    assert (survey.touchpoint, survey.subject_key) == ("sharing_return", "test_drive:3")

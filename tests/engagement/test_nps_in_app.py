"""Survey invitations in the driver's in-app inbox as well as by e-mail, under the same contact-pressure
rules as offers: the channels the driver chose, the cap per channel, and their quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from forecourt.core.clock import frozen_at
from forecourt.core.outbox import OutboxMessage
from forecourt.engagement import pressure
from forecourt.engagement.models import Contact
from tests.engagement.nps_scene import invite, scene
from tests.factories import browser_for

NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # noon in Berlin


def written(session, s) -> dict[str, OutboxMessage]:
    session.expire_all()
    return {m.channel: m for m in session.scalars(select(OutboxMessage).where(
        OutboxMessage.customer_id == s.driver.id, OutboxMessage.topic == "nps_survey"))}


def contacts(session, s) -> list[str]:
    return sorted(session.scalars(select(Contact.channel).where(Contact.customer_id == s.driver.id,
                                                                Contact.topic == "nps_survey")))


def test_the_invitation_is_in_the_inbox_and_links_to_the_signed_survey(session, make):
    s = scene(make)
    _survey, token = invite(session, s, at=NOON)
    messages = written(session, s)
    assert sorted(messages) == ["email", "in_app"] and contacts(session, s) == ["email", "in_app"]
    assert messages["in_app"].link == f"/survey/{token}" == messages["email"].link
    browser = browser_for(make, make.customer_login(s.driver))
    with frozen_at(NOON + timedelta(minutes=5)):
        inbox = browser.get("/me/messages")
        survey_page = browser.get(f"/survey/{token}")
    assert inbox.status_code == 200
    assert f'href="/survey/{token}"' in inbox.text and "Your opinion" in inbox.text
    assert "How was your experience with Autohaus Hafen?" in inbox.text
    assert survey_page.status_code == 200 and "Autohaus Hafen" in survey_page.text


def test_without_email_chosen_the_invitation_comes_in_app_only(session, make):
    s = scene(make)
    pressure.set_choice(session=session, customer_id=s.driver.id, email=False, per_month=None)
    session.commit()
    survey, _token = invite(session, s, at=NOON)
    assert survey is not None and sorted(written(session, s)) == ["in_app"]
    assert contacts(session, s) == ["in_app"]
    assert survey.outbox_message_id == written(session, s)["in_app"].id


def test_a_full_in_app_budget_leaves_only_email_and_none_left_asks_nobody(session, make):
    s = scene(make)
    pressure.set_choice(session=session, customer_id=s.driver.id, email=True, per_month=1)
    pressure.record_contact(session=session, customer_id=s.driver.id, channel="in_app", at=NOON - timedelta(days=3),
                            topic="engagement")
    session.commit()
    survey, _token = invite(session, s, at=NOON)
    assert survey is not None and sorted(written(session, s)) == ["email"]
    other = scene(make)
    pressure.set_choice(session=session, customer_id=other.driver.id, email=False, per_month=0)
    session.commit()
    assert invite(session, other, key="service_record:9", at=NOON)[0] is None
    assert written(session, other) == {}


def test_an_invitation_written_at_night_shows_in_the_inbox_from_the_drivers_morning(session, make):
    s = scene(make, time_zone="Asia/Seoul")
    late = datetime(2026, 6, 10, 14, 30, tzinfo=UTC)  # 23:30 in Seoul
    _survey, token = invite(session, s, at=late)
    in_app = written(session, s)["in_app"]
    assert in_app.next_attempt_at == datetime(2026, 6, 10, 23, 0, tzinfo=UTC)  # 08:00 in Seoul
    browser = browser_for(make, make.customer_login(s.driver))
    with frozen_at(late + timedelta(minutes=10)):
        assert f"/survey/{token}" not in browser.get("/me/messages").text
    with frozen_at(datetime(2026, 6, 10, 23, 5, tzinfo=UTC)):
        assert f"/survey/{token}" in browser.get("/me/messages").text

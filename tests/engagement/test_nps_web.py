"""NPS pages: the survey link answers once in the driver's language; the figures are scoped; a follow-up
opens only for its owners and shows the driver only within consent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.engagement.nps.models import FollowUp, Response
from tests.api.acl_rules import NPS_FIGURES
from tests.api.test_access_control import ROUTES, assert_no_leak, assert_present, keys_of, published, w  # noqa: F401
from tests.engagement.nps_scene import invite, scene
from tests.factories import browser_for, csrf_token_of


def test_the_survey_page_speaks_the_drivers_language_and_takes_one_answer(session, make, client):
    s = scene(make, language="ko")
    _survey, token = invite(session, s)
    page = client.get(f"/survey/{token}")
    assert page.status_code == 200 and '<html lang="ko">' in page.text and 'name="score"' in page.text
    assert s.driver.last_name not in page.text  # the page names nobody
    wrong = client.post(f"/survey/{token}", data={"score": "11", "why": "hmm"})
    assert wrong.status_code == 422 and 'id="problem"' in wrong.text
    for bad in ("abc", "", "-1", "007", "1e1"):
        assert client.post(f"/survey/{token}", data={"score": bad}).status_code == 422, bad
    forged = client.post(f"/survey/{token[:-3]}xyz", data={"score": "5"})
    assert forged.status_code == 404
    assert session.scalar(select(func.count(Response.id))) == 0
    done = client.post(f"/survey/{token}", data={"score": "2", "why": "대기시간이 너무 길었어요"})
    assert done.status_code == 200 and 'id="outcome"' in done.text
    again = client.post(f"/survey/{token}", data={"score": "10"})
    assert again.status_code == 409
    assert client.get(f"/survey/{token}").status_code == 409
    session.expire_all()
    assert [r.score for r in session.scalars(select(Response))] == [2]
    assert session.scalar(select(func.count(FollowUp.id))) == 1


def test_the_follow_up_shows_the_driver_only_within_consent_and_needs_a_note(session, make, client):
    s = scene(make)
    _survey, token = invite(session, s)
    client.post(f"/survey/{token}", data={"score": "1", "why": "Nobody called me back"})
    [task] = session.scalars(select(FollowUp))
    advisor = make.staff(s.dealer, Role.DEALER_SERVICE)
    browser = browser_for(make, advisor)
    page = browser.get(f"/nps/follow-ups/{task.id}")
    assert page.status_code == 200 and "Nobody called me back" in page.text
    assert s.driver.last_name in page.text and 'id="history"' in page.text  # service_reminders granted
    logged = session.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == s.driver.id))
    assert logged >= 1
    make.withdraw(s.driver, s.dealer, "service_reminders")
    page = browser.get(f"/nps/follow-ups/{task.id}")
    assert s.driver.last_name not in page.text and 'id="no-consent"' in page.text
    csrf = csrf_token_of(session, browser)
    empty = browser.post(f"/nps/follow-ups/{task.id}/close", data={"note": " ", "csrf_token": csrf},
                         follow_redirects=False)
    assert empty.status_code == 303 and "error=" in empty.headers["location"]
    session.expire_all()
    assert session.get(FollowUp, task.id).closed_at is None
    closed = browser.post(f"/nps/follow-ups/{task.id}/close", data={"note": "Called, apologised", "csrf_token": csrf},
                          follow_redirects=False)
    assert closed.status_code == 303
    session.expire_all()
    assert session.get(FollowUp, task.id).note == "Called, apologised"
    rival = browser_for(make, make.staff(make.dealer(), Role.DEALER_SERVICE))
    assert rival.get(f"/nps/follow-ups/{task.id}").status_code == 404


def test_the_csv_has_translated_headers(session, make, client):
    s = scene(make)
    invite(session, s)
    rep = make.staff(s.dealer, Role.DEALER_SALES)
    browser = browser_for(make, rep)
    browser.cookies.set("fc_lang", "de")
    answer = browser.get("/nps.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.text.splitlines()[0].startswith("Gruppe,")
    assert browser.get("/nps.csv?date_from=2026-13-01").status_code == 422


KEYS = keys_of(NPS_FIGURES)


def test_every_nps_figure_route_has_the_kind():
    assert len(KEYS) == 4  # the dashboard (page and JSON), its CSV, the follow-up list


@pytest.mark.parametrize("key", KEYS)
def test_nps_figures_are_for_dealer_staff_the_call_centre_and_the_carmaker(published, w, key):  # noqa: F811
    assert_present(published, key)
    for caller in (w.rep, w.advisor, w.admin, w.agent):
        response = w.call(key, caller)
        assert response.status_code == 200, (caller.email, response.text[:300])
        assert_no_leak(w, response)
    for caller in (w.analyst, w.me):
        assert w.call(key, caller).status_code == 404, caller.email
    assert w.call(key, None).status_code == (401 if key[1].startswith("/api/") else 303)
    # a dealer asking for another organization's figures
    if key[1] == "/api/nps":
        assert w.client.get(key[1], params={"organization_id": w.dealer_b.id},
                            headers=w.rep.headers).status_code == 404
    elif key[1] != "/nps/follow-ups":
        assert w.browser(w.rep).get(key[1], params={"organization_id": w.dealer_b.id},
                                    follow_redirects=False).status_code == 404


def test_the_app_answers_a_survey_through_the_api_once_and_bad_input_changes_nothing(session, make, client):
    s = scene(make)
    _survey, token = invite(session, s)
    for body in ({"score": 11}, {"score": -1}, {"score": "7"}, {"score": 7.5}, {"score": 7, "owner": 1},
                 {"score": 7, "why": "x" * 2001}, {}):
        assert client.post(f"/api/surveys/{token}", json=body).status_code == 422, body
    assert client.post(f"/api/surveys/{token[:-2]}zz", json={"score": 5}).status_code == 404
    assert session.scalar(select(func.count(Response.id))) == 0
    answered = client.post(f"/api/surveys/{token}", json={"score": 6, "why": "Slow"})
    assert answered.status_code == 201 and answered.json() == {"score": 6, "category": "detractor", "follow_up": True}
    again = client.post(f"/api/surveys/{token}", json={"score": 10})
    assert again.status_code == 409 and "already answered" in again.text
    rep = make.staff(s.dealer, Role.DEALER_SALES)
    figures = client.get("/api/nps", headers=rep.headers).json()
    assert figures["overall"]["nps"] == -100 and figures["follow_ups"]["open"] == 1
    assert client.get("/api/nps?date_from=2026-02-30", headers=rep.headers).status_code == 422

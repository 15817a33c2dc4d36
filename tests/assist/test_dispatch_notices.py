"""Dispatch notices reach the provider at once: a signed webhook to a real local HTTP server that checks the
signature itself, retried through the outbox, e-mail when it keeps failing; the provider answers
through the API (its own staff's token, or a signed callback) and the agent sees it."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from forecourt.assist import dispatch as dispatch_service
from forecourt.assist import providers
from forecourt.assist.models import CaseEvent, Dispatch
from forecourt.core import events
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at, now
from forecourt.core.config import get_settings
from forecourt.core.outbox import OutboxMessage
from forecourt.messaging import notify
from tests.assist.test_dispatch import agent, at, new_case
from tests.factories import browser_for
from tests.smtp_servers import free_port, mail_server
from tests.webhook_receiver import signed, webhook_receiver

PORTAL = "https://forecourt.example"


def notice_settings(settings, **values):
    return get_settings(**(settings.model_dump() | {"portal_url": PORTAL} | values))


@pytest.fixture
def tow(make):
    make.dealer(**at(10))  # where a towed car goes
    return make.partner("roadside", name="Abschlepp Nord", email="dispo@abschlepp-nord.example", **at(5))


def with_webhook(session, tow, receiver):
    endpoint = providers.set_endpoint(session=session, organization_id=tow.id, url=receiver.url)
    receiver.secret = endpoint.secret
    session.commit()


def messages_of(session, row) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"dispatch:{row.id}:%"))
                                .order_by(OutboxMessage.id)))


def timeline(session, case) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))


def test_the_notice_goes_out_at_once_signed_and_says_nothing_of_the_owner(session, settings, make, client, tow):
    owner = make.customer(first_name="Greta", last_name="Privatmann", email="greta@owner.example")
    case = new_case(make, vehicle=make.vehicle(owner=owner))
    case.customer_id = owner.id
    who = make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)
    with webhook_receiver() as receiver:
        with_webhook(session, tow, receiver)
        response = client.post(f"/api/cases/{case.number}/dispatches", headers=who.headers,
                               json={"provider_id": tow.id, "kind": "tow"})
        assert response.status_code == 201, response.text
    # it reached the provider before the agent's request returned
    (delivery,) = receiver.deliveries
    assert delivery.verified, delivery.headers
    payload = delivery.payload
    row = session.get(Dispatch, response.json()["id"])
    assert (payload["type"], payload["dispatch_id"], payload["case"], payload["kind"]) == (
        "dispatch.requested", row.id, case.number, "tow")
    assert payload["position"] == {"latitude": case.latitude, "longitude": case.longitude}
    assert payload["answer_url"] == f"{settings.portal_url}/api/dispatches/{row.id}/answer"
    for private in ("Greta", "Privatmann", "greta@owner.example"):
        assert private not in delivery.body.decode()
    (notice, _destination) = messages_of(session, row)
    assert (notice.channel, notice.sent_at is not None, notice.attempts) == ("webhook", True, 1)
    assert delivery.headers["webhook-id"] == f"msg_{notice.id}"
    assert timeline(session, case) == ["dispatched", "notified"]


def test_a_failing_webhook_is_retried_then_the_notice_goes_by_email(session, session_factory, settings, make, client,
                                                                   tow):
    case = new_case(make)
    with webhook_receiver(answers=[500]) as receiver, mail_server() as mail:
        with_webhook(session, tow, receiver)
        chosen = notice_settings(settings, smtp_host="127.0.0.1", smtp_port=mail.port, dispatch_webhook_attempts=3)
        notify.subscribe_handlers(events.bus, session_factory, chosen)  # the sending-at-once uses these too
        row = dispatch_service.dispatch(session=session, principal=agent(make), case_id=case.id, provider_id=tow.id,
                                        kind="tow", portal_url=PORTAL)
        session.commit()  # the first attempt follows the commit
        (notice, _) = messages_of(session, row)
        assert (notice.attempts, notice.sent_at, notice.last_error) == (1, None, "HTTP 500")
        assert mail.received == []
        for minutes in (2, 4):  # the sender's next rounds, after the webhook's short back-off
            with frozen_at(now() + timedelta(minutes=minutes)):
                notify.send_pending(session_factory=session_factory, settings=chosen)
        assert len(receiver.deliveries) == 3 and all(d.verified for d in receiver.deliveries)
        # every attempt is the same message: the provider can tell a retry from a new dispatch
        assert {d.headers["webhook-id"] for d in receiver.deliveries} == {f"msg_{notice.id}"}
        (email,) = [r for r in mail.received if r.recipients == ["dispo@abschlepp-nord.example"]]
        assert case.number in email.message["Subject"]
        assert f"{PORTAL}/api/dispatches/{row.id}/answer" in email.message.get_content()
        # nothing more is tried: the webhook row is done, saying where the notice went instead
        notify.send_pending(session_factory=session_factory, settings=chosen)
        assert len(receiver.deliveries) == 3
    messages = {m.channel: m for m in messages_of(session, row) if m.topic == "dispatch"}
    assert messages["webhook"].sent_at is not None and "sent by e-mail instead" in messages["webhook"].last_error
    assert messages["email"].sent_at is not None and messages["email"].attempts == 1
    assert timeline(session, case) == ["dispatched", "notice_failed"]


def test_a_provider_down_at_the_commit_gets_the_notice_on_the_next_round(session, session_factory, settings, make,
                                                                        client, tow):
    case = new_case(make)
    chosen = notice_settings(settings)
    notify.subscribe_handlers(events.bus, session_factory, chosen)
    endpoint = providers.set_endpoint(session=session, organization_id=tow.id,
                                      url=f"http://127.0.0.1:{free_port()}/down")
    session.commit()
    row = dispatch_service.dispatch(session=session, principal=agent(make), case_id=case.id, provider_id=tow.id,
                                    kind="tow", portal_url=PORTAL)
    session.commit()  # nobody listens: the attempt fails, the row stays
    (notice, _) = messages_of(session, row)
    assert notice.sent_at is None and notice.attempts == 1 and "ConnectError" in notice.last_error
    with webhook_receiver(secret=endpoint.secret) as receiver:
        endpoint.url = receiver.url
        session.commit()
        with frozen_at(now() + timedelta(minutes=1)):  # the sender's next round, after the short back-off
            assert notify.send_pending(session_factory=session_factory, settings=chosen)["sent"] >= 1
    (delivery,) = receiver.deliveries
    assert delivery.verified and delivery.payload["dispatch_id"] == row.id


@pytest.fixture
def sent(session, session_factory, settings, make, client, tow):
    """A tow dispatched to a provider with a webhook (delivered), and what the provider received."""
    case = new_case(make)
    notify.subscribe_handlers(events.bus, session_factory, notice_settings(settings))
    with webhook_receiver() as receiver:
        with_webhook(session, tow, receiver)
        row = dispatch_service.dispatch(session=session, principal=agent(make), case_id=case.id, provider_id=tow.id,
                                        kind="tow", portal_url=PORTAL)
        session.commit()
    assert receiver.deliveries[0].verified
    return {"case": case, "row": row, "secret": receiver.secret, "answer": f"/api/dispatches/{row.id}/answer"}


def test_the_provider_accepts_with_a_signed_callback_and_a_replay_changes_nothing(session, make, client, sent):
    body = json.dumps({"answer": "accepted", "eta_minutes": 18, "note": "Truck 7 on its way"}).encode()
    headers = signed(sent["secret"], body)
    response = client.post(sent["answer"], content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert (response.json()["answer"], response.json()["eta_minutes"]) == ("accepted", 18)
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == sent["case"].id, CaseEvent.kind == "accepted")
                            ).one()
    assert "Abschlepp Nord accepted" in event.text and "Truck 7" in event.text
    assert event.details["via"] == "signed-callback"
    # the same callback again (a replay within the window): answered, nothing new
    assert client.post(sent["answer"], content=body, headers=headers).status_code == 200
    assert timeline(session, sent["case"]).count("accepted") == 1
    # the agent sees it on the case page
    page = browser_for(make, make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)).get(
        f"/console/cases/{sent['case'].number}")
    assert "Abschlepp Nord accepted" in page.text and "Truck 7 on its way" in page.text


def test_callbacks_that_are_not_the_providers_change_nothing(session, make, client, sent):
    body = json.dumps({"answer": "declined"}).encode()
    stranger = make.partner("roadside", **at(7))
    strangers_secret = providers.set_endpoint(session=session, organization_id=stranger.id,
                                              url="https://stranger.example/hook").secret
    session.commit()
    refused = {
        "old": signed(sent["secret"], body, timestamp=int(time.time()) - 6 * 60),
        "future": signed(sent["secret"], body, timestamp=int(time.time()) + 6 * 60),
        "another provider's secret": signed(strangers_secret, body),
        "signed for another body": signed(sent["secret"], json.dumps({"answer": "accepted"}).encode()),
        "no signature": {"content-type": "application/json"},
    }
    for why, headers in refused.items():
        response = client.post(sent["answer"], content=body, headers=headers)
        assert response.status_code == 401, (why, response.text)
    # a dispatch that does not exist answers the same
    other = f"/api/dispatches/{sent['row'].id + 1000}/answer"
    assert client.post(other, content=body, headers=signed(sent["secret"], body)).status_code == 401
    session.expire_all()
    assert sent["row"].answer is None and timeline(session, sent["case"]) == ["dispatched", "notified"]


def test_the_providers_staff_decline_with_a_token_and_the_case_needs_help_again(session, make, client, sent, tow):
    staff = make.staff(tow)  # a user of the towing company, with an API token
    others = [make.staff(make.partner("roadside", **at(9))), make.staff(make.dealer()),
              make.customer_login(make.customer())]
    body = {"answer": "declined", "note": "No truck free before 3 pm"}
    for caller in others:
        assert client.post(sent["answer"], json=body, headers=caller.headers).status_code == 404
    assert client.post(sent["answer"], json=body).status_code == 401
    assert client.post(sent["answer"], json={"answer": "maybe"}, headers=staff.headers).status_code == 422
    assert client.post(sent["answer"], json=body | {"role": "admin"}, headers=staff.headers).status_code == 422
    response = client.post(sent["answer"], json=body, headers=staff.headers)
    assert response.status_code == 200 and response.json()["status"] == "declined"
    session.expire_all()
    assert sent["case"].status == "acknowledged"  # back among the cases needing help
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == sent["case"].id, CaseEvent.kind == "declined")
                            ).one()
    assert event.details["via"] == "api" and "Send someone else" in event.text
    # changing one's mind goes through the call centre
    changed = client.post(sent["answer"], json={"answer": "accepted"}, headers=staff.headers)
    assert changed.status_code == 409
    # the console's live queue shows it
    queue = browser_for(make, make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)).get("/console/queue")
    assert f'data-case="{sent["case"].number}"' in queue.text and "Abschlepp Nord declined" in queue.text


def test_the_admin_sets_a_webhook_only_for_providers_and_over_https(session, make, client, tow):
    admin = make.staff(make.carmaker(), Role.CARMAKER_ADMIN)
    path = f"/api/admin/organizations/{tow.id}/dispatch-webhook"
    refused = client.put(path, json={"url": "http://tow.example/hook"}, headers=admin.headers)
    assert refused.status_code == 422 and "https" in refused.text
    insurer = make.partner("insurance")
    wrong = client.put(f"/api/admin/organizations/{insurer.id}/dispatch-webhook",
                       json={"url": "https://insurer.example/hook"}, headers=admin.headers)
    assert wrong.status_code == 422
    first = client.put(path, json={"url": "https://tow.example/hook"}, headers=admin.headers).json()
    assert first["secret"].startswith("whsec_") and first["url"] == "https://tow.example/hook"
    rotated = client.put(path, json={"url": "https://tow.example/hook"}, headers=admin.headers).json()
    assert rotated["secret"] != first["secret"]
    assert client.delete(path, headers=admin.headers).status_code == 204
    assert providers.endpoint_of(session=session, organization_id=tow.id) is None

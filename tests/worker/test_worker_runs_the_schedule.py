"""Every scheduled job runs from the real ``forecourt worker`` (Huey's consumer and its crontab), on
the engine under test: SQLite with the queue in a file beside the database, PostgreSQL with the
queue in the database. Every schedule is "* * * * *", which Huey fires when the worker starts."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, text

from forecourt.assist.models import Subscription
from forecourt.core import partitions
from forecourt.core.clock import now, today
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.core.events import DELIVERED, GRACE, DomainEvent
from forecourt.core.heartbeats import Heartbeat
from forecourt.core.outbox import OutboxMessage
from forecourt.engagement.nps.models import FollowUp, Survey
from forecourt.telematics.models import Position, ReceivedMessage, VehicleCommand
from forecourt.vehicles.models import RecallCampaign, RecallVehicle
from forecourt.workshop.models import Proposal
from tests.factories import Factory
from tests.worker.scene import MailServer, start_worker, stop, wait_for


def _world(sessions) -> dict:
    """Something due for every job."""
    with transaction(sessions) as session:
        make = Factory(session=session, client=None)
        owner = make.customer(email="scheduled.owner@example.test")
        car = make.vehicle(owner=owner)
        dealer = make.dealer()
        make.carmaker()  # the recall reminder is logged under the carmaker, as the notice was
        subscription = make.on_call(car)
        subscription.ends_on = today() + timedelta(days=20)  # On Call renewal reminder
        campaign = RecallCampaign(code="RC-SCHED-1", title="Brake hose may chafe", severity="high",
                                  remedy="Fit a new hose.", labour_minutes=60)
        session.add(campaign)
        session.flush()
        recalled = RecallVehicle(campaign_id=campaign.id, vehicle_id=car.id, state="notified",
                                 notified_at=now() - timedelta(days=31))  # recall reminder
        proposal = Proposal(vehicle_id=car.id, customer_id=owner.id, dealer_id=dealer.id, job="diagnosis",
                            reason="Misfire", cause="dtc:P0301", status="open",
                            expires_at=now() - timedelta(hours=1))  # proposal expiry
        old = Position(vehicle_id=car.id, measured_at=now() - timedelta(days=400), latitude=52.5, longitude=13.4,
                       source="embedded")  # position retention
        finished = DomainEvent(name="telematics.service_due", payload="{}", status=DELIVERED, attempts=1,
                               created_at=now() - timedelta(days=60),
                               delivered_at=now() - timedelta(days=45))  # event clean-up
        waiting = DomainEvent(name="telematics.service_due", status="pending", attempts=0,
                              payload=json.dumps({"vehicle_id": car.id, "level": "due", "reason": "Service due"}),
                              next_attempt_at=now() - GRACE)  # event delivery
        mail = OutboxMessage(customer_id=owner.id, channel="email", topic="test", subject="Scheduled hello",
                             body="Hello.", basis="contract", dedupe_key="sched:mail")  # the outbox
        survey = Survey(touchpoint="service_visit", subject_key="sched:visit", customer_id=owner.id,
                        organization_id=dealer.id, responsible="dealer", language="en", token_digest="0" * 64,
                        created_at=now() - timedelta(days=4), expires_at=now() + timedelta(days=26),
                        answered_at=now() - timedelta(days=3))
        silent = VehicleCommand(vehicle_id=car.id, vin=car.vin, action="unlock", reason="owner:app", transport="mqtt",
                                device_identifier=car.vin, status="sent", issued_at=now() - timedelta(minutes=2),
                                expires_at=now() - timedelta(minutes=1))  # command timeouts
        forgotten = ReceivedMessage(message_key="ledger-key-of-long-ago", received_at=now() - timedelta(days=60))
        session.add_all([recalled, proposal, old, finished, waiting, mail, survey, silent, forgotten])
        session.flush()
        overdue = FollowUp(survey_id=survey.id, organization_id=dealer.id, opened_at=now() - timedelta(days=3),
                           due_at=now() - timedelta(days=1))  # NPS escalation
        session.add(overdue)
        session.flush()
        return {"follow_up": overdue.id, "silent": silent.id, "subscription": subscription.id, "recalled": recalled.id, "proposal": proposal.id, "position": old.id,
                "finished": finished.id, "waiting": waiting.id, "mail": mail.id, "car": car.id}


def test_every_scheduled_job_runs_from_the_worker(fresh_database_url, tmp_path):
    url = fresh_database_url("schedule")
    sessions = make_sessionmaker(get_engine(url))
    ids = _world(sessions)
    log = tmp_path / "worker.log"

    def state() -> dict:
        with sessions() as session:
            return {
                "oncall_reminders": session.get(Subscription, ids["subscription"]).reminded_at is not None,
                "recall_reminders": session.get(RecallVehicle, ids["recalled"]).reminders == 1,
                "proposal_expiry": session.get(Proposal, ids["proposal"]).status == "expired",
                "position_retention": session.get(Position, ids["position"]) is None,
                "ledger_retention": session.get(ReceivedMessage, "ledger-key-of-long-ago") is None,
                "event_cleanup": session.get(DomainEvent, ids["finished"]) is None,
                "nps_escalation": session.get(FollowUp, ids["follow_up"]).escalated_at is not None,
                "command_timeouts": session.get(VehicleCommand, ids["silent"]).status == "timed_out",
                # ... and its VehicleCommandFailed is delivered (after its grace) by the same worker
                "command_failed_delivered": session.scalar(select(DomainEvent.status).where(
                    DomainEvent.name == "telematics.vehicle_command_failed")) == DELIVERED,
                "partitions": "partitions: {" in log.read_text() and (
                    session.get_bind().dialect.name != "postgresql" or session.scalar(text("SELECT to_regclass(:n)"), {
                        "n": partitions.partition_name("telematics_positions", partitions.month_start(now(), 3))})),
                "deliver_events": session.get(DomainEvent, ids["waiting"]).status == DELIVERED,
                "send_outbox": session.get(OutboxMessage, ids["mail"]).sent_at is not None,
                "heartbeat": session.scalar(select(func.count()).select_from(Heartbeat)
                                            .where(Heartbeat.role == "worker")) == 1,
            }

    with MailServer() as mail:
        worker = start_worker(url, log, smtp_port=mail.port, schedule="* * * * *")
        try:
            wait_for(lambda: all(state().values()), 90, "every job to run", log)
        finally:
            stop(worker)
        assert mail.inbox.subjects["Scheduled hello"] == 1
    with sessions() as session:
        topics = set(session.scalars(select(OutboxMessage.topic).where(OutboxMessage.customer_id.is_not(None))))
        assert {"on_call_renewal", "recall_reminder"} <= topics
        assert session.scalar(select(func.count()).select_from(Heartbeat)) == 0  # a stopping worker says so
    assert "Traceback" not in log.read_text()

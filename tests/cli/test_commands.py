"""Every ``forecourt`` command run as a process, on the engine of the run (SQLite or PostgreSQL), checked by
what it did to the database or the world, not only by its exit code. Long-running commands are in
``test_long_running.py``; ``COVERED`` below names the test of every command, and a new command without
one fails ``test_every_command_has_a_test``."""

from __future__ import annotations

import importlib
import uuid
from datetime import date, timedelta

import typer.main
from sqlalchemy import create_engine, func, inspect, select, text, update

from forecourt.assist.models import Subscription
from forecourt.consent.catalogue import PURPOSES
from forecourt.consent.models import Purpose
from forecourt.core import outbox
from forecourt.core.clock import now
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.core.outbox import OutboxMessage
from forecourt.sales.models import Opportunity
from forecourt.sales.rollup import StartedDeals
from forecourt.telematics.models import Position
from tests.cli.commands import run
from tests import conftest
from tests.factories import Factory
from tests.smtp_servers import free_port, mail_server

# command -> "module::test" that runs it
COVERED = {
    "db upgrade": "tests.cli.test_commands::test_db_upgrade_migrates_an_empty_database",
    "db recount-pipeline": "tests.cli.test_commands::test_db_recount_pipeline_finds_and_mends_a_rollup_that_disagrees",
    "demo": "tests.demo.test_demo_network::test_cli_builds_a_demo",
    "retention": "tests.cli.test_commands::test_retention_deletes_only_positions_past_the_limit",
    "outbox send": "tests.cli.test_commands::test_outbox_send_hands_waiting_mail_to_the_smtp_server",
    "oncall remind": "tests.cli.test_commands::test_oncall_remind_queues_each_reminder_once",
    "serve": "tests.cli.test_long_running::test_serve_answers_then_stops_and_simulate_drives_cars_into_it",
    "simulate": "tests.cli.test_long_running::test_serve_answers_then_stops_and_simulate_drives_cars_into_it",
    "ingest": "tests.cli.test_long_running::test_ingest_stores_what_cars_publish_and_stops_cleanly",
    "mailsink": "tests.cli.test_long_running::test_mailsink_keeps_what_it_is_sent_and_stops_cleanly",
    "worker": "tests.worker.test_worker_runs_the_schedule::test_every_scheduled_job_runs_from_the_worker",
}


def command_names(group, prefix: str = "") -> set[str]:
    """``db upgrade``, ``serve``, ...: every command a person can type, sub-commands by their full name."""
    found = set()
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group of commands (Typer's own click)
            found |= command_names(command, f"{prefix}{name} ")
        else:
            found.add(f"{prefix}{name}")
    return found


def test_every_command_has_a_test():
    from forecourt.cli import app

    commands = command_names(typer.main.get_command(app))
    assert commands == set(COVERED), (f"commands without a test: {sorted(commands - set(COVERED))}; "
                                      f"tests of commands that are gone: {sorted(set(COVERED) - commands)}")
    for where in COVERED.values():
        module, name = where.split("::")
        assert callable(getattr(importlib.import_module(module), name, None)), f"{where} does not exist"


def test_help_lists_every_command(database_url):
    shown = run(["--help"], database_url)
    assert shown.returncode == 0
    for name in {c.split()[0] for c in COVERED}:
        assert name in shown.stdout, name


def test_db_upgrade_migrates_an_empty_database(tmp_path):
    if conftest.test_database_kind() == "postgresql":
        name = f"forecourt_test_cli_{uuid.uuid4().hex[:8]}"
        url = conftest._create_pg_database(name)
    else:
        name, url = None, f"sqlite:///{tmp_path / 'empty.db'}"
    try:
        done = run(["db", "upgrade"], url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Database ready" in done.stdout
        engine = create_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
            assert {"outbox_messages", "assist_provider_endpoints", "consent_ledger"} <= tables
            with engine.connect() as connection:
                assert connection.execute(select(func.count()).select_from(Purpose)).scalar() == len(PURPOSES)
                version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            again = run(["db", "upgrade"], url)  # safe to repeat: nothing changes
            assert again.returncode == 0
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == version
                assert connection.execute(select(func.count()).select_from(Purpose)).scalar() == len(PURPOSES)
        finally:
            engine.dispose()
    finally:
        if name:
            conftest._drop_pg_database(name)


def test_db_recount_pipeline_finds_and_mends_a_rollup_that_disagrees(fresh_database_url):
    url = fresh_database_url("cli_rollup")
    sessions = make_sessionmaker(get_engine(url))
    with transaction(sessions) as session:
        dealer = Factory(session=session, client=None).dealer()
        deal = Opportunity(dealer_id=dealer.id, title="A car", amount=30000, stage_code="new", status="open")
        session.add(deal)
    assert run(["db", "recount-pipeline", "--check"], url).returncode == 0  # kept as the deal was written
    with transaction(sessions) as session:  # written around the application
        session.execute(update(Opportunity).where(Opportunity.id == deal.id).values(status="lost"))
    found = run(["db", "recount-pipeline", "--check"], url)
    assert found.returncode == 1 and "2 rows of the rollup disagree with the deals" in found.stdout, found.stdout
    done = run(["db", "recount-pipeline"], url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Rollup recounted: sales_rollup_started 1 rows" in done.stdout
    again = run(["db", "recount-pipeline", "--check"], url)
    assert again.returncode == 0 and "The rollup agrees with the deals" in again.stdout
    with sessions() as session:
        assert session.scalars(select(StartedDeals.status)).all() == ["lost"]


def test_retention_deletes_only_positions_past_the_limit(fresh_database_url):
    url = fresh_database_url("cli_retention")
    sessions = make_sessionmaker(get_engine(url))
    with transaction(sessions) as session:
        car = Factory(session=session, client=None).vehicle()
        for days in (100, 45, 2):
            session.add(Position(vehicle_id=car.id, measured_at=now() - timedelta(days=days), latitude=53.5,
                                 longitude=10.0, source="http"))
    done = run(["retention", "--days", "30"], url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "removed 2 positions" in done.stdout
    with sessions() as session:
        kept = session.scalars(select(Position.measured_at).where(Position.vehicle_id == car.id)).all()
    assert len(kept) == 1 and kept[0] > now() - timedelta(days=3)
    # without --days the setting applies (90 by default): nothing more is old enough
    assert "removed 0 positions" in run(["retention"], url).stdout


def test_outbox_send_hands_waiting_mail_to_the_smtp_server(fresh_database_url):
    url = fresh_database_url("cli_outbox")
    sessions = make_sessionmaker(get_engine(url))
    with transaction(sessions) as session:
        owner = Factory(session=session, client=None).customer(email="cli.owner@example.test")
        message = outbox.enqueue(session=session, customer_id=owner.id, channel="email", topic="recall",
                                 subject="Safety recall RC-9", body="Book it.", basis="legal_obligation",
                                 dedupe_key="cli:outbox:1")
    with mail_server() as server:
        done = run(["outbox", "send"], url, smtp_host="127.0.0.1", smtp_port=server.port)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Sent 1, failed 0" in done.stdout
        (received,) = server.received
        assert received.recipients == ["cli.owner@example.test"] and received.message["Subject"] == "Safety recall RC-9"
        assert "Still to send: 0 due now, 0 waiting to be tried again, 0 given up" in done.stdout
        again = run(["outbox", "send"], url, smtp_host="127.0.0.1", smtp_port=server.port)
        assert "Sent 0" in again.stdout and len(server.received) == 1
    with sessions() as session:
        assert session.get(OutboxMessage, message.id).sent_at is not None


def test_outbox_send_says_once_that_the_mail_server_is_down_and_what_waits(fresh_database_url):
    url = fresh_database_url("cli_outbox_down")
    with transaction(make_sessionmaker(get_engine(url))) as session:
        owner = Factory(session=session, client=None).customer(email="cli.waiting@example.test")
        for n in range(3):
            outbox.enqueue(session=session, customer_id=owner.id, channel="email", topic="recall",
                           subject=f"Safety recall RC-{n}", body="Book it.", basis="legal_obligation",
                           dedupe_key=f"cli:outbox:down:{n}")
    done = run(["outbox", "send"], url, smtp_host="127.0.0.1", smtp_port=free_port())  # nobody listens
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "Sent 0, failed 1" in output  # it stops at the first refusal: the others keep their attempts
    assert output.count("cannot be reached") == 1 and "Connection refused" in output
    assert "not sent (attempt" not in output  # no log line per message
    assert "Still to send: 2 due now, 1 waiting to be tried again, 0 given up" in output


def test_oncall_remind_queues_each_reminder_once(fresh_database_url):
    url = fresh_database_url("cli_oncall")
    sessions = make_sessionmaker(get_engine(url))
    with transaction(sessions) as session:
        make = Factory(session=session, client=None)
        owner = make.customer()
        car = make.vehicle(owner=owner)
        ending = make.on_call(car, sold_on=date.today() - timedelta(days=3 * 365 - 30))
        ends_on = ending.ends_on
    assert date.today() < ends_on <= date.today() + timedelta(days=45)
    done = run(["oncall", "remind"], url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Queued 1 On Call renewal reminder" in done.stdout
    with sessions() as session:
        reminders = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "on_call_renewal")).all()
        assert [(m.customer_id, m.channel) for m in reminders] == [(owner.id, "email")]
        assert session.scalars(select(Subscription.reminded_at).where(Subscription.vehicle_id == car.id)).one()
    assert "Queued 0" in run(["oncall", "remind"], url).stdout

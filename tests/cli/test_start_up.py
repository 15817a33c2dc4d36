"""``make run`` as a new user meets it: ``forecourt db upgrade``, ``forecourt demo --if-empty``, then
``forecourt serve --simulate 8 --worker``. While the demo cars drive, each of the six demo personas
logs in through the login form on the first try, several times over and all at once."""

from __future__ import annotations

import signal
import threading

import httpx
from sqlalchemy import func, select

from bench.workday import PERSONAS, Refused, Tally, log_in
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.telematics.models import ReceivedMessage
from tests.cli.commands import Running, listening, run
from tests.conftest import test_database_kind as database_kind
from tests.smtp_servers import free_port

ROUNDS = 3


def _reports(url: str) -> int:
    with make_sessionmaker(get_engine(url))() as session:
        return session.scalar(select(func.count()).select_from(ReceivedMessage))


def test_every_demo_persona_logs_in_at_the_first_try_while_the_demo_cars_drive(fresh_database_url, tmp_path):
    url = (f"sqlite:///{tmp_path / 'var' / 'forecourt.db'}" if database_kind() == "sqlite"
           else fresh_database_url("start_up"))  # a fresh clone: nothing there yet
    for step in (["db", "upgrade"], ["demo", "--if-empty"]):
        done = run(step, url)
        assert done.returncode == 0, done.stdout + done.stderr
    port = free_port()
    server = Running(["serve", "--simulate", "8", "--worker", "--port", str(port)], url, tmp_path / "serve.log",
                     smtp_port=str(free_port()))
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_for(lambda: listening(port), "the server to listen")
        server.wait_for(lambda: _reports(url) >= 8, "the demo cars to report")
        before = _reports(url)
        tally = Tally()
        refused: list[str] = []

        def person(name: str) -> None:
            for _ in range(ROUNDS):
                with httpx.Client(base_url=base, timeout=60) as client:
                    try:
                        landing = log_in(client, PERSONAS[name], tally=tally)
                    except Refused:
                        refused.append(name)
                        continue
                    assert 'action="/logout"' in landing.text, name  # logged in, in whatever language the person reads

        people = [threading.Thread(target=person, args=(name,)) for name in PERSONAS]
        for thread in people:
            thread.start()
        for thread in people:
            thread.join(120)
        assert not refused, (refused, tally.examples)
        assert len(tally.times["landing"]) == ROUNDS * len(PERSONAS)
        assert _reports(url) > before  # the cars kept driving meanwhile
        metrics = httpx.get(f"{base}/metrics", timeout=30).text
        assert "forecourt_web_refused_busy_total 0.0" in metrics
    finally:
        assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)

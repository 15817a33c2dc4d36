"""Every staff read leaves exactly one access-log row, also while cars report: on SQLite the rows of
reads are written just after the answer, taking turns with ingest for the single writer; on
PostgreSQL in the read's own transaction. Nothing is refused and nothing is lost or doubled."""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from bench.server import serving
from forecourt.consent.models import AccessLogEntry
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.telematics.models import ReceivedMessage
from tests.cli.commands import Running
from tests.factories import Factory

READS = 1_000
CUSTOMERS = 10


def _count(url: str, model, *where) -> int:
    with make_sessionmaker(get_engine(url))() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_thousand_staff_reads_under_ingest_leave_one_row_each(fresh_database_url, tmp_path):
    url = fresh_database_url("accesslog")
    with make_sessionmaker(get_engine(url))() as session:
        make = Factory(session=session, client=None)
        dealer = make.dealer()
        rep = make.staff(dealer)
        customers = [make.customer() for _ in range(CUSTOMERS)]
        for customer in customers:
            make.grant(customer, dealer, "sales_contact")
            make.vehicle(owner=customer)  # the simulator gives the cars devices and drives them
        session.commit()
        ids = [c.id for c in customers]

    settings = get_settings(database_url=url, cookie_secure=False)
    with serving(settings) as (base, app):
        # Ten reports a second over HTTP, each refreshing its car's trips and health (make run's cars send
        # four); the web process stores about 45 a second on this 2-CPU machine with nothing else to do.
        cars = Running(["simulate", "--via", "http", "--server", base, "-n", str(CUSTOMERS), "--rate", "10",
                        "--workers", "4"], url, tmp_path / "simulate.log")
        try:
            cars.wait_for(lambda: _count(url, ReceivedMessage) > 20, "the cars to report")
            answers: list[int] = []
            lock = threading.Lock()

            def read(i: int) -> None:
                with httpx.Client(base_url=base, timeout=60,
                                  headers={"Authorization": f"Bearer {rep.token}"}) as client:
                    for n in range(i, READS, 8):
                        status = client.get(f"/api/customers/{ids[n % CUSTOMERS]}/profile",
                                            params={"purpose": "sales_contact"}).status_code
                        with lock:
                            answers.append(status)

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(read, range(8)))
            during = _count(url, ReceivedMessage)
        finally:
            assert cars.stop(signal.SIGINT) == 0
        refused = app.state.write_stats.refused_busy

    assert len(answers) == READS and set(answers) == {200}
    assert refused == 0
    assert during > 20  # the cars kept reporting while the reads ran
    for customer_id in ids:
        rows = _count(url, AccessLogEntry, AccessLogEntry.customer_id == customer_id,
                      AccessLogEntry.user_id == rep.user_id)
        assert rows == READS // CUSTOMERS, (customer_id, rows)
    assert _count(url, AccessLogEntry) == READS

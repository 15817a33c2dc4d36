"""Several listeners storing at once must wait for each other, never fail with "database is locked"."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics.ingest import ingest
from forecourt.telematics.models import ReceivedMessage
from tests.telematics.fleet import T0, committed_fleet
from tests.telematics.test_ingest import reading


def test_concurrent_batches_all_commit(fresh_database_url):
    url = fresh_database_url("writers")
    vins = committed_fleet(url, cars=4)
    sessions = make_sessionmaker(get_engine(url))
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with transaction(sessions, write=True) as session:  # reads devices and keys, then writes
                    ingest(session=session, readings=[reading(vins[n], T0 + timedelta(seconds=i), f"w{n}-{i}")],
                           channel="test")
        except BaseException as error:  # noqa: BLE001 - the test reports whatever escaped
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReceivedMessage)) == 100

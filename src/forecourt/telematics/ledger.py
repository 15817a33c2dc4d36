"""How long the exactly-once ledger (``telematics_received``) remembers a message.

A message is stored once because its key is claimed in the transaction that stores its readings
(``bulk.claim_keys``): a redelivered or resent message finds its key and is skipped. A key is only
needed while its message can still come again: the broker keeps an ingest worker's unacknowledged
messages for its session's life (seven days, ``listeners.mqtt.SESSION_EXPIRY_SECONDS``), and a
device sends again what it never saw acknowledged once it is back in reach. Kept for ever, the
ledger was the one table a fleet's history made grow without end (a row a message: 86 million a
day at 10,000 cars). So the ``ledger_retention`` job forgets the keys received more than
``FORECOURT_LEDGER_KEEP_DAYS`` ago (default 14, twice the broker's session):

* on PostgreSQL the ledger is partitioned by the month its keys were measured in
  (``core.partitions``): months that ended before the cutoff are detached whole and dropped after,
  each in a transaction of its own; keys of such a month received within the window (a tracker's
  backlog measured weeks before it reached us) are put back first, into the default partition, and
  the default partition's keys are deleted row by row once they are old enough;
* on SQLite the keys are deleted in batches, each in its own short transaction, so the single
  writer is never held long.

Either way a key received at a moment is remembered for at least the window after it: a message
redelivered within it is stored once. On PostgreSQL whole months go, so a key may stay up to a month
longer than the window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from forecourt.core import partitions
from forecourt.telematics import bulk
from forecourt.telematics.models import ReceivedMessage

LEDGER = ReceivedMessage.__tablename__
BATCH = 10_000  # keys deleted per transaction


def forget_months(*, session: Session, cutoff: datetime) -> tuple[int, int]:
    """PostgreSQL: detaches the ledger's months that ended before ``cutoff``, keeping their keys
    received since: (months, keys forgotten, as PostgreSQL estimates them). Nothing on SQLite."""
    return partitions.detach_before(session=session, table=LEDGER, cutoff=cutoff, keep="received_at >= :since",
                                    since=cutoff)


def forget_some(*, session: Session, cutoff: datetime, limit: int = BATCH) -> int:
    """Deletes up to ``limit`` keys received before ``cutoff`` (on PostgreSQL from the default
    partition: the months go whole); the caller repeats, a transaction each, while it returns ``limit``."""
    table = f"{LEDGER}_default" if partitions.is_partitioned(session, LEDGER) else LEDGER
    return session.execute(text(
        f"DELETE FROM {table} WHERE message_key IN (SELECT message_key FROM {table} WHERE received_at < :cutoff "
        "LIMIT :limit)"), {"cutoff": bulk.moment_binder(session)(cutoff), "limit": limit}).rowcount

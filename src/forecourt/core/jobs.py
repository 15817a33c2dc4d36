"""The job queue and the schedule: Huey, on the embedded default and on the production store.

Huey (MIT) runs the worker's tasks on threads, retries them with back-off and fires periodic tasks
from crontab lines. Its queue lives apart from what the tasks act on: the durable state (events,
e-mails, reminders) is in Forecourt's own tables, so losing the queue loses no work, only a trigger
that the schedule fires again.

* SQLite (the default): Huey's own ``SqliteHuey`` in a file beside the database
  (``var/forecourt.jobs.db`` for ``var/forecourt.db``), so the queue never takes the database's
  single write lock from ingest.
* PostgreSQL: ``PostgresStorage`` below, the queue in the database's own ``job_*`` tables (made by
  the migrations), dequeued with ``FOR UPDATE SKIP LOCKED`` so any number of workers share it.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from pathlib import Path

from huey import Huey, SqliteHuey, crontab
from huey.constants import EmptyData
from huey.storage import BaseStorage

from forecourt.core.config import Settings, ensure_sqlite_dir

QUEUE = "forecourt"


def jobs_url(settings: Settings) -> str:
    """Where the queue lives (``FORECOURT_JOBS_URL``, else beside or inside the database)."""
    if settings.jobs_url:
        return settings.jobs_url
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{path.with_name(path.stem + '.jobs' + (path.suffix or '.db'))}"
    return url


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    url = jobs_url(settings)
    if url.startswith("sqlite:///"):
        ensure_sqlite_dir(url)
        return SqliteHuey(QUEUE, filename=url.removeprefix("sqlite:///"), immediate=immediate, utc=True)
    if url.startswith("postgresql"):
        return Huey(QUEUE, storage_class=PostgresStorage, url=url, immediate=immediate, utc=True)
    raise ValueError(f"FORECOURT_JOBS_URL {url!r}: use sqlite:///PATH or postgresql+psycopg://...")


def schedule(line: str):
    """A crontab line from the settings as Huey's validator; ``None`` for "off"."""
    if line == "off":
        return None
    minute, hour, day, month, weekday = line.split()
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday)


class PostgresStorage(BaseStorage):
    """Huey's storage contract on PostgreSQL tables, through psycopg 3 (already a dependency)."""

    def __init__(self, name: str = QUEUE, url: str = "", **kwargs):
        super().__init__(name)
        self.dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.lock = threading.Lock()
        self._conn = None

    @contextlib.contextmanager
    def _cursor(self):
        import psycopg

        with self.lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.dsn, autocommit=False)
            try:
                with self._conn.cursor() as cursor:
                    yield cursor
                self._conn.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    self._conn.rollback()
                if self._conn.broken:
                    self._conn = None
                raise

    def _rows(self, sql: str, params=()):
        with self._cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def close(self):
        with self.lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        return True

    # queue
    def enqueue(self, data, priority=None):
        self._rows("INSERT INTO job_tasks (queue, data, priority) VALUES (%s, %s, %s)",
                   (self.name, bytes(data), priority or 0))

    def dequeue(self):
        rows = self._rows("DELETE FROM job_tasks WHERE id = (SELECT id FROM job_tasks WHERE queue = %s "
                          "ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING data", (self.name,))
        return bytes(rows[0][0]) if rows else None

    def queue_size(self):
        return self._rows("SELECT count(*) FROM job_tasks WHERE queue = %s", (self.name,))[0][0]

    def enqueued_items(self, limit=None):
        return [bytes(d) for d, in self._rows("SELECT data FROM job_tasks WHERE queue = %s ORDER BY priority DESC, "
                                              "id LIMIT %s", (self.name, limit))]

    def flush_queue(self):
        self._rows("DELETE FROM job_tasks WHERE queue = %s", (self.name,))

    # schedule
    def add_to_schedule(self, data, ts):
        self._rows("INSERT INTO job_schedule (queue, data, due) VALUES (%s, %s, %s)",
                   (self.name, bytes(data), _aware(ts)))

    def read_schedule(self, ts):
        rows = self._rows("DELETE FROM job_schedule WHERE id IN (SELECT id FROM job_schedule WHERE queue = %s AND "
                          "due <= %s FOR UPDATE SKIP LOCKED) RETURNING data, due, id", (self.name, _aware(ts)))
        return [bytes(data) for data, _, _ in sorted(rows, key=lambda row: (row[1], row[2]))]

    def schedule_size(self):
        return self._rows("SELECT count(*) FROM job_schedule WHERE queue = %s", (self.name,))[0][0]

    def scheduled_items(self, limit=None):
        return [bytes(d) for d, in self._rows("SELECT data FROM job_schedule WHERE queue = %s ORDER BY due LIMIT %s",
                                              (self.name, limit))]

    def flush_schedule(self):
        self._rows("DELETE FROM job_schedule WHERE queue = %s", (self.name,))

    # results and locks
    def put_data(self, key, value, is_result=False):
        self._rows("INSERT INTO job_kv (queue, key, value) VALUES (%s, %s, %s) "
                   "ON CONFLICT (queue, key) DO UPDATE SET value = EXCLUDED.value", (self.name, key, bytes(value)))

    def peek_data(self, key):
        rows = self._rows("SELECT value FROM job_kv WHERE queue = %s AND key = %s", (self.name, key))
        return bytes(rows[0][0]) if rows else EmptyData

    def pop_data(self, key):
        rows = self._rows("DELETE FROM job_kv WHERE queue = %s AND key = %s RETURNING value", (self.name, key))
        return bytes(rows[0][0]) if rows else EmptyData

    def has_data_for_key(self, key):
        return bool(self._rows("SELECT 1 FROM job_kv WHERE queue = %s AND key = %s", (self.name, key)))

    def put_if_empty(self, key, value, ttl=None):
        rows = self._rows("INSERT INTO job_kv (queue, key, value) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING "
                          "RETURNING key", (self.name, key, bytes(value)))
        return bool(rows)

    def result_store_size(self):
        return self._rows("SELECT count(*) FROM job_kv WHERE queue = %s", (self.name,))[0][0]

    def result_items(self):
        return {key: bytes(value) for key, value in
                self._rows("SELECT key, value FROM job_kv WHERE queue = %s", (self.name,))}

    def flush_results(self):
        self._rows("DELETE FROM job_kv WHERE queue = %s", (self.name,))

    def flush_counters(self):
        """Counters serve Huey's chords, which Forecourt does not use."""


def _aware(moment: datetime) -> datetime:
    """Huey hands naive UTC times (``utc=True``); the column is timestamptz."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

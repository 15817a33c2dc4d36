"""SQLite's single writer as a turn shared by every process on the database file, freed when its holder
dies, and the write-ahead log cut back by the worker's checkpoint. PostgreSQL has no turn."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import text

from forecourt.core.db import checkpoint_wal, get_engine, write_turn
from tests.conftest import test_database_kind as database_kind

# The first two tests make SQLite files of their own, so they run whichever engine the suite uses.


def test_one_turn_for_every_process_freed_when_its_holder_dies(tmp_path):
    url = f"sqlite:///{tmp_path / 'turn.db'}"
    turn = write_turn(get_engine(url))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from forecourt.core.db import WriteTurn
        turn = WriteTurn({turn.path!r})
        assert turn.acquire(5)
        print("holding", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        began = time.monotonic()
        assert not turn.acquire(0.3)  # another process holds it: the wait is bounded
        assert time.monotonic() - began < 2
        holder.kill()  # dies holding the turn
        holder.wait(10)
        assert turn.acquire(2)
        turn.release()
    finally:
        holder.kill()


def test_the_checkpoint_cuts_the_write_ahead_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO filler (body) VALUES (:body)"), [{"body": "x" * 2000}] * 2000)
    wal = Path(f"{tmp_path / 'wal.db'}-wal")
    with engine.connect() as reader:  # a connection stays open, as the server's pool keeps them
        reader.execute(text("SELECT count(*) FROM filler")).scalar()
        reader.commit()
        assert wal.stat().st_size > 1_000_000
        busy, _, _ = checkpoint_wal(engine)
        assert busy == 0
        assert wal.stat().st_size == 0


def test_postgresql_has_no_turn_to_take(database_url):
    engine = get_engine(database_url)
    if database_kind() == "sqlite":
        assert write_turn(engine) is not None
    else:
        assert write_turn(engine) is None and checkpoint_wal(engine) is None

"""What the ingest worker's helper processes (store, detectors) have in common.

They are spawned, not forked, so nothing of the worker's threads or open connections leaks into
them; what they run must therefore travel by name (module-level functions). They ignore SIGINT
and SIGTERM, because the worker decides when they stop (after its last batch), and they exit on
their own when the worker is gone, so a SIGKILLed worker leaves nothing behind.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker


def spawner():
    return multiprocessing.get_context("spawn")


def begin(database_url: str, setup: Callable | None) -> sessionmaker[Session]:
    """First thing in a child: leave stopping to the worker, connect, run ``setup`` (handlers)."""
    from forecourt.core.db import get_engine, make_sessionmaker

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    sessions = make_sessionmaker(get_engine(database_url))
    if setup is not None:
        setup(sessions)
    return sessions


def orphaned() -> bool:
    """The worker that started this process is gone: the broker redelivers to its successor."""
    parent = multiprocessing.parent_process()
    return parent is not None and not parent.is_alive()


def stop(process, timeout: float) -> None:
    """Wait for a child that was asked to finish; one that does not, is terminated."""
    process.join(timeout)
    if process.is_alive():
        process.terminate()

"""What the ingest worker's helper processes (store, detectors) have in common.

They are spawned, not forked, so nothing of the worker's threads or open connections leaks into
them; what they run must therefore travel by name (module-level functions). They ignore SIGINT
and SIGTERM, because the worker decides when they stop (after its last batch), and they exit on
their own when the worker is gone, so a SIGKILLed worker leaves nothing behind.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker


def spawner():
    return multiprocessing.get_context("spawn")


def begin(database_url: str, setup: Callable | None, ready=None) -> sessionmaker[Session]:
    """First thing in a child: leave stopping to the worker, connect, run ``setup`` (handlers),
    then set ``ready`` (an event of the spawn context) for ``wait_ready``."""
    from forecourt.core.db import get_engine, make_sessionmaker

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    sessions = make_sessionmaker(get_engine(database_url))
    if setup is not None:
        setup(sessions)
    with sessions() as session:  # connect now, not on the first batch
        session.connection()
    if ready is not None:
        ready.set()
    return sessions


def wait_ready(process, ready, *, name: str, timeout: float) -> None:
    """Until a child set by ``begin`` has imported, connected and subscribed its handlers.

    A spawned child takes a second or two to import the product; a worker that subscribed before
    its children were ready would take the broker's backlog into memory and sit on it meanwhile.
    """
    deadline = time.monotonic() + timeout
    while not ready.wait(0.2):
        if not process.is_alive():
            raise RuntimeError(f"the {name} process exited (code {process.exitcode}) while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {name} process was not ready after {timeout:.0f} s")


def orphaned() -> bool:
    """The worker that started this process is gone: the broker redelivers to its successor."""
    parent = multiprocessing.parent_process()
    return parent is not None and not parent.is_alive()


def stop(process, timeout: float) -> None:
    """Wait for a child that was asked to finish; one that does not, is terminated."""
    process.join(timeout)
    if process.is_alive():
        process.terminate()

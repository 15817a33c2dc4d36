"""Requests queue for the database on the event loop, holding no thread, before they take a connection.

A sync route and its sync dependencies run in anyio's worker threads, and a request's session holds
one pooled connection from its first statement until the route returns. When a burst of requests (60
console streams opened at once, a page refreshed by a crowd) each took a thread and then waited for a
connection, the requests that held connections needed another thread for their route's body and found
none: every thread waited for a connection held by a request waiting for a thread, until the pool's
wait failed them all. So a request first takes one of a few *turns* here, waiting on the event loop;
there are fewer turns than pooled connections and than worker threads, so whoever holds a turn always
gets both. A stream's push reads with a turn the same way (``reading``).

A turn that does not come within ``FORECOURT_WRITE_WAIT_SECONDS`` is answered 503 with ``Retry-After``:
the process is overloaded, and saying so beats an answer half a minute late.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
from sqlalchemy.engine import Engine

T = TypeVar("T")

RESERVED_CONNECTIONS = 2  # the case watcher and the access-log writer read and write outside any turn
WORKER_THREADS = 40  # anyio's default limit of worker threads per event loop (starlette runs sync code there)
RESERVED_THREADS = 8  # password hashing, file reads and the like run in worker threads without a connection


def of_this_loop(made: weakref.WeakKeyDictionary, make: Callable[[], T]) -> T:
    """The running event loop's own instance: asyncio primitives belong to the loop they were made on
    (a test may run several loops in one process)."""
    loop = asyncio.get_running_loop()
    found = made.get(loop)
    if found is None:
        found = made[loop] = make()
    return found


class Overloaded(Exception):
    """No turn came within the wait."""


class ConnectionGate:
    def __init__(self, *, capacity: int, wait_seconds: float):
        self.capacity = max(1, capacity)
        self.wait_seconds = wait_seconds
        self._semaphores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one per event loop

    def _semaphore(self) -> asyncio.Semaphore:
        return of_this_loop(self._semaphores, lambda: asyncio.Semaphore(self.capacity))

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        semaphore = self._semaphore()
        try:
            async with asyncio.timeout(self.wait_seconds):
                await semaphore.acquire()
        except TimeoutError:
            raise Overloaded from None
        try:
            yield
        finally:
            semaphore.release()

    async def reading(self, read: Callable[..., T], *args) -> T:
        """``read`` (which opens its own session) in a worker thread, once a turn is ours."""
        async with self.turn():
            return await anyio.to_thread.run_sync(read, *args)


def capacity_for(engine: Engine) -> int:
    """Turns: below the pool's connections (some kept for the watcher and the log writer) and below
    the worker threads (some kept for work that needs no connection)."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    connections = size() + max(getattr(pool, "_max_overflow", 0), 0) if callable(size) else WORKER_THREADS
    return max(1, min(connections - RESERVED_CONNECTIONS, WORKER_THREADS - RESERVED_THREADS))

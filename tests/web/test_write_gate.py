"""Web writers queue for SQLite's single writer and only for it: on PostgreSQL they run side by side,
so one slow write (a login's password check on a busy machine) holds up no other."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest

from forecourt.web import writes


def _app(*, single_writer: bool):
    inside = {"now": 0, "most": 0}
    both_in = asyncio.Event()

    async def endpoint(scope, receive, send):
        inside["now"] += 1
        inside["most"] = max(inside["most"], inside["now"])
        if inside["now"] == 2:
            both_in.set()
        try:
            await asyncio.wait_for(both_in.wait(), timeout=0.5)  # a writer that takes its time
        except TimeoutError:
            pass
        inside["now"] -= 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = writes.WriteTurns(endpoint)
    state = SimpleNamespace(write_gate=writes.WriteGate(single_writer=single_writer),
                            settings=SimpleNamespace(write_wait_seconds=5), write_stats=writes.WriteStats())

    async def app(scope, receive, send):
        scope["app"] = SimpleNamespace(state=state)
        await middleware(scope, receive, send)

    return app, inside


async def _two_writes(app) -> list[int]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answers = await asyncio.gather(client.post("/a"), client.post("/b"))
    return [a.status_code for a in answers]


def _run(coroutine_function, *args):
    """On an event loop of its own, in a thread: the suite may already run a loop in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function(*args))).result(timeout=30)


@pytest.mark.parametrize("single_writer, most_at_once", [(True, 1), (False, 2)])
def test_writers_wait_for_each_other_only_where_the_database_has_one_writer(single_writer, most_at_once):
    app, inside = _app(single_writer=single_writer)
    assert _run(_two_writes, app) == [204, 204]
    assert inside["most"] == most_at_once

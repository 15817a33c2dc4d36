"""The real application behind a real uvicorn server on 127.0.0.1, in a thread of this process.

A thread rather than a subprocess keeps the benchmark one command with no ports to clean up;
the price is that the HTTP client shares the interpreter with the server, which the JSON
figures include (well under a millisecond per request) and the SQL baseline does not.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from forecourt.core.config import Settings
from forecourt.web.app import create_app


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """Yields the base URL of a running server and its app; stops the server on exit."""
    # Created with IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections (it checks the
    # protocol number); without it Nagle and delayed ACKs add ~40 ms to every response.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="bench-uvicorn",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("The benchmark server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()

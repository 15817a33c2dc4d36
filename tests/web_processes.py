"""Web processes on loopback, as several hosts behind a load balancer run them: what the push tests share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.telematics.broker import free_port


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def web_processes(url: str, count: int, log: Path) -> Iterator[list[int]]:
    """``count`` ``forecourt serve`` processes on one database, each answering, their ports yielded;
    their output goes to ``log`` (for an assertion's message), and they are stopped afterwards."""
    env = os.environ | {"FORECOURT_DATABASE_URL": url, "FORECOURT_COOKIE_SECURE": "false"}
    ports = [free_port() for _ in range(count)]
    with log.open("wb") as out:
        processes = [subprocess.Popen([sys.executable, "-m", "forecourt.cli", "serve", "--no-migrate", "--port",
                                       str(port)], env=env, stdout=out, stderr=subprocess.STDOUT) for port in ports]
        try:
            for port in ports:
                wait_until(lambda: _answers(port), 120, f"the web process on {port}")  # noqa: B023
            yield ports
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)

"""A private Mosquitto for the telemetry benchmark: a free port, unlimited inflight and queue.

Unlimited, so the broker holds a whole backlog for an offline subscriber and never throttles how
many messages await acknowledgement: the worker's commit-then-PUBACK is what is measured.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def private_mosquitto(directory: Path) -> Iterator[str]:
    """Yields ``mqtt://127.0.0.1:PORT``; the broker is stopped (and its messages gone) on exit."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / f"mosquitto-{port}.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                      "max_inflight_messages 0\nmax_queued_messages 0\nmax_queued_bytes 0\n")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"mosquitto did not start: {process.stderr.read().decode()}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start within 10 s") from None
                time.sleep(0.05)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        config.unlink(missing_ok=True)

"""Running ``forecourt`` as a person does: a separate process with the environment as its settings.

A separate process, not an in-process runner, because what breaks a command is often the process
itself (which modules it loads, which tables its metadata knows), and the tests around it have
already loaded everything.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

COMMAND = [sys.executable, "-m", "forecourt.cli"]


def environment(url: str, **settings: str) -> dict:
    """The caller's environment with the database and ``FORECOURT_<NAME>`` settings; wide, plain output."""
    return os.environ | {"FORECOURT_DATABASE_URL": url, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"} | {
        f"FORECOURT_{name.upper()}": str(value) for name, value in settings.items()}


def run(args: list[str], url: str, *, timeout: float = 300, **settings) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], env=environment(url, **settings), capture_output=True, text=True,
                          timeout=timeout)


class Running:
    """A long-running command in the background, its output in a file, stopped like Ctrl-C or systemd does."""

    def __init__(self, args: list[str], url: str, log: Path, **settings):
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen([*COMMAND, *args], env=environment(url, **settings), stdout=output,
                                            stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the command exited ({self.process.returncode}) before {what}:\n{self.output()}")
            time.sleep(0.2)
        raise AssertionError(f"timed out after {seconds}s waiting for {what}:\n{self.output()[-4000:]}")

    def stop(self, signum: int = signal.SIGTERM, seconds: float = 60) -> int:
        """Sends ``signum`` and waits for the exit; returns the exit code (kills only if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
                raise AssertionError(f"did not stop within {seconds}s of signal {signum}:\n{self.output()[-4000:]}")
        return self.process.returncode


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False

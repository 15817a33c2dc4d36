"""Running the real ``forecourt worker`` against a test database and a real SMTP server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.customers.test_notify import free_port

SCHEDULES = ("ONCALL_REMINDERS", "RECALL_REMINDERS", "PROPOSAL_EXPIRY", "POSITION_RETENTION", "LEDGER_RETENTION",
             "EVENT_CLEANUP", "NPS_ESCALATION", "COMMAND_TIMEOUTS", "PARTITIONS")


class SlowInbox:
    """An SMTP server that records each message on receipt, then takes ``delay`` seconds to say 250:
    a sender killed in that moment never learns that its message arrived."""

    def __init__(self, delay: float = 0.0):
        self.delay, self.subjects = delay, Counter()

    async def handle_DATA(self, server, session, envelope):
        self.subjects[message_from_bytes(envelope.content, policy=policy.default)["Subject"]] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


class MailServer:
    def __init__(self, delay: float = 0.0):
        self.inbox = SlowInbox(delay)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=free_port())

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port


def start_worker(url: str, log: Path, *, smtp_port: int, schedule: str = "off", **settings) -> subprocess.Popen:
    """``forecourt worker`` with a short poll; ``schedule`` for every scheduled job ("* * * * *": at start)."""
    env = os.environ | {"FORECOURT_DATABASE_URL": url, "FORECOURT_SMTP_HOST": "127.0.0.1",
                        "FORECOURT_SMTP_PORT": str(smtp_port), "FORECOURT_WORKER_POLL_SECONDS": "0.3",
                        "FORECOURT_HEARTBEAT_SECONDS": "1"}
    env |= {f"FORECOURT_SCHEDULE_{name}": schedule for name in SCHEDULES}
    env |= {f"FORECOURT_{key.upper()}": str(value) for key, value in settings.items()}
    with log.open("ab") as output:
        return subprocess.Popen([sys.executable, "-m", "forecourt.cli", "worker"], env=env, cwd=log.parent,
                                stdout=output, stderr=subprocess.STDOUT)


def wait_for(condition, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()

"""The development mail sink: an SMTP server that keeps every e-mail in a maildir instead of sending it.

``make run`` starts it (``forecourt mailsink``) and points ``FORECOURT_SMTP_HOST``/``PORT`` at it, so
the demo's recall notices, service proposals and dispatch notices really leave through SMTP and land
where the carmaker's administrator can read them (``/admin/mail``). The server and the maildir
handler are aiosmtpd's; the maildir is the standard format, so any mail reader can open it too.
Never for production: it accepts mail for anyone, from anyone, without TLS.

Reading gives the text part as text and an HTML part as a string for the page to show in a
sandboxed frame; nothing from a message is ever trusted as markup of the admin page itself.
"""

from __future__ import annotations

import mailbox
import os
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from forecourt.core.errors import NotFound

KEY = re.compile(r"^[A-Za-z0-9._,:=-]{1,200}$")  # what Maildir names its files
SHOWN_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
                 "X-RcptTo")


def start(*, directory: str, host: str, port: int) -> Controller:
    """Starts catching mail on ``host:port`` (in a thread of its own); ``stop()`` the controller to end."""
    for folder in ("tmp", "new", "cur"):  # a maildir's three folders, also in a directory that exists already
        (Path(directory) / folder).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(directory), hostname=host, port=port,
                            server_hostname="forecourt-mailsink", ident="Forecourt mail sink")
    controller.start()
    return controller


def _maildir(directory: str) -> mailbox.Maildir | None:
    if not (Path(directory) / "cur").is_dir():
        return None
    return mailbox.Maildir(directory, create=False)


def _parsed(box: mailbox.Maildir, key: str) -> EmailMessage:
    with box.get_file(key) as handle:
        return message_from_bytes(handle.read(), policy=policy.default)


def _date(message: EmailMessage):
    try:
        return parsedate_to_datetime(message["Date"]) if message["Date"] else None
    except (TypeError, ValueError):
        return None


def caught(*, directory: str, limit: int = 200) -> list[dict]:
    """The newest ``limit`` messages, newest first (by when the sink stored them)."""
    box = _maildir(directory)
    if box is None:
        return []
    stored = [(entry.stat().st_mtime, entry.name.split(":")[0])  # a file's name is its key, then its flags
              for folder in ("new", "cur") for entry in os.scandir(Path(directory) / folder)
              if not entry.name.startswith(".")]
    found = []
    for _, key in sorted(stored, reverse=True)[:limit]:
        message = _parsed(box, key)
        found.append({"key": key, "from": str(message["From"] or ""), "to": str(message["To"] or ""),
                      "subject": str(message["Subject"] or ""), "date": _date(message),
                      "unsubscribe": message["List-Unsubscribe"] is not None})
    return found


def _text_of(part) -> str:
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset or a broken part: show the bytes
        return (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")


def read(*, directory: str, key: str) -> dict:
    """One message: its main headers, its text, its HTML (as a string, for a sandboxed frame) and the
    names of its attachments."""
    box = _maildir(directory)
    if box is None or not KEY.match(key) or key not in box:
        raise NotFound("No such message")
    message = _parsed(box, key)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    attachments = [{"filename": part.get_filename() or "(unnamed)", "type": part.get_content_type(),
                    "size": len(part.get_payload(decode=True) or b"")} for part in message.iter_attachments()]
    unsubscribe = re.search(r"<(https?://[^>\s]+)>", str(message["List-Unsubscribe"] or ""))
    return {"key": key, "headers": [(name, str(message[name])) for name in SHOWN_HEADERS if message[name]],
            "subject": str(message["Subject"] or ""), "date": _date(message),
            "text": _text_of(text_part) if text_part is not None else None,
            "html": _text_of(html_part) if html_part is not None else None,
            "attachments": attachments, "unsubscribe_url": unsubscribe.group(1) if unsubscribe else None}

"""E-mail as a mail provider accepts it: the message's headers, and the SMTP connection that carries it.

Mail providers reject or bin messages without ``Date`` and ``Message-ID``, and bulk senders must offer
one-click unsubscribe (RFC 8058: ``List-Unsubscribe`` with an HTTPS link and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click``). Every message that rests on the reader's consent carries that link; it
withdraws every grant the message rested on (``consent.unsubscribe``). A message from several senders
(the coordinated offer) also names each sender and purpose in its text with a link of its own, so the
reader can stop one and keep the others. Recall notices, dispatch notices and contract reminders rest
on another legal basis, so there is nothing to unsubscribe from.

The connection follows ``FORECOURT_SMTP_SECURITY``: ``starttls`` refuses to go on in clear text when
the server does not offer STARTTLS, ``tls`` speaks TLS from the first byte; both verify the server's
certificate against the system's CAs and ``FORECOURT_SMTP_CA_FILE``. The login, when configured, is
sent only over TLS (the settings refuse a user without it).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from sqlalchemy.orm import Session

from forecourt.consent import unsubscribe
from forecourt.core.clock import now
from forecourt.core.config import Settings
from forecourt.core.i18n import _, translate
from forecourt.core import outbox
from forecourt.core.outbox import OutboxMessage


def sender_domain(settings: Settings) -> str:
    """Message-IDs carry the sender's own domain, as providers expect of a well-behaved sender."""
    address = parseaddr(settings.mail_from)[1]
    return address.rpartition("@")[2] or "forecourt.example"


def _link(settings: Settings, token: str) -> str:
    return f"{settings.portal_url.rstrip('/')}/unsubscribe/{token}"


def unsubscribe_url(*, message: OutboxMessage, settings: Settings) -> str | None:
    """The header's one-click link: every grant the message rests on, or None for any other message."""
    pairs = outbox.grants_resting_on(message)
    if not pairs:
        return None
    return _link(settings, unsubscribe.token_for_all(secret_key=settings.secret_key, customer_id=message.customer_id,
                                                     pairs=pairs))


def sender_links(*, message: OutboxMessage, settings: Settings, session: Session) -> list[tuple[str, str, str]]:
    """(organization, purpose, link) for each grant of a message from several senders; empty for one."""
    pairs = outbox.grants_resting_on(message)
    if len(pairs) < 2:
        return []
    found = []
    for organization_id, purpose in pairs:
        token = unsubscribe.token_for(secret_key=settings.secret_key, customer_id=message.customer_id,
                                      organization_id=organization_id, purpose=purpose)
        named = unsubscribe.describe(session=session, request=unsubscribe.Unsubscribe(
            customer_id=message.customer_id, pairs=((organization_id, purpose),)))
        found.append((named["organization"], translate(named["purpose"]), _link(settings, token)))
    return found


def compose(*, message: OutboxMessage, to: str, settings: Settings,
            session: Session | None = None) -> EmailMessage:
    """The e-mail; with a ``session``, a message from several senders names each with its own link."""
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now())
    email["Message-ID"] = make_msgid(domain=sender_domain(settings))
    body = message.body
    if message.link:
        body += "\n\n" + _("See it in your Forecourt portal: %(url)s",
                           url=f"{settings.portal_url.rstrip('/')}{message.link}")
    leave = unsubscribe_url(message=message, settings=settings)
    if leave is not None:
        email["List-Unsubscribe"] = f"<{leave}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        senders = sender_links(message=message, settings=settings, session=session) if session is not None else []
        for organization, purpose, url in senders:
            body += "\n\n" + _("To stop %(organization)s writing to you about “%(purpose)s”: %(url)s",
                                organization=organization, purpose=purpose, url=url)
        body += "\n\n" + (_("To stop all of these senders at once: %(url)s", url=leave) if senders else
                           _("You receive this because you allowed it. To stop these e-mails: %(url)s", url=leave))
    email.set_content(body)
    return email


def tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.smtp_ca_file:
        context.load_verify_locations(cafile=settings.smtp_ca_file)  # besides the system's CAs
    return context


def connect(settings: Settings) -> smtplib.SMTP:
    """An SMTP connection as the settings ask: plain, STARTTLS or implicit TLS, logged in if configured."""
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_seconds
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(settings))
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=tls_context(settings))  # SMTPNotSupportedError if not offered: never go on in clear
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


class Mailer:
    """One SMTP connection for a batch, reopened after a failure."""

    def __init__(self, settings: Settings):
        self.settings, self.smtp = settings, None

    def send(self, email: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = connect(self.settings)
        try:
            self.smtp.send_message(email)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None

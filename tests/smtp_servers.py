"""Real SMTP servers for the mail tests (aiosmtpd on free ports): plain, STARTTLS and implicit TLS, with
AUTH LOGIN/PLAIN against one user, and a TLS certificate made for the test (trustme: a throw-away
self-signed CA and a certificate for 127.0.0.1 signed by it)."""

from __future__ import annotations

import socket
import ssl
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "forecourt-mailer", "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    recipients: list[str]
    message: object
    tls: bool
    user: str | None


@dataclass
class MailServer:
    """What the server received, and how: over TLS or not, by which logged-in user."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted)
    ca_file: str | None = None

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Received(recipients=list(envelope.rcpt_tos),
                                      message=message_from_bytes(envelope.content, policy=policy.default),
                                      tls=server.transport.get_extra_info("ssl_object") is not None,
                                      user=session.auth_data))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        accepted = (user, password) == (USER, PASSWORD)
        self.logins.append((user, accepted))
        return AuthResult(success=accepted, handled=False, auth_data=user if accepted else None)


@dataclass
class Certificates:
    ca_file: str
    server_context: ssl.SSLContext


def certificates(directory: Path) -> Certificates:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(context)
    ca_file = directory / "test-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return Certificates(ca_file=str(ca_file), server_context=context)


@contextmanager
def mail_server(*, security: str = "none", certs: Certificates | None = None, auth: bool = False,
                offer_starttls: bool = True):
    """A running server: ``none`` plain, ``starttls`` (STARTTLS required before anything else when
    offered), ``tls`` (TLS from the first byte); ``auth`` requires AUTH with ``USER``/``PASSWORD``."""
    server = MailServer(ca_file=certs.ca_file if certs else None)
    options: dict = {}
    if auth:
        options |= {"authenticator": server.authenticate, "auth_required": True,
                    # implicit TLS is TLS from the first byte, which aiosmtpd 1.4 does not count as TLS for AUTH
                    "auth_require_tls": security == "starttls"}
    if security == "starttls" and offer_starttls:
        options |= {"tls_context": certs.server_context, "require_starttls": True}
    if security == "tls":
        options |= {"ssl_context": certs.server_context}
    controller = Controller(server, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    server.port = controller.port
    try:
        yield server
    finally:
        controller.stop()

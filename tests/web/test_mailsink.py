"""The development mail sink: a real SMTP server keeps what it is sent in a maildir, and the carmaker's
administrator reads it in the browser, with nothing from a mail body able to run as script."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from forecourt.core import mailsink
from forecourt.core.auth import Role
from forecourt.core.config import get_settings
from tests.smtp_servers import free_port

HOSTILE_HTML = ('<p id="hello">Winter offer</p><script>parent.document.title = "pwned"</script>'
                '<img src="x" onerror="parent.document.body.dataset.pwned = 1">')


def hostile_email(html: str = HOSTILE_HTML) -> EmailMessage:
    email = EmailMessage()
    email["From"], email["To"] = "Aurora <offers@aurora.example>", "lena@example.test"
    email["Subject"] = "Winter tyres <b>now</b>"
    email["List-Unsubscribe"] = "<https://portal.forecourt.example/unsubscribe/abc.def>"
    email.set_content("Plain part with <script>alert(1)</script> in it.")
    email.add_alternative(html, subtype="html")
    email.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf", filename="offer.pdf")
    return email


@pytest.fixture
def sink(tmp_path):
    """A running mail sink on a free port, keeping mail in a maildir under ``tmp_path``."""
    directory = str(tmp_path / "mail")
    controller = mailsink.start(directory=directory, host="127.0.0.1", port=free_port())
    yield directory, controller.port
    controller.stop()


@pytest.fixture
def admin(app, make, visit, sink):
    app.state.settings = get_settings(**(app.state.settings.model_dump() | {"mailsink_dir": sink[0]}))
    return visit(make.staff(make.carmaker(), Role.CARMAKER_ADMIN).email)


def send(port: int, email: EmailMessage, recipients: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(email, to_addrs=recipients)


def test_what_the_sink_catches_is_listed_newest_first_and_read_safely(sink, admin):
    directory, port = sink
    first = EmailMessage()
    first["From"], first["To"], first["Subject"] = "recalls@aurora.example", "owner@example.test", "Safety recall"
    first.set_content("Book it at any dealer.")
    send(port, first, ["owner@example.test"])
    send(port, hostile_email(), ["lena@example.test", "copy@example.test"])

    listing = admin.get("/admin/mail")
    assert listing.status_code == 200
    assert listing.text.index("Winter tyres &lt;b&gt;now&lt;/b&gt;") < listing.text.index("Safety recall")
    newest = mailsink.caught(directory=directory)[0]
    assert newest["subject"] == "Winter tyres <b>now</b>" and newest["unsubscribe"]

    page = admin.get(f"/admin/mail/{newest['key']}")
    assert page.status_code == 200
    html = page.text
    # the text part is text; the HTML part only inside a frame without scripts; the attachment is not opened
    assert "Plain part with &lt;script&gt;alert(1)&lt;/script&gt; in it." in html
    assert "<script>alert(1)" not in html and "<script>parent" not in html and "onerror=\"parent" not in html
    assert 'sandbox=""' in html and "srcdoc=\"&lt;p id=&#34;hello&#34;&gt;Winter offer" in html
    assert "offer.pdf · application/pdf" in html and "not really" not in html
    assert "X-RcptTo" in html and "lena@example.test, copy@example.test" in html  # who the sink was sent to
    assert 'href="https://portal.forecourt.example/unsubscribe/abc.def"' in html
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_keys_that_are_not_messages_are_not_found(sink, admin):
    for key in ("..%2F..%2Fetc%2Fpasswd", "no-such-message", "cur"):
        assert admin.get(f"/admin/mail/{key}").status_code == 404


def test_an_empty_sink_says_how_mail_gets_there(admin, sink):
    page = admin.get("/admin/mail")
    assert page.status_code == 200 and "Nothing caught yet" in page.text and "make run" in page.text

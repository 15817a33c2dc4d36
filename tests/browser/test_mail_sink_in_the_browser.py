"""The admin reads a hostile e-mail from the development mail sink in Chromium: nothing in it runs."""

from __future__ import annotations

import smtplib
import uuid

import pytest
from playwright.sync_api import expect

from forecourt.core import mailsink
from forecourt.core.auth import Role
from forecourt.core.config import get_settings
from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_live_trip import _carmaker
from tests.smtp_servers import free_port
from tests.web.test_mailsink import hostile_email

pytestmark = pytest.mark.browser


@pytest.fixture
def sink_of_the_live_server(live_server, tmp_path):
    """The live server reads a mail sink of this test's own; the setting is put back afterwards."""
    directory = str(tmp_path / "mail")
    original = live_server.app.state.settings
    live_server.app.state.settings = get_settings(**(original.model_dump() | {"mailsink_dir": directory}))
    controller = mailsink.start(directory=directory, host="127.0.0.1", port=free_port())
    yield controller.port
    controller.stop()
    live_server.app.state.settings = original


def test_a_mail_body_cannot_run_script_in_the_admins_browser(new_context, seed_sessions, sink_of_the_live_server):
    email = hostile_email(  # scripts that would leave a mark, in the frame or in the page
        '<p id="hello">Winter offer</p><script>document.body.dataset.ran = "script"; alert("script")</script>'
        '<img src="x" onerror="document.body.dataset.ran = \'onerror\'; alert(\'img\')">')
    with smtplib.SMTP("127.0.0.1", sink_of_the_live_server, timeout=10) as smtp:
        smtp.send_message(email, to_addrs=["lena@example.test"])
    tag = uuid.uuid4().hex[:6]
    with transaction(seed_sessions) as session:
        admin = parties_service.create_user(session=session, email=f"admin-{tag}@aurora.example", password=PASSWORD,
                                            display_name="Ada Admin", role=Role.CARMAKER_ADMIN,
                                            organization_id=_carmaker(session).id)
    page = new_context().new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, admin.email)
    page.goto("/admin/mail")
    page.get_by_role("link", name="Winter tyres <b>now</b>").click()
    frame = page.frame_locator("#html")
    expect(frame.locator("#hello")).to_have_text("Winter offer")  # the HTML is shown
    page.wait_for_timeout(500)  # time for anything that could run to have run
    assert frame.locator("body").get_attribute("data-ran") is None
    assert page.evaluate("document.body.dataset.ran") is None and dialogs == []
    expect(page.locator("#text")).to_contain_text("<script>alert(1)</script>")  # text stays text

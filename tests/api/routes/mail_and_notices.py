"""Access-control classes of the mail and dispatch-notice routes (see tests/api/test_access_control.py).

The one-click unsubscribe pages are PUBLIC: the signed link is the credential, and the page names only
the organization and the purpose, never the person. The mail sink and the providers' webhooks are the
carmaker administrator's (ADMIN). A provider answers a dispatch made to it (PROVIDER): its staff with a
token; everybody else gets 404.
"""

from __future__ import annotations

import mailbox
from email.message import EmailMessage

from forecourt.assist import providers
from forecourt.consent import unsubscribe
from forecourt.core.config import get_settings
from tests.api.acl_rules import ADMIN, PROVIDER, PUBLIC, Rule
from tests.api.routes.oncall_dispatch import dispatch_to_a, tow_partner


def unsubscribe_link(w) -> dict:
    """Customer A's link to stop dealer A's marketing offers (A granted them first)."""
    w.grant(w.dealer, "marketing_offers")
    settings = w.client.app.state.settings
    return {"token": unsubscribe.token_for(secret_key=settings.secret_key, customer_id=w.customer.id,
                                           organization_id=w.dealer.id, purpose="marketing_offers")}


def webhook_of_a(w) -> dict:
    providers.set_endpoint(session=w.session, organization_id=w.dealer.id, url="https://dealer-a.example/hook")
    w.session.commit()
    return {}


def caught_message(w) -> dict:
    """One e-mail in a mail sink of this test's own (the app reads FORECOURT_MAILSINK_DIR)."""
    if not hasattr(w, "_mail_key"):
        directory = _maildir(w)
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = "a@forecourt.example", "b@example.test", "Caught"
        email.set_content("Hello")
        w._mail_key = mailbox.Maildir(directory).add(email)
    return {"key": w._mail_key}


def _maildir(w) -> str:
    import tempfile

    directory = f"{tempfile.mkdtemp(prefix='acl-mail-')}/maildir"  # Maildir makes its folders only when new
    app = w.client.app
    app.state.settings = get_settings(**(app.state.settings.model_dump() | {"mailsink_dir": directory}))
    return directory


ROUTES: dict = {
    ("GET", "/unsubscribe/{token}"): Rule(PUBLIC, params=unsubscribe_link),
    ("POST", "/unsubscribe/{token}"): Rule(PUBLIC, params=unsubscribe_link,
                                           form=lambda w: {"List-Unsubscribe": "One-Click"}),
    ("GET", "/admin/mail"): Rule(ADMIN),
    ("GET", "/admin/mail/{key}"): Rule(ADMIN, params=caught_message),
    ("PUT", "/api/admin/organizations/{organization_id}/dispatch-webhook"): Rule(
        ADMIN, json=lambda w: {"url": "https://dealer-a.example/hook"}),
    ("DELETE", "/api/admin/organizations/{organization_id}/dispatch-webhook"): Rule(
        ADMIN, params=webhook_of_a, ok=(204,)),
    ("POST", "/api/dispatches/{dispatch_id}/answer"): Rule(
        PROVIDER, params=dispatch_to_a, json=lambda w: {"answer": "accepted"}),
}

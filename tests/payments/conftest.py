"""An app whose customers pay by card: the real ``stripe`` library, pointed at a local stand-in API."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from tests.payments.card_server import SECRET_KEY, WEBHOOK_SECRET, start


@pytest.fixture
def card(settings, session_factory):
    from fastapi.testclient import TestClient

    from forecourt.web.app import create_app

    state, server = start()
    card_settings = settings.model_copy(update=dict(
        payment_provider="stripe", stripe_secret_key=SecretStr(SECRET_KEY),
        stripe_webhook_secret=SecretStr(WEBHOOK_SECRET), stripe_publishable_key="pk_test_forecourt",
        stripe_api_base=state.url))
    application = create_app(card_settings)
    application.state.sessionmaker = session_factory
    try:
        with TestClient(application, base_url="http://testserver", headers={"Accept-Language": "en"}) as client:
            yield SimpleNamespace(server=state, client=client, gateway=application.state.payment_gateway)
    finally:
        server.shutdown()
        server.server_close()

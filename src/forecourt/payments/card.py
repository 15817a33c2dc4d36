"""The card provider: Stripe, through its official library.

Payment intents are created with the secret key; the customer's browser confirms them with the
client secret (card details never reach Forecourt). Money counts as received only when a webhook
says so and its signature verifies against the endpoint secret (``stripe.Webhook.construct_event``);
an unsigned or wrongly signed notification changes nothing. The API base is a setting so a test can
point the library at a local server instead of the network.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

import stripe

from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _
from forecourt.payments.providers import CARD, Confirmed, Opened

if TYPE_CHECKING:
    from forecourt.core.config import Settings
    from forecourt.payments.models import Payment

log = logging.getLogger(__name__)
CENTS = Decimal(100)


def cents(amount) -> int:
    return int((Decimal(str(amount)) * CENTS).to_integral_value())


def euros(minor: int) -> Decimal:
    return (Decimal(int(minor)) / CENTS).quantize(Decimal("0.01"))


class CardProvider:
    name = CARD
    online = True

    def __init__(self, *, secret_key: str, webhook_secret: str, publishable_key: str = "",
                 api_base: str | None = None, client: stripe.StripeClient | None = None):
        if not secret_key or not webhook_secret:
            raise ValueError("The card provider needs FORECOURT_STRIPE_SECRET_KEY and FORECOURT_STRIPE_WEBHOOK_SECRET.")
        self.publishable_key = publishable_key
        self._webhook_secret = webhook_secret
        self._client = client or stripe.StripeClient(
            secret_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=2)

    @classmethod
    def from_settings(cls, settings: Settings) -> CardProvider:
        secret = settings.stripe_secret_key.get_secret_value() if settings.stripe_secret_key else ""
        hook = settings.stripe_webhook_secret.get_secret_value() if settings.stripe_webhook_secret else ""
        return cls(secret_key=secret, webhook_secret=hook, publishable_key=settings.stripe_publishable_key,
                   api_base=settings.stripe_api_base)

    # --- calls to the provider ---------------------------------------------------------------------

    def _call(self, what: str, call):
        try:
            return call()
        except stripe.StripeError as error:
            log.warning("card provider refused %s: %s", what, error)
            raise Conflict(_("The card payment service did not answer; nothing was charged. Please try again "
                             "in a moment.")) from None

    def open(self, *, payment: Payment) -> Opened:
        params = {"amount": cents(payment.amount), "currency": payment.currency.lower(),
                  "capture_method": "manual" if payment.capture == "manual" else "automatic",
                  "automatic_payment_methods": {"enabled": True},
                  "description": f"{payment.purpose.replace('_', ' ')} {payment.reference}",
                  "metadata": {"forecourt_payment": payment.reference}}
        intent = self._call("a new payment", lambda: self._client.v1.payment_intents.create(
            params=params, options={"idempotency_key": f"forecourt-open-{payment.reference}"}))
        return Opened(provider_reference=intent.id, client_secret=intent.client_secret)

    def capture(self, *, payment: Payment, amount: Decimal, key: str) -> None:
        self._call("a capture", lambda: self._client.v1.payment_intents.capture(
            payment.provider_reference, params={"amount_to_capture": cents(amount)},
            options={"idempotency_key": key}))

    def release(self, *, payment: Payment, key: str) -> None:
        self._call("a release", lambda: self._client.v1.payment_intents.cancel(
            payment.provider_reference, options={"idempotency_key": key}))

    def refund(self, *, payment: Payment, amount: Decimal, key: str) -> Confirmed | None:
        """Stripe answers at once; a refund still pending is recorded when its webhook says it succeeded."""
        refund = self._call("a refund", lambda: self._client.v1.refunds.create(
            params={"payment_intent": payment.provider_reference, "amount": cents(amount),
                    "metadata": {"forecourt_payment": payment.reference}},
            options={"idempotency_key": key}))
        return _refund(refund.to_dict())

    # --- notifications ---------------------------------------------------------------------------

    def confirmations(self, *, payload: bytes, signature: str | None) -> list[Confirmed]:
        """The facts in one webhook delivery, after its signature verified; raises ``Invalid`` otherwise."""
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except stripe.SignatureVerificationError:
            raise Invalid(_("The notification's signature does not verify; it was ignored."),
                          field="Stripe-Signature") from None
        except ValueError:
            raise Invalid(_("The notification is not a card provider event."), field="body") from None
        found = event.data.object
        kind = event.type
        if kind == "payment_intent.succeeded":
            return [Confirmed(found.id, "receipt", euros(found.amount_received), f"{found.id}:received",
                              currency=found.currency.upper(), details={"event": event.id})]
        if kind == "payment_intent.amount_capturable_updated" and found.amount_capturable:
            return [Confirmed(found.id, "authorisation", euros(found.amount_capturable), f"{found.id}:authorised",
                              currency=found.currency.upper(), details={"event": event.id})]
        if kind == "payment_intent.canceled":
            return [Confirmed(found.id, "cancelled", Decimal(0), f"{found.id}:cancelled",
                              currency=found.currency.upper(), details={"event": event.id})]
        if kind in ("refund.created", "refund.updated", "charge.refund.updated"):
            refund = _refund(found.to_dict())
            return [refund] if refund is not None else []
        return []  # other events say nothing about money we track


def _refund(refund: dict) -> Confirmed | None:
    if refund.get("status") != "succeeded" or not refund.get("payment_intent"):
        return None
    return Confirmed(refund["payment_intent"], "refund", euros(refund["amount"]), refund["id"],
                     currency=str(refund.get("currency") or "eur").upper())

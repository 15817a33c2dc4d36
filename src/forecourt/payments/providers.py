"""The payment interface: what every provider can do, the manual provider, and the gateway that holds them.

A provider moves money; the ledger (``payments.service``) records only what the provider confirmed
or what a cashier recorded. Nothing a customer sends is money received. The verbs cover a sale
(``open`` then a receipt), a deposit held and settled later (``open`` with manual capture, then
``capture`` or ``release``) and money paid back (``refund``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _

if TYPE_CHECKING:
    from forecourt.core.config import Settings
    from forecourt.payments.models import Payment

MANUAL = "manual"
CARD = "stripe"


@dataclass(frozen=True)
class Opened:
    """What the provider made of a new payment: its own id, and the secret a browser confirms it with."""

    provider_reference: str | None = None
    client_secret: str | None = None


@dataclass(frozen=True)
class Confirmed:
    """A movement of money the provider vouches for (a verified webhook, or its own answer to our call).

    ``fact`` identifies the movement itself, so the same fact delivered twice is recorded once.
    """

    provider_reference: str  # the payment at the provider ("pi_...")
    kind: str  # receipt | authorisation | release | refund | cancelled
    amount: Decimal
    fact: str
    currency: str = "EUR"
    details: dict = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str
    # The customer pays through the provider (a card online); otherwise a cashier takes the money.
    online: bool

    def open(self, *, payment: Payment) -> Opened: ...

    def capture(self, *, payment: Payment, amount: Decimal, key: str) -> None: ...

    def release(self, *, payment: Payment, key: str) -> None: ...

    def refund(self, *, payment: Payment, amount: Decimal, key: str) -> Confirmed | None: ...

    def confirmations(self, *, payload: bytes, signature: str | None) -> list[Confirmed]: ...


class ManualProvider:
    """Money taken at a till or by bank transfer. The provider itself does nothing: every movement is
    recorded by a cashier of the payee (``payments.service``), audited, and undone only by a reversal."""

    name = MANUAL
    online = False

    def open(self, *, payment: Payment) -> Opened:
        return Opened()

    def capture(self, *, payment: Payment, amount: Decimal, key: str) -> None:
        return None

    def release(self, *, payment: Payment, key: str) -> None:
        return None

    def refund(self, *, payment: Payment, amount: Decimal, key: str) -> Confirmed | None:
        return None  # the cashier hands the money back and records it

    def confirmations(self, *, payload: bytes, signature: str | None) -> list[Confirmed]:
        raise Invalid(_("Payments taken at the till have no notifications; a cashier records them."))


@dataclass
class Gateway:
    """The providers this installation uses. The manual provider is always there (a till takes cash
    whatever else is configured); ``default`` is the one customers pay through."""

    default: str = MANUAL
    providers: dict[str, PaymentProvider] = field(default_factory=lambda: {MANUAL: ManualProvider()})

    def provider(self, name: str | None = None) -> PaymentProvider:
        found = self.providers.get(name or self.default)
        if found is None:
            raise NotFound(_("This payment provider is not configured."))
        return found

    @property
    def online(self) -> PaymentProvider | None:
        """The provider customers pay through themselves, if any."""
        chosen = self.providers.get(self.default)
        return chosen if chosen is not None and chosen.online else None


def gateway_from(settings: Settings) -> Gateway:
    """Built once per app from the settings; the card provider only when it is chosen."""
    gateway = Gateway()
    if settings.payment_provider == CARD:
        from forecourt.payments.card import CardProvider

        gateway.providers[CARD] = CardProvider.from_settings(settings)
        gateway.default = CARD
    return gateway

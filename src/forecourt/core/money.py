"""Money: an exact amount with its currency, never mixed with another currency.

Each market has its currency (EUR in Germany, KRW in Korea, which has no minor unit). Prices,
deposits, commissions and tariffs are stored as ``Numeric`` columns beside a ``currency`` column and
meet in code as ``Money``: adding, subtracting or comparing two currencies raises
``CurrencyMismatch`` instead of quietly producing a number in neither. Amounts are ``Decimal``;
a float is accepted only through ``Money.of`` (read from JSON), digit by digit as it prints.

Formatting is Babel's, in the reader's language (``core.i18n.current_locale``): "₩1,234,567" in
Korean, "1.234,56 €" in German, "€1,234.56" in English.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies

from forecourt.core.errors import Invalid
from forecourt.core.i18n import _, current_locale


class CurrencyMismatch(Invalid):
    """Two amounts in different currencies were to be added, subtracted or compared."""

    def __init__(self, left: str, right: str, *, field: str | None = None):
        super().__init__(_("Amounts in %(left)s and %(right)s cannot be combined; each market keeps its own "
                           "currency.", left=left, right=right), field=field)
        self.currencies = (left, right)


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str, *, field: str = "currency") -> str:
    """An ISO 4217 code Babel knows ("EUR", "KRW"), upper-cased, or ``Invalid`` in words."""
    wanted = (code or "").strip().upper()
    if wanted not in _currencies():
        raise Invalid(_("%(code)s is not a currency code; use ISO 4217 letters such as EUR or KRW.",
                        code=repr(code)), field=field)
    return wanted


def minor_digits(currency: str) -> int:
    """Digits after the decimal point in everyday use: 2 for EUR, 0 for KRW."""
    return get_currency_precision(currency)


def _decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a truth value is not an amount")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | str):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise Invalid(_("%(value)s is not an amount of money.", value=repr(value)), field="amount") from None
    else:
        raise TypeError(f"Money needs a Decimal, int or str amount, not {type(value).__name__}; "
                        "use Money.of for a float read from JSON")
    if not amount.is_finite():
        raise Invalid(_("%(value)s is not an amount of money.", value=str(value)), field="amount")
    return amount


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __init__(self, amount, currency: str):
        object.__setattr__(self, "amount", _decimal(amount))
        object.__setattr__(self, "currency", check_currency(currency))

    @classmethod
    def of(cls, amount, currency: str) -> Money:
        """From whatever a row or a JSON document holds; a float becomes the decimal it prints as."""
        if isinstance(amount, float):
            amount = repr(amount)
        return cls(amount if amount is not None else 0, currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    # --- arithmetic, one currency at a time ------------------------------------------------------

    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __radd__(self, other) -> Money:
        if other == 0 and not isinstance(other, Money):  # sum() starts from 0
            return self
        return self._same(other) + self

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __mul__(self, factor) -> Money:
        if isinstance(factor, Money | float):
            raise TypeError("Money is multiplied by a count or a Decimal, never by money or a float")
        return Money(self.amount * _decimal(factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def share(self, percent) -> Money:
        """``percent`` % of this amount, rounded to the currency's minor unit."""
        return Money(self.amount * _decimal(percent) / 100, self.currency).rounded()

    def rounded(self) -> Money:
        """To the currency's minor unit, halves away from zero (a cent for EUR, a won for KRW)."""
        step = Decimal(1).scaleb(-minor_digits(self.currency))
        return Money(self.amount.quantize(step, rounding=ROUND_HALF_UP), self.currency)

    def whole(self) -> bool:
        return self.amount == self.amount.to_integral_value()

    def __str__(self) -> str:
        return format_money(self)


def total(amounts: Iterable[Money], currency: str) -> Money:
    """The sum of ``amounts``, zero in ``currency`` when there are none; mixed currencies raise."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


@lru_cache(maxsize=16)
def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_money(value: Money | None, *, locale: str | None = None, whole: bool = False) -> str:
    """``value`` as the reader's language writes money: "₩1,234,567", "1.234,56 €", "€1,234.56".

    ``whole``: leave out the minor unit when the amount has none (a price list's "€1,290")."""
    if value is None:
        return "—"
    where = _babel_locale(locale or current_locale())
    if whole and value.whole():
        pattern = where.currency_formats["standard"].pattern.split(";")[0]
        pattern = pattern.replace(".00", "").replace(",00", "")
        return format_currency(value.amount, value.currency, format=pattern, locale=where, currency_digits=False)
    return format_currency(value.amount, value.currency, locale=where)


def currency_column():
    """The ``currency`` column beside every stored amount (rows written before markets were EUR)."""
    from sqlalchemy import String
    from sqlalchemy.orm import mapped_column

    return mapped_column(String(3), default="EUR", server_default="EUR")


def currency_symbol(currency: str, *, locale: str | None = None) -> str:
    """How the reader writes the currency's sign: "€", "₩" (Babel's, in the reader's language)."""
    from babel.numbers import get_currency_symbol
    return get_currency_symbol(currency, locale=_babel_locale(locale or current_locale()))


def input_amount(value, currency: str) -> str:
    """An amount as a number field holds it: the currency's minor digits, no grouping ("4376.00", "58900000")."""
    return f"{Decimal(str(value)):.{minor_digits(currency)}f}"


def input_step(currency: str) -> str:
    """The step of a number field for the currency: "0.01" for euros, "1" for won."""
    digits = minor_digits(currency)
    return "1" if digits == 0 else "0." + "0" * (digits - 1) + "1"

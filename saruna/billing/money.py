"""Money is integer cents in the database and ``Decimal`` or exact fractions in arithmetic,
never a float. Every rounding is half up, to the cent."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")


def to_cents(amount: Decimal | str) -> int:
    """``"39.00"`` → 3900; refuses amounts with fractions of a cent."""
    cents = Decimal(amount) * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has fractions of a cent")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def round_half_up(cents: Fraction) -> int:
    """An exact amount of cents rounded to whole cents, halves away from zero."""
    whole, remainder = divmod(abs(cents.numerator), cents.denominator)
    if 2 * remainder >= cents.denominator:
        whole += 1
    return whole if cents >= 0 else -whole


def prorate(cents: int, days_left: int, days_in_period: int) -> int:
    """``round_half_up(cents * days_left / days_in_period)``: what a change costs for the
    rest of a period. The fraction is exact, so half a cent is always seen as half."""
    return round_half_up(Fraction(cents * days_left, days_in_period))


def percent_of(cents: int, rate: Decimal) -> int:
    """``rate`` per cent of ``cents``, rounded half up (the VAT of a subtotal)."""
    return round_half_up(Fraction(cents) * Fraction(rate) / 100)


def format_amount(cents: int, currency: str) -> str:
    """``1234567, "USD"`` → ``"12,345.67 USD"`` (documents and e-mails)."""
    return f"{from_cents(cents):,} {currency}"

"""Money rounds half up to the cent from exact fractions; periods keep their anchor day."""

import datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from saruna.billing.money import format_amount, percent_of, prorate, round_half_up, to_cents
from saruna.billing.periods import add_months, period_end

D = datetime.date


def test_half_a_cent_rounds_up_and_less_rounds_down():
    assert round_half_up(Fraction(1, 2)) == 1
    assert round_half_up(Fraction(49999, 100000)) == 0
    assert round_half_up(Fraction(-3, 2)) == -2  # halves go away from zero


def test_proration_is_exact_before_rounding():
    # 1 seat at $390.00 for 73 of 365 days: 39000 * 73 / 365 = 7800 exactly.
    assert prorate(39000, 73, 365) == 7800
    # 3900 * 1 / 8 = 487.5 cents: a float may land on either side; the fraction is a half.
    assert prorate(3900, 1, 8) == 488


def test_vat_of_a_subtotal():
    # 21 % of $1,170.00 = $245.70; 25.5 % of $0.02 = 0.51 cents → 1 cent.
    assert percent_of(117000, Decimal("21")) == 24570
    assert percent_of(2, Decimal("25.5")) == 1


def test_amounts_never_carry_fractions_of_a_cent():
    assert to_cents("39.00") == 3900
    with pytest.raises(ValueError):
        to_cents("39.005")
    assert format_amount(123456789, "USD") == "1,234,567.89 USD"


@pytest.mark.parametrize("start, months, expected", [
    (D(2026, 1, 31), 1, D(2026, 2, 28)),
    (D(2026, 2, 28), 1, D(2026, 3, 31)),  # back to the 31st: the anchor, not the last date
    (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
    (D(2026, 12, 15), 1, D(2027, 1, 15)),
    (D(2028, 2, 29), 12, D(2029, 2, 28)),
])
def test_month_ends_do_not_drift(start, months, expected):
    assert add_months(start, months, anchor_day=31 if start.day >= 28 else start.day) == expected


def test_a_year_of_monthly_periods_from_the_31st():
    day, ends = D(2026, 1, 31), []
    for _ in range(4):
        day = period_end(day, "monthly", anchor_day=31)
        ends.append(day)
    assert ends == [D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30), D(2026, 5, 31)]
    assert period_end(D(2028, 2, 29), "annual", anchor_day=29) == D(2029, 2, 28)
    assert period_end(D(2031, 2, 28), "annual", anchor_day=29) == D(2032, 2, 29)

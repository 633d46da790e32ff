"""Exact fixed-point units of the settlement: 8 decimals for amounts and prices.

Amounts are integers in 10^-8 of a whole unit of their asset (the venue's
settlement precision, the same for every asset); prices are USD per whole unit
with 8 decimals. Decimal strings are converted with :class:`decimal.Decimal`,
exactly: a value that would need rounding is refused, never rounded, and floats
are refused because they are already rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from zkproofs.errors import MalformedInput

DECIMALS = 8
SCALE = 10**DECIMALS
MAX_DIGITS = 60
"""Refuse numbers >= 10^61 before scaling (no settlement value comes near; bounds the work)."""


def parse_fixed(value: object, what: str, *, decimals: int = DECIMALS) -> int:
    """``"27000.12"`` -> 2700012000000: a non-negative decimal string (or int) in 10^-decimals units.

    Raises MalformedInput naming ``what`` for a float, a bool, a negative or
    non-finite number, or more than ``decimals`` fractional digits. O(len(value)).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedInput(f"{what}: expected a decimal string, got {type(value).__name__}")
    if isinstance(value, int):
        number = Decimal(value)
    else:
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise MalformedInput(f"{what}: {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise MalformedInput(f"{what}: {value!r} is not a finite number")
    if number < 0:
        raise MalformedInput(f"{what}: {value!r} is negative")
    if number and number.adjusted() > MAX_DIGITS:
        raise MalformedInput(f"{what}: {value!r} is too large")
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise MalformedInput(f"{what}: {value!r} has more than {decimals} decimal places")
    return int(scaled)


def format_fixed(units: int, *, decimals: int = DECIMALS) -> str:
    """Inverse of :func:`parse_fixed`: 2700012000000 -> ``"27000.12"`` (no trailing zeros)."""
    whole, frac = divmod(units, 10**decimals)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:0{decimals}d}".rstrip("0")

"""Exact fixed-point units of the settlement: 8 decimals for amounts and prices.

Amounts are integers in 10^-8 of a whole unit of their asset (the venue's
settlement precision, the same for every asset); prices are USD per whole unit
with 8 decimals. Decimal strings are read with the product's one decimal grammar
(:func:`zkproofs.accounts.amounts.to_base_units`: ASCII digits, at most one dot,
no sign, exponent, padding or leading zero), exactly: a value that would need
rounding is refused, never rounded, and numbers that are not strings (floats
are already rounded; JSON integers are not the format) are refused.
"""

from __future__ import annotations

from zkproofs.accounts.amounts import AmountError, to_base_units
from zkproofs.errors import MalformedInput

DECIMALS = 8
SCALE = 10**DECIMALS
MAX_DIGITS = 60
"""Refuse numbers >= 10^61 before scaling (no settlement value comes near; bounds the work)."""


def parse_fixed(value: object, what: str, *, decimals: int = DECIMALS) -> int:
    """``"27000.12"`` -> 2700012000000: a non-negative decimal string in 10^-decimals units.

    Raises MalformedInput naming ``what`` for anything but a string, and for a
    string outside the grammar of :func:`~zkproofs.accounts.amounts.to_base_units`
    (sign, exponent, whitespace, leading zero, more than ``decimals`` fractional
    digits, 10^61 or more). O(len(value)).
    """
    if not isinstance(value, str):
        raise MalformedInput(f"{what}: expected a decimal string, got {type(value).__name__}")
    try:
        return to_base_units(value, decimals, maximum=10 ** (MAX_DIGITS + 1 + decimals) - 1)
    except AmountError as exc:
        raise MalformedInput(f"{what}: {exc}") from None


def format_fixed(units: int, *, decimals: int = DECIMALS) -> str:
    """Inverse of :func:`parse_fixed`: 2700012000000 -> ``"27000.12"`` (no trailing zeros)."""
    whole, frac = divmod(units, 10**decimals)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:0{decimals}d}".rstrip("0")

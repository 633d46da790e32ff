"""Exact decimal amounts: text <-> integer base units, with no float anywhere.

The one decimal grammar of the product: account balances, audit reserves and
prices, the settlement's prices and signed price epochs all read their numbers with
:func:`to_base_units`. An amount ``"12.5"`` of an asset with ``decimals = 8`` is
``1_250_000_000`` base units. The grammar is deliberately narrow (a ledger
export, not a calculator)::

    amount   = ["-"] whole ["." digits]      ; "-" only where the field is signed
    whole    = "0" | nonzero *digit          ; no leading zeros
    digits   = 1*digit                       ; at most `decimals` of them
    digit    = "0" | ... | "9"               ; ASCII only

Refused, each with its own reason: empty or whitespace-only text, surrounding
whitespace, ``+``, a leading zero (``"07"``), a negative zero (``"-0"``),
exponents (``1e-05``), ``NaN``/``inf``, ``.5`` and ``5.``, separators (``0_7``,
``1,5``), non-ASCII digits (``"\u0667"``), more fractional digits than
``decimals`` (even zeros: ``"1.500000000"`` at 8 decimals; pass the precision the
file really has), and magnitudes above the bound (by default
:data:`~zkproofs.accounts.model.MAX_AMOUNT`, 2^64 - 1, the range the liability
tree checks). Conversion is pure integer arithmetic: nothing is ever rounded.

:data:`DEFAULT_DECIMALS` is the table the CSV loader falls back to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from zkproofs.accounts.model import MAX_AMOUNT
from zkproofs.errors import AccountsError

DEFAULT_DECIMALS: Mapping[str, int] = {
    # Exchange-ledger precision, not on-chain precision: Binance's proof of
    # solvency keeps every token at 8 decimals and a fixed list of low-priced
    # tokens (SHIB, DOGE, PEPE, LUNC, BTTC, ...) at 2 (zkmerkle-proof-of-solvency,
    # src/utils/constants.go, AssetTypeForTwoDigits). On-chain decimals would
    # cap a 64-bit balance at 18.4 ETH (18 decimals), which no exchange can use.
    "BTC": 8,
    "ETH": 8,
    "BNB": 8,
    "USDT": 8,
    "USDC": 8,
    "SOL": 8,
    "XRP": 8,
    "ADA": 8,
    "TRX": 8,
    "LTC": 8,
    "DOT": 8,
    "LINK": 8,
    "SHIB": 2,
    "DOGE": 2,
    "PEPE": 2,
}
"""Decimals per upper-case ticker used when a CSV header names an asset the caller did not."""

_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
"""Digits with an optional sign and fraction; leading zeros are refused after matching, with their own reason."""
_EXPONENT = re.compile(r"[-+]?[0-9]*\.?[0-9]*[eE][-+]?[0-9]+", re.ASCII)
_NON_FINITE = {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}


def _quoted(text: str) -> str:
    """``text`` in double quotes for an error message, cut to 40 characters (a hostile amount can be huge)."""
    return f'"{text}"' if len(text) <= 40 else f'"{text[:30]}..." ({len(text)} characters)'


def _bound(maximum: int) -> str:
    """``2^64-1`` or ``10^69-1`` for a bound of that shape, else its digits."""
    if (maximum + 1) & maximum == 0:
        return f"2^{maximum.bit_length()}-1"
    if maximum & (maximum - 1) == 0:
        return f"2^{maximum.bit_length() - 1}"
    digits = str(maximum + 1)
    if digits.startswith("1") and not digits[1:].strip("0"):
        return f"10^{len(digits) - 1}-1"
    return str(maximum)


class AmountError(ValueError):
    """Why a text is not an amount (the reason only; loaders add file, line and column)."""


class AmountOutOfRange(AmountError):
    """A well-formed amount whose magnitude exceeds the bound (2^64 - 1 base units unless the caller widens it)."""


def to_base_units(text: str, decimals: int, *, signed: bool = False, maximum: int = MAX_AMOUNT) -> int:
    """The integer ``text * 10**decimals``, or :class:`AmountError` saying why not.

    The location-free core of :func:`parse_amount`, for loaders that build their
    own :class:`~zkproofs.errors.AccountsError`. ``maximum`` bounds the
    magnitude (2^64 - 1 for balances; prices pass a wider bound).
    O(len(text)).
    """
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    if text == "":
        raise AmountError("empty amount")
    if text.strip() == "":
        raise AmountError("amount is only whitespace")
    if text != text.strip():
        raise AmountError(f"amount {text[:40]!r} has surrounding whitespace")
    shown = _quoted(text)
    if text.lower() in _NON_FINITE:
        raise AmountError(f'amount {shown} is not a finite number')
    match = _NUMBER.fullmatch(text)
    if match is None:
        if _EXPONENT.fullmatch(text):
            raise AmountError(f'amount {shown} uses an exponent; write it out in full')
        if text.startswith("+"):
            raise AmountError(f'amount {shown} has a "+" sign')
        raise AmountError(f'amount {shown} is not a decimal number')
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if sign and not signed:
        raise AmountError(f'negative amount {shown}')
    if len(whole) > 1 and whole[0] == "0":
        raise AmountError(f'amount {shown} has a leading zero')
    if sign and whole == "0" and not fraction.strip("0"):
        raise AmountError(f'amount {shown} is a negative zero')
    if len(fraction) > decimals:
        raise AmountError(f'amount {shown} has more than {decimals} decimals')
    bound = _bound(maximum)
    if len(whole) > len(str(maximum)):  # the whole part alone is too big; spares int() a huge string
        raise AmountOutOfRange(f'amount {shown} exceeds the maximum {bound} base units')
    value = int(whole) * 10**decimals + int(fraction.ljust(decimals, "0") or "0")
    if value > maximum:
        scaled = f" ({value} at {decimals} decimals)" if decimals else ""
        raise AmountOutOfRange(f'amount {shown} exceeds the maximum {bound} base units{scaled}')
    return -value if sign else value


def parse_amount(text: str, decimals: int, *, where: str, signed: bool = False) -> int:
    """Base units of the decimal string ``text`` for an asset with ``decimals``.

    ``parse_amount("12.5", 8, where="x") == 1_250_000_000``. ``signed=True``
    admits a leading ``-`` and returns a negative int; the magnitude bound
    (2^64 - 1) applies either way. ``where`` (e.g. ``"accounts.csv, line 7,
    column BTC"``) prefixes the error message.

    Raises :class:`~zkproofs.errors.AccountsError` for anything the module
    docstring lists as refused. O(len(text)); pure integer arithmetic.
    """
    try:
        return to_base_units(text, decimals, signed=signed)
    except AmountError as exc:
        raise AccountsError(str(exc), where=where) from None


def format_amount(units: int, decimals: int) -> str:
    """The shortest decimal string ``s`` with ``parse_amount(s, decimals, ...) == units``.

    ``format_amount(1_250_000_000, 8) == "12.5"``, ``format_amount(1, 8) ==
    "0.00000001"``, ``format_amount(7, 0) == "7"``; negative ``units`` get a
    leading ``-``. O(number of digits).
    """
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(fraction).rjust(decimals, '0').rstrip('0')}"

"""The BLS12-381 scalar field F_r and its canonical encodings.

r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001 (255 bits,
2-adicity 32, multiplicative generator 7). Every scalar that crosses a trust
boundary is decoded with :func:`decode_scalar`, which refuses values >= r instead
of reducing them: a non-canonical encoding would let two different byte strings
stand for the same public input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from zkproofs.errors import MalformedInput, NonCanonicalFieldElement

R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""Order of the BLS12-381 prime-order subgroup; the scalar field of our circuits."""

R_BITS = R.bit_length()  # 255
TWO_ADICITY = 32
GENERATOR = 7
"""A multiplicative generator of F_r^* (the one galois is given, see :func:`galois_field`)."""

SCALAR_BYTES = 32

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_MAX_DIGITS = {10: 78, 16: 64}
"""Longest string accepted per base: one digit more than any canonical scalar needs
(r has 77 decimal digits), so a value just above r gets the ">= r" error."""


def _shown(number: int) -> str:
    text = str(number)
    return text if len(text) <= 80 else f"{text[:20]}...({len(text)} digits)"


def parse_decimal(value: Any, *, what: str, max_digits: int = _MAX_DIGITS[10],
                  error: Callable[[str], Exception] = MalformedInput) -> int:
    """A non-negative integer from its canonical decimal string: ASCII digits, no sign,
    spaces, underscores or leading zeros, at most ``max_digits`` digits.

    Raises ``error(message)`` naming ``what`` otherwise. The bound keeps
    ``int()`` linear and far from Python's 4,300-digit limit.
    """
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise error(f"{what}: expected a canonical decimal string (digits 0-9, no sign or leading zeros), got {value!r:.60}")
    if len(value) > max_digits:
        raise error(f"{what}: {len(value)} digits, more than the {max_digits} allowed")
    return int(value)


def inv(x: int) -> int:
    """Multiplicative inverse in F_r. Raises ZeroDivisionError for 0."""
    if x % R == 0:
        raise ZeroDivisionError("0 has no inverse in F_r")
    return pow(x, -1, R)


ROOT_BASE = 5
"""The least quadratic non-residue mod r. The primitive n-th roots of unity are
5^((r-1)/n), as ffjavascript (snarkjs) defines them: a domain's points, in order,
are then those of snarkjs' NTTs and of the Lagrange sections of a ``.ptau``."""


def root_of_unity(n: int) -> int:
    """The primitive n-th root of unity 5^((r-1)/n) in F_r, for n a power of two <= 2**32.

    For every n, root_of_unity(n) ** 2 == root_of_unity(n // 2)."""
    if n <= 0 or n & (n - 1) or n > 1 << TWO_ADICITY:
        raise ValueError(f"no {n}-th root of unity in F_r: n must be a power of two <= 2**32")
    return pow(ROOT_BASE, (R - 1) // n, R)


def decode_scalar(value: int | str, *, what: str = "field element") -> int:
    """Decode a canonical scalar from an int, a decimal string or a 0x-hex string.

    Strings are canonical: decimal as :func:`parse_decimal` reads it, hex as
    ``0x`` and at most 64 hex digits. Raises NonCanonicalFieldElement for a
    negative value, a value >= r, or any other string; ``what`` names the
    value in the error.
    """
    if isinstance(value, bool):
        raise NonCanonicalFieldElement(f"{what}: expected an integer, got a boolean")
    if isinstance(value, str):
        if _HEX.fullmatch(value):
            if len(value) - 2 > _MAX_DIGITS[16]:
                raise NonCanonicalFieldElement(f"{what}: {len(value) - 2} hex digits, more than the {_MAX_DIGITS[16]} allowed")
            number = int(value, 16)
        else:
            number = parse_decimal(value, what=what, error=NonCanonicalFieldElement)
    elif isinstance(value, int):
        number = value
    else:
        raise NonCanonicalFieldElement(f"{what}: expected an integer, got {type(value).__name__}")
    if not 0 <= number < R:
        raise NonCanonicalFieldElement(f"{what}: {_shown(number)} is not in [0, r)")
    return number


def scalar_to_bytes(x: int) -> bytes:
    """32-byte little-endian encoding of a canonical scalar."""
    return x.to_bytes(SCALAR_BYTES, "little")


def scalar_from_bytes(data: bytes, *, what: str = "field element") -> int:
    """Inverse of :func:`scalar_to_bytes`; refuses a value >= r or a wrong length."""
    if len(data) != SCALAR_BYTES:
        raise NonCanonicalFieldElement(f"{what}: expected {SCALAR_BYTES} bytes, got {len(data)}")
    return decode_scalar(int.from_bytes(data, "little"), what=what)


@lru_cache(maxsize=1)
def galois_field():
    """The galois field class GF(r), built without galois' primitive-element search.

    ``galois.GF(r)`` spends about two minutes looking for a primitive element;
    7 is a known generator of F_r^*, so we pass it and skip verification.
    Imported lazily: only tests and reference checks need galois.
    """
    import galois

    return galois.GF(R, primitive_element=GENERATOR, verify=False)

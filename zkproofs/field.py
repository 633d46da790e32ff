"""The BLS12-381 scalar field F_r and its canonical encodings.

r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001 (255 bits,
2-adicity 32, multiplicative generator 7). Every scalar that crosses a trust
boundary is decoded with :func:`decode_scalar`, which refuses values >= r instead
of reducing them: a non-canonical encoding would let two different byte strings
stand for the same public input.
"""

from __future__ import annotations

from functools import lru_cache

from zkproofs.errors import NonCanonicalFieldElement

R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""Order of the BLS12-381 prime-order subgroup; the scalar field of our circuits."""

R_BITS = R.bit_length()  # 255
TWO_ADICITY = 32
GENERATOR = 7
"""A multiplicative generator of F_r^* (the one galois is given, see :func:`galois_field`)."""

SCALAR_BYTES = 32


def inv(x: int) -> int:
    """Multiplicative inverse in F_r. Raises ZeroDivisionError for 0."""
    if x % R == 0:
        raise ZeroDivisionError("0 has no inverse in F_r")
    return pow(x, -1, R)


def root_of_unity(n: int) -> int:
    """A primitive n-th root of unity in F_r, for n a power of two <= 2**32."""
    if n <= 0 or n & (n - 1) or n > 1 << TWO_ADICITY:
        raise ValueError(f"no {n}-th root of unity in F_r: n must be a power of two <= 2**32")
    return pow(GENERATOR, (R - 1) // n, R)


def decode_scalar(value: int | str, *, what: str = "field element") -> int:
    """Decode a canonical scalar from an int or a decimal / 0x-hex string.

    Raises NonCanonicalFieldElement for a negative value, a value >= r, or a
    string that is not a number. ``what`` names the value in the error.
    """
    if isinstance(value, bool):
        raise NonCanonicalFieldElement(f"{what}: expected an integer, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        except ValueError:
            raise NonCanonicalFieldElement(f"{what}: {value!r} is not a decimal or 0x-hex integer") from None
    elif isinstance(value, int):
        number = value
    else:
        raise NonCanonicalFieldElement(f"{what}: expected an integer, got {type(value).__name__}")
    if not 0 <= number < R:
        raise NonCanonicalFieldElement(f"{what}: {number} is not in [0, r)")
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

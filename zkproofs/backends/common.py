"""Backend-independent pieces: encoding pre-checks and windowed fixed-base multiplication."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from zkproofs.errors import InvalidPoint

Q = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
"""The BLS12-381 base-field modulus q."""

WINDOW_BITS = 8


def check_compressed(data: bytes, size: int, group: str) -> bool:
    """Validate the ZCash flags and coordinate range of a compressed point.

    Returns True for the (canonical) identity encoding. Raises InvalidPoint for a
    wrong length, a missing compression flag, a non-canonical identity, or an x
    coordinate (each Fq component) >= q. Curve and subgroup membership are the
    backend's job.
    """
    if not isinstance(data, (bytes, bytearray)) or len(data) != size:
        raise InvalidPoint(f"{group} point: expected {size} compressed bytes, got {len(data) if isinstance(data, (bytes, bytearray)) else type(data).__name__}")
    flags = data[0] & 0xE0
    if not flags & 0x80:
        raise InvalidPoint(f"{group} point: compression flag not set")
    body = bytes([data[0] & 0x1F]) + bytes(data[1:])
    if flags & 0x40:
        if flags & 0x20 or any(body):
            raise InvalidPoint(f"{group} point: non-canonical encoding of the identity")
        return True
    for i in range(0, size, 48):
        if int.from_bytes(body[i : i + 48], "big") >= Q:
            raise InvalidPoint(f"{group} point: coordinate is not less than the field modulus q")
    return False


def fixed_base_table(base: Any, add: Callable[[Any, Any], Any], bits: int = 256) -> list[list[Any]]:
    """table[i][j] = j * 2^(8i) * base for j in 1..255: 8160 additions."""
    rows = []
    b = base
    for _ in range((bits + WINDOW_BITS - 1) // WINDOW_BITS):
        row = [None, b]
        acc = b
        for _ in range(2, 1 << WINDOW_BITS):
            acc = add(acc, b)
            row.append(acc)
        rows.append(row)
        b = add(acc, b)
    return rows


def windowed_batch_mul(base: Any, scalars: Sequence[int], add: Callable[[Any, Any], Any], identity: Any) -> list[Any]:
    """[k]base for each k, with a table of 8-bit windows: at most 32 additions per scalar.

    Cost O(8160 + 32 n) group additions instead of ~380 n for double-and-add.
    """
    table = fixed_base_table(base, add)
    out = []
    for k in scalars:
        acc = identity
        for row, byte in zip(table, k.to_bytes(32, "little")):
            if byte:
                acc = add(acc, row[byte])
        out.append(acc)
    return out

"""Test helpers: forging witnesses and locating hints."""

from __future__ import annotations

from zkproofs.field import R
from zkproofs.r1cs import R1CS


def hint_index(r1cs: R1CS, label_suffix: str) -> int:
    """Index (in the final layout) of the unique hint whose label ends with ``label_suffix``."""
    found = [i for i, label in r1cs.hint_labels.items() if label.endswith(label_suffix)]
    assert len(found) == 1, f"{len(found)} hints end with {label_suffix!r}: {sorted(r1cs.hint_labels.values())[:10]}"
    return found[0]


def forged(witness: list[int], index: int, value: int) -> list[int]:
    """A copy of ``witness`` with ``witness[index] = value mod r``."""
    out = list(witness)
    out[index] = value % R
    return out


def g1_off_subgroup_compressed() -> bytes:
    """A compressed G1 encoding of a point on y^2 = x^3 + 4 outside the order-r subgroup.

    The curve has cofactor h > 1, so a random curve point is outside the subgroup
    with overwhelming probability; we take the first x that gives one.
    """
    from py_ecc.optimized_bls12_381 import FQ, curve_order, field_modulus as q, is_inf, multiply

    x = 1
    while True:
        rhs = (x**3 + 4) % q
        y = pow(rhs, (q + 1) // 4, q)
        if y * y % q == rhs:
            point = (FQ(x), FQ(y), FQ(1))
            if not is_inf(multiply(point, curve_order)):
                flag_sign = 0x20 if y > (q - 1) // 2 else 0
                data = bytearray(x.to_bytes(48, "big"))
                data[0] |= 0x80 | flag_sign
                return bytes(data)
        x += 1


def g1_off_curve_compressed() -> bytes:
    """A compressed G1 encoding whose x has no y on the curve (x^3 + 4 is a non-square)."""
    from py_ecc.optimized_bls12_381 import field_modulus as q

    x = 1
    while True:
        rhs = (x**3 + 4) % q
        if pow(rhs, (q - 1) // 2, q) == q - 1:
            data = bytearray(x.to_bytes(48, "big"))
            data[0] |= 0x80
            return bytes(data)
        x += 1


def g2_off_subgroup_compressed() -> bytes:
    """A compressed G2 encoding of a point on the twist y^2 = x^3 + 4(1 + i) outside the order-r subgroup."""
    from py_ecc.bls.point_compression import compress_G2
    from py_ecc.optimized_bls12_381 import FQ2, b2, curve_order, is_inf, multiply
    from py_ecc.bls.point_compression import modular_squareroot_in_FQ2

    c0 = 1
    while True:
        x = FQ2([c0, 1])
        y = modular_squareroot_in_FQ2(x**3 + b2)
        if y is not None:
            point = (x, y, FQ2.one())
            if not is_inf(multiply(point, curve_order)):
                z1, z2 = compress_G2(point)
                return z1.to_bytes(48, "big") + z2.to_bytes(48, "big")
        c0 += 1

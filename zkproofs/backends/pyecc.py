"""The reference backend: pure Python on ``py_ecc.optimized_bls12_381``.

Slow (a pairing costs about half a second) but free of native code, so an auditor
can verify proofs with nothing but Python. The pairing product runs one Miller
loop per pair and a single final exponentiation.
"""

from __future__ import annotations

from typing import Sequence

import py_ecc.optimized_bls12_381 as curve
from py_ecc.bls import point_compression as pc
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import optimized_pairing

from zkproofs.backends.common import Q, check_compressed, windowed_batch_mul
from zkproofs.errors import InvalidPoint
from zkproofs.field import R


def _in_subgroup(point) -> bool:
    return curve.is_inf(curve.multiply(point, R))


def _le(data: bytes, i: int) -> int:
    return int.from_bytes(data[48 * i : 48 * (i + 1)], "little")


def _checked(point, b, group: str, check_subgroup: bool):
    if not curve.is_on_curve(point, b):
        raise InvalidPoint(f"{group} point: not on the curve")
    if check_subgroup and not _in_subgroup(point):
        raise InvalidPoint(f"{group} point: not in the prime-order subgroup")
    return point


class Backend:
    """py_ecc-backed :class:`~zkproofs.backends.base.CurveBackend`."""

    name = "py_ecc"

    def g1_generator(self):
        return curve.G1

    def g2_generator(self):
        return curve.G2

    def g1_identity(self):
        return curve.Z1

    def g2_identity(self):
        return curve.Z2

    def g1_add(self, a, b):
        return curve.add(a, b)

    g2_add = g1_add

    def g1_neg(self, a):
        return curve.neg(a)

    g2_neg = g1_neg

    def g1_mul(self, p, k: int):
        return curve.multiply(p, k % R)

    g2_mul = g1_mul

    def g1_eq(self, a, b) -> bool:
        return curve.eq(a, b)

    g2_eq = g1_eq

    def g1_is_identity(self, p) -> bool:
        return curve.is_inf(p)

    g2_is_identity = g1_is_identity

    def _msm(self, points: Sequence, scalars: Sequence[int], identity):
        if len(points) != len(scalars):
            raise ValueError(f"MSM of {len(points)} points with {len(scalars)} scalars")
        acc = identity
        for p, k in zip(points, scalars):
            if k == 1:
                acc = curve.add(acc, p)
            elif k:
                acc = curve.add(acc, curve.multiply(p, k))
        return acc

    def g1_msm(self, points, scalars):
        """Double-and-add per term: O(n log r) additions (reference use, small n)."""
        return self._msm(points, scalars, curve.Z1)

    def g2_msm(self, points, scalars):
        return self._msm(points, scalars, curve.Z2)

    def g1_batch_mul(self, base, scalars):
        return windowed_batch_mul(base, scalars, curve.add, curve.Z1)

    def g2_batch_mul(self, base, scalars):
        return windowed_batch_mul(base, scalars, curve.add, curve.Z2)

    def g1_to_bytes(self, p) -> bytes:
        return pc.compress_G1(p).to_bytes(48, "big")

    def g2_to_bytes(self, p) -> bytes:
        z1, z2 = pc.compress_G2(p)
        return z1.to_bytes(48, "big") + z2.to_bytes(48, "big")

    def g1_from_bytes(self, data: bytes):
        if check_compressed(data, 48, "G1"):
            return curve.Z1
        try:
            point = pc.decompress_G1(int.from_bytes(data, "big"))
        except ValueError as exc:
            raise InvalidPoint(f"G1 point: not on the curve ({exc})") from None
        return _checked(point, curve.b, "G1", True)

    def g2_from_bytes(self, data: bytes):
        if check_compressed(data, 96, "G2"):
            return curve.Z2
        try:
            point = pc.decompress_G2((int.from_bytes(data[:48], "big"), int.from_bytes(data[48:], "big")))
        except ValueError as exc:
            raise InvalidPoint(f"G2 point: not on the curve ({exc})") from None
        return _checked(point, curve.b2, "G2", True)

    def g1_to_uncompressed(self, p) -> bytes:
        if curve.is_inf(p):
            return bytes(96)
        x, y = curve.normalize(p)
        return x.n.to_bytes(48, "little") + y.n.to_bytes(48, "little")

    def g2_to_uncompressed(self, p) -> bytes:
        if curve.is_inf(p):
            return bytes(192)
        x, y = curve.normalize(p)
        return b"".join(c.to_bytes(48, "little") for c in (*x.coeffs, *y.coeffs))

    def g1_from_uncompressed(self, data: bytes, *, check: bool = True):
        if len(data) != 96:
            raise InvalidPoint(f"G1 point: expected 96 uncompressed bytes, got {len(data)}")
        if not any(data):
            return curve.Z1
        x, y = _le(data, 0), _le(data, 1)
        if x >= Q or y >= Q:
            raise InvalidPoint("G1 point: coordinate is not less than the field modulus q")
        return _checked((FQ(x), FQ(y), FQ.one()), curve.b, "G1", check)

    def g2_from_uncompressed(self, data: bytes, *, check: bool = True):
        if len(data) != 192:
            raise InvalidPoint(f"G2 point: expected 192 uncompressed bytes, got {len(data)}")
        if not any(data):
            return curve.Z2
        c = [_le(data, i) for i in range(4)]
        if any(v >= Q for v in c):
            raise InvalidPoint("G2 point: coordinate is not less than the field modulus q")
        return _checked((FQ2([c[0], c[1]]), FQ2([c[2], c[3]]), FQ2.one()), curve.b2, "G2", check)

    def g1_to_affine(self, p):
        if curve.is_inf(p):
            return None
        x, y = curve.normalize(p)
        return x.n, y.n

    def g2_to_affine(self, p):
        if curve.is_inf(p):
            return None
        x, y = curve.normalize(p)
        return (x.coeffs[0], x.coeffs[1]), (y.coeffs[0], y.coeffs[1])

    def pairing(self, p, q):
        return curve.pairing(q, p)

    def multi_pairing(self, pairs):
        acc = FQ12.one()
        for p, q in pairs:
            if curve.is_inf(p) or curve.is_inf(q):
                continue
            acc = acc * optimized_pairing.miller_loop(q, p, final_exponentiate=False)
        return curve.final_exponentiate(acc)

    def gt_eq(self, a, b) -> bool:
        return a == b


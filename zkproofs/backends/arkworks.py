"""The fast backend: arkworks through ``py_arkworks_bls12381`` (Ethereum Foundation bindings).

MSM uses arkworks' Pippenger (``multiexp_unchecked``): O(n / log n) group
operations, with cost proportional to the largest scalar's bit length; witnesses
are mostly 0, 1 and small values, so zeros are skipped and scalars below 2^64 go
to a separate, cheaper MSM. Pairing products use one multi-Miller loop and one
final exponentiation (``GT.multi_pairing``).
"""

from __future__ import annotations

import operator
from typing import Sequence

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from zkproofs.backends.common import Q, check_compressed, windowed_batch_mul
from zkproofs.errors import InvalidPoint

SMALL = 1 << 64


def _scalar(k: int) -> Scalar:
    return Scalar.from_le_bytes(k.to_bytes(32, "little"))


def _msm(cls, points: Sequence, scalars: Sequence[int]):
    if len(points) != len(scalars):
        raise ValueError(f"MSM of {len(points)} points with {len(scalars)} scalars")
    small_p, small_s, big_p, big_s = [], [], [], []
    for p, k in zip(points, scalars):
        if k:
            if k < SMALL:
                small_p.append(p)
                small_s.append(k)
            else:
                big_p.append(p)
                big_s.append(k)
    acc = cls.identity()
    for ps, ks in ((small_p, small_s), (big_p, big_s)):
        if ps:
            acc = acc + cls.multiexp_unchecked(ps, [_scalar(k) for k in ks])
    return acc


def _decode(cls, data: bytes, size: int, group: str):
    if check_compressed(data, size, group):
        return cls.identity()
    try:
        point = cls.from_compressed_bytes_unchecked(bytes(data))
    except (ValueError, OverflowError) as exc:
        raise InvalidPoint(f"{group} point: not on the curve ({exc})") from None
    if not point.is_in_subgroup():
        raise InvalidPoint(f"{group} point: not in the prime-order subgroup")
    return point


_ZEROS = {96: bytes(96), 192: bytes(192)}
_Q_TOP = Q >> 376  # q's most significant byte


def _from_raw(cls, data: bytes, size: int, group: str, check: bool):
    if len(data) != size:
        raise InvalidPoint(f"{group} point: expected {size} uncompressed bytes, got {len(data)}")
    if data == _ZEROS[size]:
        return cls.identity()
    for top in range(47, size, 48):  # each coordinate < q; its top byte decides unless it equals q's
        if data[top] >= _Q_TOP and int.from_bytes(data[top - 47 : top + 1], "little") >= Q:
            raise InvalidPoint(f"{group} point: coordinate is not less than the field modulus q")
    try:
        if check:
            return cls.from_xy_bytes_le(bytes(data))
        return cls.from_xy_bytes_unchecked_le(bytes(data))
    except (ValueError, OverflowError) as exc:
        raise InvalidPoint(f"{group} point: invalid uncompressed encoding ({exc})") from None


class Backend:
    """arkworks-backed :class:`~zkproofs.backends.base.CurveBackend`."""

    name = "arkworks"

    def g1_generator(self) -> G1Point:
        return G1Point()

    def g2_generator(self) -> G2Point:
        return G2Point()

    def g1_identity(self) -> G1Point:
        return G1Point.identity()

    def g2_identity(self) -> G2Point:
        return G2Point.identity()

    def g1_add(self, a, b):
        return a + b

    g2_add = g1_add

    def g1_neg(self, a):
        return -a

    g2_neg = g1_neg

    def g1_mul(self, p, k: int):
        return p * _scalar(k)

    g2_mul = g1_mul

    def g1_eq(self, a, b) -> bool:
        return a == b

    g2_eq = g1_eq

    def g1_is_identity(self, p) -> bool:
        return p == G1Point.identity()

    def g2_is_identity(self, p) -> bool:
        return p == G2Point.identity()

    def g1_msm(self, points, scalars):
        return _msm(G1Point, points, scalars)

    def g2_msm(self, points, scalars):
        return _msm(G2Point, points, scalars)

    def g1_batch_mul(self, base, scalars):
        return windowed_batch_mul(base, scalars, operator.add, G1Point.identity())

    def g2_batch_mul(self, base, scalars):
        return windowed_batch_mul(base, scalars, operator.add, G2Point.identity())

    def g1_to_bytes(self, p) -> bytes:
        return bytes(p.to_compressed_bytes())

    def g2_to_bytes(self, p) -> bytes:
        return bytes(p.to_compressed_bytes())

    def g1_from_bytes(self, data: bytes):
        return _decode(G1Point, data, 48, "G1")

    def g2_from_bytes(self, data: bytes):
        return _decode(G2Point, data, 96, "G2")

    def g1_to_uncompressed(self, p) -> bytes:
        return bytes(p.to_xy_bytes_le())

    def g2_to_uncompressed(self, p) -> bytes:
        return bytes(p.to_xy_bytes_le())

    def g1_from_uncompressed(self, data: bytes, *, check: bool = True):
        return _from_raw(G1Point, data, 96, "G1", check)

    def g2_from_uncompressed(self, data: bytes, *, check: bool = True):
        return _from_raw(G2Point, data, 192, "G2", check)

    def g1_to_affine(self, p):
        if self.g1_is_identity(p):
            return None
        raw = p.to_xy_bytes_be()
        return int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big")

    def g2_to_affine(self, p):
        if self.g2_is_identity(p):
            return None
        raw = p.to_xy_bytes_be()
        c = [int.from_bytes(raw[i : i + 48], "big") for i in range(0, 192, 48)]
        return (c[0], c[1]), (c[2], c[3])

    def pairing(self, p, q):
        return GT.pairing(p, q)

    def multi_pairing(self, pairs):
        return GT.multi_pairing([p for p, _ in pairs], [q for _, q in pairs])

    def gt_eq(self, a, b) -> bool:
        return a == b


"""snarkjs' deterministic randomness: ChaCha20 streams, field and curve sampling, hash-to-G2.

Two things in a snarkjs ceremony must be reproduced bit for bit, because a
verifier recomputes them: the G2 point each proof of knowledge is checked
against (``keypair.getG2sp``: BLAKE2b-512 of a personalisation byte, the
challenge hash and two G1 points, seeding a ChaCha stream that samples a G2
point), and a beacon's whole key (``misc.rngFromBeaconParams``: 2^n iterations
of SHA-256 seeding a ChaCha stream that samples the three secrets and the G1
points). The sampling follows ffjavascript (``chacha.js``, ``wasm_field1.js``
``fromRng``, ``wasm_curve.js`` ``fromRng``):

- ChaCha20 block function with a 256-bit key (eight u32 words), zero nonce,
  a 128-bit counter in words 12..15; output consumed one u32 at a time;
  ``nextU64`` = (first u32) * 2^32 + (second u32).
- A field element: n64 calls of ``nextU64`` assembled little-end first, masked
  to the modulus' bit length, rejected while >= modulus; the integer is then a
  *Montgomery representation*, so the element is v * 2^-(64 n64) mod p.
  Fq2 samples c0 then c1.
- A curve point: sample x and a "greatest" bit until x^3 + b is a square; take
  the root y whose sign (y > (p-1)/2; for Fq2 decided by c1 unless c1 = 0)
  equals the bit; multiply by the curve's cofactor (h1 for G1, ffjavascript's
  636-bit h2 for G2).

A ChaCha seed is the first 32 bytes of a hash read as eight big-endian u32.
This is not a source of secrets: contributions draw theirs from ``os.urandom``.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, Sequence

from zkproofs.backends.base import CurveBackend
from zkproofs.backends.common import Q
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony.blake2b import Blake2b512
from zkproofs.field import R

_M32 = 0xFFFFFFFF
COFACTOR_G1 = 0x396C8C005555E1568C00AAAB0000AAAB
COFACTOR_G2 = 0x5D543A95414E7F1091D50792876A202CD91DE4547085ABAA68A205B2E5A7DDFA628F1CB4D9E82EF21537E293A6691AE1616EC6E786F0C70CF1C38E31C7238E5
_HALF_Q = (Q - 1) // 2


def _quarter(st: list[int], a: int, b: int, c: int, d: int) -> None:
    st[a] = (st[a] + st[b]) & _M32; x = st[d] ^ st[a]; st[d] = ((x << 16) | (x >> 16)) & _M32
    st[c] = (st[c] + st[d]) & _M32; x = st[b] ^ st[c]; st[b] = ((x << 12) | (x >> 20)) & _M32
    st[a] = (st[a] + st[b]) & _M32; x = st[d] ^ st[a]; st[d] = ((x << 8) | (x >> 24)) & _M32
    st[c] = (st[c] + st[d]) & _M32; x = st[b] ^ st[c]; st[b] = ((x << 7) | (x >> 25)) & _M32  # fmt: skip


class ChaCha:
    """ffjavascript's ChaCha20 stream generator (see the module docstring)."""

    def __init__(self, seed: Sequence[int]):
        if len(seed) != 8 or any(not 0 <= w <= _M32 for w in seed):
            raise ValueError("a ChaCha seed is eight u32 words")
        self._state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *seed, 0, 0, 0, 0]
        self._out: list[int] = []
        self._idx = 16

    @classmethod
    def from_hash(cls, digest: bytes) -> "ChaCha":
        """Seeded with the first 32 bytes of ``digest`` as eight big-endian u32."""
        return cls(struct.unpack(">8I", digest[:32]))

    def _block(self) -> None:
        st = list(self._state)
        for _ in range(10):
            _quarter(st, 0, 4, 8, 12); _quarter(st, 1, 5, 9, 13); _quarter(st, 2, 6, 10, 14); _quarter(st, 3, 7, 11, 15)
            _quarter(st, 0, 5, 10, 15); _quarter(st, 1, 6, 11, 12); _quarter(st, 2, 7, 8, 13); _quarter(st, 3, 4, 9, 14)  # fmt: skip
        self._out = [(a + b) & _M32 for a, b in zip(st, self._state)]
        self._idx = 0
        for i in range(12, 16):  # 128-bit counter
            self._state[i] = (self._state[i] + 1) & _M32
            if self._state[i]:
                break

    def next_u32(self) -> int:
        if self._idx == 16:
            self._block()
        self._idx += 1
        return self._out[self._idx - 1]

    def next_u64(self) -> int:
        hi = self.next_u32()
        return hi << 32 | self.next_u32()

    def next_bool(self) -> bool:
        return bool(self.next_u32() & 1)


def _montgomery_sample(rng: ChaCha, modulus: int, n64: int) -> int:
    mask = (1 << modulus.bit_length()) - 1
    while True:
        v = 0
        for i in range(n64):
            v += rng.next_u64() << (64 * i)
        v &= mask
        if v < modulus:
            return v


def fr_from_rng(rng: ChaCha) -> int:
    """A scalar as ffjavascript's ``Fr.fromRng`` gives it (the sample read as Montgomery form)."""
    return enc.fr_from_mont_raw(_montgomery_sample(rng, R, 4))


def fq_from_rng(rng: ChaCha) -> int:
    return enc.fq_from_mont_raw(_montgomery_sample(rng, Q, 6))


# Fq and Fq2 = Fq[u]/(u^2 + 1) square roots ----------------------------------------------------
def _fq_sqrt(a: int) -> int | None:
    y = pow(a, (Q + 1) // 4, Q)  # q = 3 mod 4
    return y if y * y % Q == a else None


def _fq2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def _fq2_sqrt(a: tuple[int, int]) -> tuple[int, int] | None:
    """A square root in Fq2 via the norm (the "complex method"), or None for a non-square."""
    a0, a1 = a
    if a1 == 0:
        r = _fq_sqrt(a0)
        if r is not None:
            return (r, 0)
        r = _fq_sqrt(-a0 % Q)  # a0 = -(r^2) = (r u)^2
        return (0, r) if r is not None else None
    alpha = _fq_sqrt((a0 * a0 + a1 * a1) % Q)
    if alpha is None:
        return None
    inv2 = (Q + 1) // 2
    delta = (a0 + alpha) * inv2 % Q
    x0 = _fq_sqrt(delta)
    if x0 is None:
        delta = (a0 - alpha) * inv2 % Q
        x0 = _fq_sqrt(delta)
        if x0 is None:
            return None
    x1 = a1 * pow(2 * x0, -1, Q) % Q
    return (x0, x1)


def _clear_cofactor(add: Any, point: Any, identity: Any, k: int) -> Any:
    acc = identity
    for bit in bin(k)[2:]:
        acc = add(acc, acc)
        if bit == "1":
            acc = add(acc, point)
    return acc


def g1_from_rng(backend: CurveBackend, rng: ChaCha) -> Any:
    """ffjavascript's ``G1.fromRng``: a point of the prime-order subgroup (see the module docstring)."""
    while True:
        x = fq_from_rng(rng)
        greatest = rng.next_bool()
        y = _fq_sqrt((x * x * x + 4) % Q)
        if y is not None:
            break
    if (y > _HALF_Q) != greatest:
        y = -y % Q
    raw = x.to_bytes(48, "little") + y.to_bytes(48, "little")
    p = backend.g1_from_uncompressed(raw, check=False)
    return _clear_cofactor(backend.g1_add, p, backend.g1_identity(), COFACTOR_G1)


def g2_from_rng(backend: CurveBackend, rng: ChaCha) -> Any:
    """ffjavascript's ``G2.fromRng`` (curve y^2 = x^3 + 4(1 + u))."""
    while True:
        x = (fq_from_rng(rng), fq_from_rng(rng))
        greatest = rng.next_bool()
        x3 = _fq2_mul(_fq2_mul(x, x), x)
        y = _fq2_sqrt(((x3[0] + 4) % Q, (x3[1] + 4) % Q))
        if y is not None:
            break
    negative = y[1] > _HALF_Q if y[1] else y[0] > _HALF_Q
    if negative != greatest:
        y = (-y[0] % Q, -y[1] % Q)
    raw = b"".join(c.to_bytes(48, "little") for c in (x[0], x[1], y[0], y[1]))
    p = backend.g2_from_uncompressed(raw, check=False)
    return _clear_cofactor(backend.g2_add, p, backend.g2_identity(), COFACTOR_G2)


def hash_to_g2(backend: CurveBackend, digest: bytes) -> Any:
    """snarkjs' ``keypair.hashToG2``: G2.fromRng seeded by ``digest``."""
    return g2_from_rng(backend, ChaCha.from_hash(digest))


def g2_sp(backend: CurveBackend, personalization: int, challenge: bytes, g1_s: Any, g1_sx: Any) -> Any:
    """snarkjs' ``keypair.getG2sp``: the G2 point a proof of knowledge is checked against,
    bound to the challenge hash and the contributor's G1 pair. O(1) (one 636-bit cofactor
    multiplication)."""
    h = Blake2b512()
    h.update(bytes([personalization]))
    h.update(challenge)
    h.update(enc.g1_to_u(backend, g1_s))
    h.update(enc.g1_to_u(backend, g1_sx))
    return hash_to_g2(backend, h.digest())


def beacon_rng(beacon_hash: bytes, num_iterations_exp: int) -> ChaCha:
    """snarkjs' ``misc.rngFromBeaconParams``: SHA-256 applied 2^n times, then ChaCha.

    O(2^n) SHA-256 calls (n is between 10 and 63 in snarkjs; each step hashes the
    previous 32-byte digest, the first step the beacon bytes themselves).
    """
    current = bytes(beacon_hash)
    sha = hashlib.sha256
    for _ in range(1 << num_iterations_exp):
        current = sha(current).digest()
    return ChaCha.from_hash(current)

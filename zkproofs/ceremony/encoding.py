"""BLS12-381 field elements and points in snarkjs' byte layouts, to and from backend points.

Checked against ffjavascript (``wasm_curve.js``, ``wasm_field1.js``) and
wasmcurves (``build_curve_jacobian_a0.js``, ``build_f1m.js``, ``build_f2m.js``):

- **Fq** (48 bytes) and **Fr** (32 bytes) inside ``.ptau``/``.zkey`` sections are
  little-endian Montgomery form: ``x * 2^384 mod q`` and ``k * 2^256 mod r``.
- **Fq2** ``c0 + c1 u`` is ``c0 || c1``, each component as above.
- **Points, "LEM"** (the section layout): affine ``x || y`` (G1 96 bytes, G2 192
  bytes); the point at infinity is all zeros.
- **Points, "U"** (uncompressed, hashed into challenges): each coordinate's
  whole block byte-reversed, i.e. big-endian standard form; for G2 that puts
  ``c1`` before ``c0`` (the ZCash order). Infinity: all zeros.
- **Points, "C"** (compressed, hashed into contribution responses): ``x`` as in
  "U" with bit 0x80 of the first byte set when ``y`` is "negative" (greater
  than (q-1)/2; for Fq2 decided by ``c1``, or by ``c0`` when ``c1`` = 0);
  infinity is 0x40 followed by zeros. This is *not* the ZCash compressed format.

Backend points go through the backend's uncompressed little-endian affine
encoding (see :mod:`zkproofs.backends.base`), so both backends work; decoding
checks the curve equation and the prime-order subgroup unless ``check=False``.
"""

from __future__ import annotations

from typing import Any, Sequence

from zkproofs import kernels
from zkproofs.backends.base import CurveBackend
from zkproofs.backends.common import Q
from zkproofs.errors import InvalidPoint, MalformedFile, NonCanonicalFieldElement
from zkproofs.field import R

N8Q = 48
N8R = 32
G1_SIZE = 2 * N8Q
G2_SIZE = 4 * N8Q

_MONT_Q = (1 << 384) % Q
_MONT_Q_INV = pow(_MONT_Q, -1, Q)
_MONT_R = (1 << 256) % R
_MONT_R_INV = pow(_MONT_R, -1, R)
_HALF_Q = (Q - 1) // 2


# field elements ------------------------------------------------------------------
def fq_to_mont(x: int) -> bytes:
    """48-byte little-endian Montgomery form of x in [0, q)."""
    return (x * _MONT_Q % Q).to_bytes(N8Q, "little")


def fq_from_mont(data: bytes) -> int:
    """Inverse of :func:`fq_to_mont`; InvalidPoint if the encoding is not < q."""
    m = int.from_bytes(data, "little")
    if m >= Q:
        raise InvalidPoint("coordinate is not less than the field modulus q")
    return m * _MONT_Q_INV % Q


def fr_to_mont(k: int) -> bytes:
    """32-byte little-endian Montgomery form of the scalar k in [0, r)."""
    return (k * _MONT_R % R).to_bytes(N8R, "little")


def fr_from_mont(data: bytes) -> int:
    """Inverse of :func:`fr_to_mont`; NonCanonicalFieldElement if the encoding is not < r."""
    m = int.from_bytes(data, "little")
    if m >= R:
        raise NonCanonicalFieldElement("scalar encoding is not less than r")
    return m * _MONT_R_INV % R


def fr_from_mont_raw(m: int) -> int:
    """The scalar whose Montgomery representation is the integer m (as ffjavascript's
    ``Fr.fromRng`` output is read). O(1)."""
    return m * _MONT_R_INV % R


def fq_from_mont_raw(m: int) -> int:
    """The Fq element whose Montgomery representation is the integer m < q."""
    return m * _MONT_Q_INV % Q


# points: LEM (section layout) --------------------------------------------------------
def _lem_to_raw(data: bytes, size: int, group: str) -> bytes:
    if len(data) != size:
        raise InvalidPoint(f"{group} point: expected {size} bytes, got {len(data)}")
    if not any(data):
        return bytes(size)
    return b"".join(fq_from_mont(data[i : i + N8Q]).to_bytes(N8Q, "little") for i in range(0, size, N8Q))


def _raw_to_lem(raw: bytes) -> bytes:
    if not any(raw):
        return bytes(len(raw))
    return b"".join(fq_to_mont(int.from_bytes(raw[i : i + N8Q], "little")) for i in range(0, len(raw), N8Q))


def g1_from_lem(backend: CurveBackend, data: bytes, *, check: bool = True) -> Any:
    """A G1 point from 96 LEM bytes. InvalidPoint if a coordinate is >= q, or (``check``)
    the point is off the curve or outside the subgroup."""
    return backend.g1_from_uncompressed(_lem_to_raw(data, G1_SIZE, "G1"), check=check)


def g2_from_lem(backend: CurveBackend, data: bytes, *, check: bool = True) -> Any:
    """A G2 point from 192 LEM bytes (see :func:`g1_from_lem`)."""
    return backend.g2_from_uncompressed(_lem_to_raw(data, G2_SIZE, "G2"), check=check)


def g1_to_lem(backend: CurveBackend, p: Any) -> bytes:
    return _raw_to_lem(backend.g1_to_uncompressed(p))


def g2_to_lem(backend: CurveBackend, p: Any) -> bytes:
    return _raw_to_lem(backend.g2_to_uncompressed(p))


def points_from_lem(
    backend: CurveBackend, group: str, data: bytes | memoryview, count: int, *, where: str, section: int, offset: int = 0, check: bool = True
) -> list[Any]:
    """``count`` consecutive points of ``group`` ("G1" or "G2") from a section payload.

    O(count) decodings (each with a subgroup check when ``check``), after one batched
    Montgomery conversion of every coordinate (:func:`zkproofs.kernels.fq_from_mont_many`).
    Raises MalformedFile naming the file, section and the byte offset of the bad point,
    or the size mismatch.
    """
    size = G1_SIZE if group == "G1" else G2_SIZE
    if len(data) != count * size:
        raise MalformedFile(where, f"expected {count} {group} points ({count * size} bytes), found {len(data)} bytes", section=section, offset=offset)
    try:
        raw = kernels.fq_from_mont_many(bytes(data))
    except ValueError:  # a coordinate >= q: find its point to name it
        point = next(i for i in range(count) if any(int.from_bytes(data[j : j + N8Q], "little") >= Q for j in range(i * size, (i + 1) * size, N8Q)))
        raise MalformedFile(where, f"{group} point #{point}: coordinate is not less than the field modulus q", section=section, offset=offset + point * size) from None
    decode = backend.g1_from_uncompressed if group == "G1" else backend.g2_from_uncompressed
    out = []
    for i in range(count):
        try:
            out.append(decode(raw[i * size : (i + 1) * size], check=check))
        except InvalidPoint as exc:
            raise MalformedFile(where, f"{group} point #{i}: {exc}", section=section, offset=offset + i * size) from None
    return out


def points_to_lem(backend: CurveBackend, group: str, points: Sequence[Any]) -> bytes:
    """The LEM bytes of ``points``, concatenated. O(len(points))."""
    encode = g1_to_lem if group == "G1" else g2_to_lem
    return b"".join(encode(backend, p) for p in points)


# points: U and C (hashed) ----------------------------------------------------------------
def _raw_to_u(raw: bytes, block: int) -> bytes:
    if not any(raw):
        return bytes(len(raw))
    return raw[:block][::-1] + raw[block:][::-1]


def _is_negative(raw_y: bytes) -> bool:
    comps = [int.from_bytes(raw_y[i : i + N8Q], "little") for i in range(0, len(raw_y), N8Q)]
    for c in reversed(comps):  # Fq2: c1 decides unless it is zero
        if c:
            return c > _HALF_Q
    return False


def _raw_to_c(raw: bytes, block: int) -> bytes:
    if not any(raw):
        return b"\x40" + bytes(block - 1)
    x = bytearray(raw[:block][::-1])
    if _is_negative(raw[block:]):
        x[0] |= 0x80
    return bytes(x)


def g1_to_u(backend: CurveBackend, p: Any) -> bytes:
    """snarkjs' uncompressed G1 encoding (96 bytes, big-endian x || y)."""
    return _raw_to_u(backend.g1_to_uncompressed(p), N8Q)


def g2_to_u(backend: CurveBackend, p: Any) -> bytes:
    """snarkjs' uncompressed G2 encoding (192 bytes: x.c1 x.c0 y.c1 y.c0, big-endian)."""
    return _raw_to_u(backend.g2_to_uncompressed(p), 2 * N8Q)


def g1_to_c(backend: CurveBackend, p: Any) -> bytes:
    """snarkjs' compressed G1 encoding (48 bytes; see the module docstring)."""
    return _raw_to_c(backend.g1_to_uncompressed(p), N8Q)


def g2_to_c(backend: CurveBackend, p: Any) -> bytes:
    """snarkjs' compressed G2 encoding (96 bytes)."""
    return _raw_to_c(backend.g2_to_uncompressed(p), 2 * N8Q)


def points_lem_to_u(group: str, data: bytes) -> bytes:
    """The "U" encodings of consecutive LEM points (a section payload), concatenated, without
    building curve points: one batched Montgomery conversion
    (:func:`zkproofs.kernels.fq_from_mont_many`), then each coordinate block (48 bytes for
    G1, the 96-byte c0 || c1 pair for G2) byte-reversed. Raises InvalidPoint for a coordinate
    that is not < q. O(n)."""
    block = N8Q if group == "G1" else 2 * N8Q
    try:
        raw = kernels.fq_from_mont_many(bytes(data))
    except ValueError:
        raise InvalidPoint(f"{group} point: coordinate is not less than the field modulus q") from None
    return b"".join(raw[i : i + block][::-1] for i in range(0, len(raw), block))


def lem_to_u(group: str, data: bytes) -> bytes:
    """Re-encode one LEM point as "U" without building a curve point (hashing hot path). O(1)."""
    block = N8Q if group == "G1" else 2 * N8Q
    return _raw_to_u(_lem_to_raw(data, 2 * block, group), block)


def lem_to_c(group: str, data: bytes) -> bytes:
    """Re-encode one LEM point as "C" without building a curve point. O(1)."""
    block = N8Q if group == "G1" else 2 * N8Q
    return _raw_to_c(_lem_to_raw(data, 2 * block, group), block)

"""snarkjs' Groth16 JSON layout (verification_key.json, proof.json, public.json), written and read.

Points are affine coordinates as decimal strings with a trailing projective
z = "1" (G1: [x, y, "1"]; G2: [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]);
``"curve": "bls12381"``. snarkjs checks e(-A, B) e(alpha, beta) e(L, gamma)
e(C, delta) = 1 with L = IC_0 + sum x_i IC_i: our equation, so
``snarkjs groth16 verify verification_key.json public.json proof.json`` accepts
our proofs unchanged, and :func:`verification_key_from`, :func:`proof_from`,
:func:`public_signals_from` read snarkjs' own files (protocol groth16, curve
bls12381) with the checks of our formats, for ``zkproofs verify``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

from zkproofs.backends import get_backend
from zkproofs.backends.common import Q
from zkproofs.errors import InvalidPoint, MalformedInput
from zkproofs.field import decode_scalar, parse_decimal
from zkproofs.groth16.keys import CircuitId, Proof, VerifyingKey
from zkproofs.groth16.serialize import check_vk_points

CURVE = "bls12381"


def _g1(be, data: bytes, name: str) -> list[str]:
    xy = be.g1_to_affine(be.g1_from_bytes(data))
    if xy is None:
        raise InvalidPoint(f"{name} is the identity, which snarkjs' affine layout cannot express")
    return [str(xy[0]), str(xy[1]), "1"]


def _g2(be, data: bytes, name: str) -> list[list[str]]:
    xy = be.g2_to_affine(be.g2_from_bytes(data))
    if xy is None:
        raise InvalidPoint(f"{name} is the identity, which snarkjs' affine layout cannot express")
    (x0, x1), (y0, y1) = xy
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def verification_key(vk: VerifyingKey, backend: str | None = None) -> dict[str, Any]:
    """``verification_key.json`` for snarkjs."""
    be = get_backend(backend)
    return {
        "protocol": "groth16",
        "curve": CURVE,
        "nPublic": vk.num_public,
        "vk_alpha_1": _g1(be, vk.alpha_g1, "alpha"),
        "vk_beta_2": _g2(be, vk.beta_g2, "beta"),
        "vk_gamma_2": _g2(be, vk.gamma_g2, "gamma"),
        "vk_delta_2": _g2(be, vk.delta_g2, "delta"),
        "IC": [_g1(be, p, f"IC[{i}]") for i, p in enumerate(vk.ic)],
    }


def proof(p: Proof, backend: str | None = None) -> dict[str, Any]:
    """``proof.json`` for snarkjs."""
    be = get_backend(backend)
    return {
        "pi_a": _g1(be, p.a, "A"),
        "pi_b": _g2(be, p.b, "B"),
        "pi_c": _g1(be, p.c, "C"),
        "protocol": "groth16",
        "curve": CURVE,
    }


def public_signals(values: Sequence[int]) -> list[str]:
    """``public.json``: the public inputs as decimal strings, in the key's order."""
    return [str(v) for v in values]


# reading snarkjs' files ------------------------------------------------------------------
def _decimal(value: Any, where: str) -> int:
    if not isinstance(value, str):
        raise MalformedInput(f"{where}: expected a decimal string")
    return parse_decimal(value, what=where, max_digits=116)  # q < 10^116


def _coordinate(value: Any, where: str) -> int:
    x = _decimal(value, where)
    if x >= Q:
        raise InvalidPoint(f"{where}: coordinate is not less than the field modulus q")
    return x


def _g1_from(be, value: Any, where: str) -> bytes:
    """A G1 point [x, y, z] (decimal strings, z = "1"), checked on the curve and in the subgroup."""
    if not isinstance(value, list) or len(value) != 3:
        raise MalformedInput(f"{where}: expected [x, y, z]")
    z = _decimal(value[2], f"{where}[2]")
    if z == 0:
        raise InvalidPoint(f"{where}: the point at infinity")
    if z != 1:
        raise MalformedInput(f"{where}: projective z = {z}; snarkjs writes affine points with z = 1")
    x, y = (_coordinate(value[i], f"{where}[{i}]") for i in (0, 1))
    raw = x.to_bytes(48, "little") + y.to_bytes(48, "little")
    try:
        return be.g1_to_bytes(be.g1_from_uncompressed(raw))
    except InvalidPoint as exc:
        raise InvalidPoint(f"{where}: {exc}") from None


def _g2_from(be, value: Any, where: str) -> bytes:
    """A G2 point [[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]] with z = ["1", "0"], checked."""
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(c, list) and len(c) == 2 for c in value):
        raise MalformedInput(f"{where}: expected [[x0, x1], [y0, y1], [z0, z1]]")
    z = (_decimal(value[2][0], f"{where}[2][0]"), _decimal(value[2][1], f"{where}[2][1]"))
    if z == (0, 0):
        raise InvalidPoint(f"{where}: the point at infinity")
    if z != (1, 0):
        raise MalformedInput(f"{where}: projective z = {z}; snarkjs writes affine points with z = [1, 0]")
    coords = [_coordinate(value[i][j], f"{where}[{i}][{j}]") for i in (0, 1) for j in (0, 1)]
    raw = b"".join(c.to_bytes(48, "little") for c in coords)
    try:
        return be.g2_to_bytes(be.g2_from_uncompressed(raw))
    except InvalidPoint as exc:
        raise InvalidPoint(f"{where}: {exc}") from None


def _check_protocol(obj: Any, where: str) -> None:
    if not isinstance(obj, dict):
        raise MalformedInput(f"{where}: expected a JSON object")
    if obj.get("protocol") != "groth16":
        raise MalformedInput(f"{where}: protocol {obj.get('protocol')!r}, expected 'groth16'")
    if obj.get("curve") != CURVE:
        raise MalformedInput(f"{where}: curve {obj.get('curve')!r}, expected {CURVE!r} (BLS12-381)")


def is_snarkjs_key(obj: Any) -> bool:
    """True if ``obj`` looks like snarkjs' ``verification_key.json`` (no zkproofs ``format`` field)."""
    return isinstance(obj, dict) and "format" not in obj and "vk_alpha_1" in obj


def verification_key_from(obj: Any, where: str = "verification_key.json", backend: str | None = None) -> VerifyingKey:
    """Read snarkjs' ``verification_key.json`` (groth16, bls12381) with the checks of our own format.

    Points are checked on the curve and in the subgroup (InvalidPoint), the key for
    degeneracy (DegenerateKey naming the field), ``nPublic`` against IC. snarkjs keys
    name neither their circuit nor their provenance: the key gets the circuit id
    ``snarkjs`` with the SHA-256 of its points as digest, public inputs
    ``public[i]``, and no provenance (so no trust policy accepts it: it is for
    ``zkproofs verify`` only). Cost: decoding 4 + nPublic + 1 points.
    """
    _check_protocol(obj, where)
    be = get_backend(backend)
    n = obj.get("nPublic")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise MalformedInput(f"{where}: field 'nPublic' must be a non-negative integer")
    ic = obj.get("IC")
    if not isinstance(ic, list) or len(ic) != n + 1:
        raise MalformedInput(f"{where}: IC has {len(ic) if isinstance(ic, list) else 'no'} points, expected nPublic + 1 = {n + 1}")
    points = {
        "alpha_g1": _g1_from(be, obj.get("vk_alpha_1"), f"{where}.vk_alpha_1"),
        "beta_g2": _g2_from(be, obj.get("vk_beta_2"), f"{where}.vk_beta_2"),
        "gamma_g2": _g2_from(be, obj.get("vk_gamma_2"), f"{where}.vk_gamma_2"),
        "delta_g2": _g2_from(be, obj.get("vk_delta_2"), f"{where}.vk_delta_2"),
    }
    ic_points = tuple(_g1_from(be, p, f"{where}.IC[{i}]") for i, p in enumerate(ic))
    digest = hashlib.sha256(b"".join(points.values()) + b"".join(ic_points)).hexdigest()
    vk = VerifyingKey(
        circuit=CircuitId("snarkjs", (), digest),
        public_names=tuple(f"public[{i}]" for i in range(n)),
        ic=ic_points,
        provenance=None,
        created_at="",
        **points,
    )
    check_vk_points(vk, where)
    return vk


def is_snarkjs_proof(obj: Any) -> bool:
    """True if ``obj`` looks like snarkjs' ``proof.json``."""
    return isinstance(obj, dict) and "format" not in obj and "pi_a" in obj


def proof_from(obj: Any, vk: VerifyingKey, where: str = "proof.json", backend: str | None = None) -> Proof:
    """Read snarkjs' ``proof.json`` for ``vk`` (a key from :func:`verification_key_from`);
    points checked as for our proofs (InvalidPoint, the identity included)."""
    _check_protocol(obj, where)
    be = get_backend(backend)
    return Proof(
        a=_g1_from(be, obj.get("pi_a"), f"{where}.pi_a"),
        b=_g2_from(be, obj.get("pi_b"), f"{where}.pi_b"),
        c=_g1_from(be, obj.get("pi_c"), f"{where}.pi_c"),
        circuit_digest=vk.circuit.digest,
    )


def public_signals_from(obj: Any, where: str = "public.json") -> list[int]:
    """Read snarkjs' ``public.json``: a list of canonical decimal strings < r (NonCanonicalFieldElement otherwise)."""
    if not isinstance(obj, list):
        raise MalformedInput(f"{where}: expected a JSON list of decimal strings")
    values = []
    for i, value in enumerate(obj):
        if not isinstance(value, str):
            raise MalformedInput(f"{where}[{i}]: expected a decimal string")
        values.append(decode_scalar(value, what=f"{where}[{i}]"))
    return values

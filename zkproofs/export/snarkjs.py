"""snarkjs' Groth16 JSON layout (verification_key.json, proof.json, public.json).

Points are affine coordinates as decimal strings with a trailing projective
z = "1" (G1: [x, y, "1"]; G2: [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]);
``"curve": "bls12381"``. snarkjs checks e(-A, B) e(alpha, beta) e(L, gamma)
e(C, delta) = 1 with L = IC_0 + sum x_i IC_i: our equation, so
``snarkjs groth16 verify verification_key.json public.json proof.json`` accepts
our proofs unchanged.
"""

from __future__ import annotations

from typing import Any, Sequence

from zkproofs.backends import get_backend
from zkproofs.errors import InvalidPoint
from zkproofs.groth16.keys import Proof, VerifyingKey

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

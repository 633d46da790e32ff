"""Groth16 verifier (Groth 2016, section 3.2, "Vfy"): one pairing-product check.

Accept iff  e(A, B) * e(L, -gamma) * e(C, -delta) = e(alpha, beta)
with L = IC_0 + sum_i x_i IC_i; e(alpha, beta) is computed once per key and
backend (:func:`prepare`).

Two channels (as arkworks): a well-formed but wrong proof returns False;
input that cannot be checked raises a typed error from :mod:`zkproofs.errors`:
CircuitMismatch (key of another circuit), DegenerateKey (gamma = delta, delta =
+/- generator, a key point at infinity), PublicInputCountMismatch,
NonCanonicalFieldElement (a public input >= r), InvalidPoint (off the curve,
outside the subgroup, bad encoding, or the identity for A, B or C).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from zkproofs.backends import CurveBackend, get_backend
from zkproofs.errors import CircuitMismatch, InvalidPoint, MalformedInput, PublicInputCountMismatch
from zkproofs.field import decode_scalar
from zkproofs.groth16.keys import Proof, VerifyingKey
from zkproofs.groth16.serialize import check_vk_points


@dataclass(frozen=True)
class PreparedVerifyingKey:
    """Decoded, checked points of a key for one backend, with e(alpha, beta)."""

    alpha_beta: Any
    neg_gamma_g2: Any
    neg_delta_g2: Any
    ic: tuple


def decode_key_points(be: CurveBackend, vk: VerifyingKey) -> tuple[Any, Any, Any, Any]:
    """(alpha in G1, beta, gamma, delta in G2) of ``vk`` decoded by ``be``, with the
    backend's on-curve and subgroup checks.

    Raises InvalidPoint for an invalid point or one that is the identity (Groth16
    section 3.2 needs all four nonzero). O(1): four point decodings.
    """
    alpha = be.g1_from_bytes(vk.alpha_g1)
    beta, gamma, delta = (be.g2_from_bytes(x) for x in (vk.beta_g2, vk.gamma_g2, vk.delta_g2))
    for name, point, is_identity in (
        ("alpha_g1", alpha, be.g1_is_identity),
        ("beta_g2", beta, be.g2_is_identity),
        ("gamma_g2", gamma, be.g2_is_identity),
        ("delta_g2", delta, be.g2_is_identity),
    ):
        if is_identity(point):
            raise InvalidPoint(f"verification key {name} is the identity")
    return alpha, beta, gamma, delta


@lru_cache(maxsize=32)
def _prepare(vk: VerifyingKey, backend_name: str) -> PreparedVerifyingKey:
    be = get_backend(backend_name)
    check_vk_points(vk)
    if len(vk.ic) != vk.num_public + 1:
        raise MalformedInput(f"verification key has {len(vk.ic)} IC points for {vk.num_public} public inputs (expected {vk.num_public + 1})")
    alpha, beta, gamma, delta = decode_key_points(be, vk)
    return PreparedVerifyingKey(
        alpha_beta=be.pairing(alpha, beta),
        neg_gamma_g2=be.g2_neg(gamma),
        neg_delta_g2=be.g2_neg(delta),
        ic=tuple(be.g1_from_bytes(x) for x in vk.ic),
    )


def prepare(vk: VerifyingKey, backend: str | None = None) -> PreparedVerifyingKey:
    """Decode and check the key's points (DegenerateKey, InvalidPoint) and precompute e(alpha, beta) (cached)."""
    return _prepare(vk, get_backend(backend).name)


def _proof_point(decode, is_identity, data: bytes, name: str) -> Any:
    point = decode(data)
    if is_identity(point):
        raise InvalidPoint(f"proof point {name} is the identity")
    return point


def verify(vk: VerifyingKey, public_inputs: Sequence[int | str], proof: Proof, *, backend: str | None = None) -> bool:
    """True iff ``proof`` is valid for ``public_inputs`` (in ``vk.public_names`` order).

    Raises the typed errors listed in the module docstring for input that cannot
    be checked. Cost: l scalar multiplications in G1 and a 3-pairing product.
    """
    be: CurveBackend = get_backend(backend)
    if proof.circuit_digest != vk.circuit.digest:
        raise CircuitMismatch(
            f"proof is for circuit digest {proof.circuit_digest[:16]}..., the key for "
            f"{vk.circuit.name} ({vk.circuit.digest[:16]}...)"
        )
    if len(public_inputs) != vk.num_public:
        raise PublicInputCountMismatch(f"expected {vk.num_public} public inputs, got {len(public_inputs)}")
    xs = [decode_scalar(x, what=f"public input {name!r}") for x, name in zip(public_inputs, vk.public_names)]
    pvk = _prepare(vk, be.name)
    a = _proof_point(be.g1_from_bytes, be.g1_is_identity, proof.a, "A")
    b = _proof_point(be.g2_from_bytes, be.g2_is_identity, proof.b, "B")
    c = _proof_point(be.g1_from_bytes, be.g1_is_identity, proof.c, "C")
    acc = be.g1_add(pvk.ic[0], be.g1_msm(pvk.ic[1:], xs))
    lhs = be.multi_pairing([(a, b), (acc, pvk.neg_gamma_g2), (c, pvk.neg_delta_g2)])
    return be.gt_eq(lhs, pvk.alpha_beta)

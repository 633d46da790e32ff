"""Groth16 verifier (Groth 2016, section 3.2, "Vfy"): one pairing-product check.

Accept iff  e(A, B) * e(L, -gamma) * e(C, -delta) = e(alpha, beta)
with L = IC_0 + sum_i x_i IC_i; e(alpha, beta) and the negated key points are
computed once per key and backend (:func:`prepare`).

:func:`verify_batch` checks n proofs under one key with one multi-pairing, the
small-exponents batch test (Bellare, Garay, Rabin, "Fast batch verification for
modular exponentiation and digital signatures", EUROCRYPT 1998, section 3.3; for
Groth16 as Zcash's ``bellman::groth16::batch`` does), with weights that sum to one so
that e(alpha, beta), precomputed, is the right-hand side and needs no pairing of its
own: r_i (i >= 1) uniform in [2, 2^128) drawn after the proofs are fixed, and
r_0 = 1 - sum_(i>=1) r_i mod r (never 0: the sum is at least 2 and far below r);

    prod_i e(r_i A_i, B_i) * e(sum_i r_i L_i, -gamma) * e(sum_i r_i C_i, -delta)
        = e(alpha, beta).

The B_i differ, so each proof keeps its own pairing; the other two are shared:
n + 2 Miller loops and one final exponentiation instead of 3n and n, and
sum_i r_i L_i = sum_j (sum_i r_i x_ij) IC_j (x_i0 = 1) is one MSM over the key's IC
points. Soundness: with z_i = e(A_i, B_i) e(L_i, -gamma) e(C_i, -delta) / e(alpha, beta)
(z_i = 1 exactly when proof i passes :func:`verify`), the check is
prod_i z_i^(r_i) = z_0 * prod_(i>=1) (z_i / z_0)^(r_i) = 1. If some z_j != z_0 (j >= 1),
fixing the other weights leaves at most one r_j mod r (r prime: G_T has order r) that
passes, so a batch holding a bad proof passes with probability at most 1 / (2^128 - 2);
if every z_i = z_0, the product is z_0, which is 1 only if every proof is valid. A batch
that fails is re-checked proof by proof to say which ones are bad.

The input combination L (one MSM over the key's fixed IC points per check) is the
curve backend's MSM, unless a long-running verifier (the venue's HTTP service) prepared
the key with ``fixed_base=True`` (:func:`prepare`) while the compiled kernels are active:
then a fixed-base window table per IC point (built once, about 11 ms per point) gives
L by :func:`zkproofs.kernels.fixed_base_msm`, at most ceil(255 / w) mixed additions per
point, about 3 times faster than arkworks' MSM at 23 points. Both give the same point.

Two channels (as arkworks): a well-formed but wrong proof returns False;
input that cannot be checked raises a typed error from :mod:`zkproofs.errors`:
CircuitMismatch (key of another circuit), DegenerateKey (gamma = delta, delta =
+/- generator, a key point at infinity), PublicInputCountMismatch,
NonCanonicalFieldElement (a public input >= r), InvalidPoint (off the curve,
outside the subgroup, bad encoding, or the identity for A, B or C).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Sequence

from zkproofs import kernels
from zkproofs.backends import CurveBackend, get_backend
from zkproofs.ceremony import encoding as enc
from zkproofs.errors import CircuitMismatch, InvalidPoint, MalformedInput, PublicInputCountMismatch
from zkproofs.field import R, decode_scalar
from zkproofs.groth16.keys import Proof, VerifyingKey
from zkproofs.groth16.serialize import check_vk_points


@dataclass(frozen=True)
class PreparedVerifyingKey:
    """Decoded, checked points of a key for one backend, with e(alpha, beta) and the negations the checks use."""

    alpha_beta: Any
    neg_gamma_g2: Any
    neg_delta_g2: Any
    ic: tuple
    ic_state: dict = field(default_factory=dict, compare=False, repr=False)
    """The IC points' fixed-base tables for the compiled kernels (key "native"), once :func:`prepare`
    built them. They live
    as long as this cached entry (the 32 most recent keys): a process cycling through more keys
    loses them, which costs speed only (the MSM serves)."""


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


def prepare(vk: VerifyingKey, backend: str | None = None, *, fixed_base: bool = False) -> PreparedVerifyingKey:
    """Decode and check the key's points (DegenerateKey, InvalidPoint) and precompute e(alpha, beta) (cached).

    ``fixed_base``: also build the IC points' fixed-base tables when the compiled kernels are
    active (module docstring), for a process that will check many proofs under this key:
    about 11 ms per public input once, then about 1 ms saved per check at 23 inputs."""
    be = get_backend(backend)
    pvk = _prepare(vk, be.name)
    if fixed_base and kernels.active_kernels() == "native":
        _ic_tables(be, pvk)
    return pvk


def _proof_point(decode, is_identity, data: bytes, name: str) -> Any:
    point = decode(data)
    if is_identity(point):
        raise InvalidPoint(f"proof point {name} is the identity")
    return point


def _decoded(be: CurveBackend, vk: VerifyingKey, public_inputs: Sequence[int | str], proof: Proof) -> tuple[list[int], Any, Any, Any]:
    """(scalars, A, B, C) of one proof: digest, count, canonical inputs and points checked (typed errors)."""
    if proof.circuit_digest != vk.circuit.digest:
        raise CircuitMismatch(
            f"proof is for circuit digest {proof.circuit_digest[:16]}..., the key for "
            f"{vk.circuit.name} ({vk.circuit.digest[:16]}...)"
        )
    if len(public_inputs) != vk.num_public:
        raise PublicInputCountMismatch(f"expected {vk.num_public} public inputs, got {len(public_inputs)}")
    xs = [decode_scalar(x, what=f"public input {name!r}") for x, name in zip(public_inputs, vk.public_names)]
    a = _proof_point(be.g1_from_bytes, be.g1_is_identity, proof.a, "A")
    b = _proof_point(be.g2_from_bytes, be.g2_is_identity, proof.b, "B")
    c = _proof_point(be.g1_from_bytes, be.g1_is_identity, proof.c, "C")
    return xs, a, b, c


def verify(vk: VerifyingKey, public_inputs: Sequence[int | str], proof: Proof, *, backend: str | None = None) -> bool:
    """True iff ``proof`` is valid for ``public_inputs`` (in ``vk.public_names`` order).

    Raises the typed errors listed in the module docstring for input that cannot
    be checked. Cost: l scalar multiplications in G1 and a 3-pairing product.
    """
    be: CurveBackend = get_backend(backend)
    return _check_one(be, _prepare(vk, be.name), *_decoded(be, vk, public_inputs, proof))


FIXED_BASE_COUNT = 1 << 10
"""The number of uses the tables' window width is chosen for (:func:`zkproofs.kernels.reference.fixed_base_window`: 8 bits)."""
_TABLES_LOCK = threading.Lock()


def _ic_tables(be: CurveBackend, pvk: PreparedVerifyingKey) -> None:
    """Build the fixed-base tables of the key's IC points for the active (compiled) kernels, once.
    Identity IC points (a public input no constraint reads) get none: they contribute nothing."""
    with _TABLES_LOCK:
        if "native" not in pvk.ic_state:
            present = [j for j, p in enumerate(pvk.ic) if not be.g1_is_identity(p)]
            pvk.ic_state["native"] = (present, [kernels.fixed_base_table("G1", enc.g1_to_lem(be, pvk.ic[j]), FIXED_BASE_COUNT)
                                                for j in present])


def _ic_combination(be: CurveBackend, pvk: PreparedVerifyingKey, scalars: Sequence[int]) -> Any:
    """sum_j scalars[j] IC_j (scalars in [0, r), one per IC point): by the key's fixed-base tables if it
    was prepared with them for the kernels now active (module docstring), else by the backend's MSM."""
    tables = pvk.ic_state.get("native") if kernels.active_kernels() == "native" else None
    if tables is not None:
        present, made = tables
        return enc.g1_from_lem(be, kernels.fixed_base_msm(made, [scalars[j] for j in present]), check=False)
    return be.g1_msm(pvk.ic, scalars)


def _check_one(be: CurveBackend, pvk: PreparedVerifyingKey, xs: list[int], a: Any, b: Any, c: Any) -> bool:
    acc = _ic_combination(be, pvk, [1, *xs])
    lhs = be.multi_pairing([(a, b), (acc, pvk.neg_gamma_g2), (c, pvk.neg_delta_g2)])
    return be.gt_eq(lhs, pvk.alpha_beta)


BATCH_WEIGHT_BITS = 128


def _batch_weights(n: int) -> list[int]:
    """n weights summing to 1 mod r: r_1..r_(n-1) uniform in [2, 2^128) from the OS CSPRNG,
    r_0 = 1 - their sum (module docstring)."""
    rest = [secrets.randbelow((1 << BATCH_WEIGHT_BITS) - 2) + 2 for _ in range(n - 1)]
    return [(1 - sum(rest)) % R, *rest]


def verify_batch(vk: VerifyingKey, items: Sequence[tuple[Sequence[int | str], Proof]], *,
                 backend: str | None = None) -> list[bool]:
    """One verdict per (public_inputs, proof) of ``items``, all under ``vk``: [verify(...) for each].

    Checks the whole batch with one multi-pairing (module docstring: n + 2
    pairings, one final exponentiation, one IC MSM of l points plus n-point MSMs);
    only if that fails, each proof is verified alone, so the verdicts say which
    proofs are bad. Weights come from the OS CSPRNG after decoding. Raises the
    typed errors of :func:`verify` for any item that cannot be checked (before
    any pairing), ValueError for an empty batch.
    """
    if not items:
        raise ValueError("verify_batch needs at least one proof")
    be: CurveBackend = get_backend(backend)
    decoded = [_decoded(be, vk, public_inputs, proof) for public_inputs, proof in items]
    pvk = _prepare(vk, be.name)
    if len(items) == 1:
        return [_check_one(be, pvk, *decoded[0])]
    weights = _batch_weights(len(items))
    ic_scalars = [1] + [
        sum(w * xs[j] for w, (xs, _, _, _) in zip(weights, decoded)) % R for j in range(vk.num_public)
    ]
    pairs = [(be.g1_mul(a, w), b) for w, (_, a, b, _) in zip(weights, decoded)]
    pairs += [
        (_ic_combination(be, pvk, ic_scalars), pvk.neg_gamma_g2),
        (be.g1_msm([c for _, _, _, c in decoded], weights), pvk.neg_delta_g2),
    ]
    if be.gt_eq(be.multi_pairing(pairs), pvk.alpha_beta):
        return [True] * len(items)
    return [_check_one(be, pvk, *d) for d in decoded]

"""Test-only: a single-party verification key whose trapdoor is kept, and proofs forged with it.

Never part of the package. It shows what the author of a single-party key can
do (Groth 2016, section 3.2: the trapdoor simulates proofs of any statement),
which is why verifiers refuse such keys unless told to trust the author. The
key is computed from the trapdoor exactly as Groth16 setup defines it, so it is
indistinguishable from one :func:`zkproofs.groth16.setup` made: alpha, beta,
gamma, delta and IC_i = [(beta A_i + alpha B_i + C_i)(tau) / gamma]_1.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from zkproofs.backends import get_backend
from zkproofs.circuit import Circuit
from zkproofs.field import R
from zkproofs.groth16.keys import CircuitId, Proof, SingleParty, VerifyingKey
from zkproofs.groth16.qap import domain_for, evaluate_at


@dataclass(frozen=True)
class Trapdoor:
    tau: int
    alpha: int
    beta: int
    gamma: int
    delta: int


def _scalar() -> int:
    return secrets.randbelow(R - 1) + 1


def key_with_trapdoor(circuit: Circuit, *, party: str = "exchange", gamma_equals_delta: bool = False) -> tuple[VerifyingKey, Trapdoor]:
    """A verification key of ``circuit`` recorded as "single-party setup by ``party``", and its trapdoor.

    ``gamma_equals_delta`` makes the degenerate key of issue 17.
    """
    be = get_backend()
    r1cs = circuit.shape
    domain = domain_for(r1cs)
    tau = _scalar()
    alpha, beta, gamma = _scalar(), _scalar(), _scalar()
    delta = gamma if gamma_equals_delta else _scalar()
    trapdoor = Trapdoor(tau, alpha, beta, gamma, delta)
    a_tau, b_tau, c_tau = evaluate_at(r1cs, domain, tau)
    gamma_inv = pow(gamma, -1, R)
    ic = [(beta * a_tau[i] + alpha * b_tau[i] + c_tau[i]) * gamma_inv % R for i in range(r1cs.num_public + 1)]
    g1, g2 = be.g1_generator(), be.g2_generator()
    vk = VerifyingKey(
        circuit=CircuitId(circuit.name, tuple(sorted(circuit.params.items())), r1cs.digest()),
        public_names=r1cs.public_names,
        alpha_g1=be.g1_to_bytes(be.g1_mul(g1, alpha)),
        beta_g2=be.g2_to_bytes(be.g2_mul(g2, beta)),
        gamma_g2=be.g2_to_bytes(be.g2_mul(g2, gamma)),
        delta_g2=be.g2_to_bytes(be.g2_mul(g2, delta)),
        ic=tuple(be.g1_to_bytes(p) for p in be.g1_batch_mul(g1, ic)),
        provenance=SingleParty(party),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return vk, trapdoor


def forge(vk: VerifyingKey, trapdoor: Trapdoor, circuit: Circuit, public_inputs: Sequence[int]) -> Proof:
    """A proof of ``public_inputs`` (any values, true or not) that verifies under ``vk``, from
    the trapdoor alone: A = [a], B = [b], C = [(ab - alpha beta - sum_i x_i (beta A_i +
    alpha B_i + C_i)(tau)) / delta] with x_0 = 1 and random a, b."""
    be = get_backend()
    r1cs = circuit.shape
    a_tau, b_tau, c_tau = evaluate_at(r1cs, domain_for(r1cs), trapdoor.tau)
    t = trapdoor
    xs = [1, *public_inputs]
    public_part = sum(x * (t.beta * a_tau[i] + t.alpha * b_tau[i] + c_tau[i]) for i, x in enumerate(xs)) % R
    a, b = _scalar(), _scalar()
    c = (a * b - t.alpha * t.beta - public_part) * pow(t.delta, -1, R) % R
    g1, g2 = be.g1_generator(), be.g2_generator()
    return Proof(
        a=be.g1_to_bytes(be.g1_mul(g1, a)),
        b=be.g2_to_bytes(be.g2_mul(g2, b)),
        c=be.g1_to_bytes(be.g1_mul(g1, c)),
        circuit_digest=vk.circuit.digest,
    )

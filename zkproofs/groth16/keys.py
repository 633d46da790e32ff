"""Groth16 keys and proofs as frozen dataclasses.

Verification keys and proofs hold points as compressed ZCash-format bytes
(G1: 48 bytes, G2: 96 bytes), so they are backend-neutral: a proof made with
arkworks verifies with py_ecc and the other way round; the verifier decodes them
with full on-curve and subgroup checks. The proving key holds backend-native
points, since one prover uses one backend and decoding 10^5 points per proof
would be waste.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROTOCOL = "groth16"
CURVE = "bls12-381"
G1_BYTES = 48
G2_BYTES = 96


@dataclass(frozen=True)
class CircuitId:
    """Which circuit a key or proof belongs to: name, parameters and R1CS digest."""

    name: str
    params: tuple[tuple[str, int], ...]
    digest: str

    @property
    def params_dict(self) -> dict[str, int]:
        return dict(self.params)


@dataclass(frozen=True)
class VerifyingKey:
    """([alpha]_1, [beta]_2, [gamma]_2, [delta]_2, IC) of Groth16 section 3.2.

    ``ic`` has ``len(public_names) + 1`` G1 points: IC[0] for the constant one,
    then one per public input, [(beta*A_j(tau) + alpha*B_j(tau) + C_j(tau)) / gamma]_1.
    ``generated_by`` says who ran setup (the party that must be trusted not to
    keep the trapdoor).
    """

    circuit: CircuitId
    public_names: tuple[str, ...]
    alpha_g1: bytes
    beta_g2: bytes
    gamma_g2: bytes
    delta_g2: bytes
    ic: tuple[bytes, ...]
    generated_by: str
    created_at: str

    @property
    def num_public(self) -> int:
        return len(self.public_names)


@dataclass(frozen=True, eq=False)
class ProvingKey:
    """The prover's evaluation key, points native to ``backend``.

    Shapes (m = number of variables incl. the constant one, l = public inputs,
    N = QAP domain size): ``a_query``, ``b_g1_query``, ``b_g2_query``: m points
    [A_j(tau)]_1, [B_j(tau)]_1, [B_j(tau)]_2; ``h_query``: N points
    [L'_{2i+1}(tau) / delta]_1 (Lagrange basis of the 2N-th roots of unity, as
    snarkjs' ``.zkey``; see :mod:`zkproofs.groth16.qap`); ``l_query``: m - l - 1 points
    [(beta*A_j + alpha*B_j + C_j)(tau) / delta]_1 for the private variables.
    """

    vk: VerifyingKey
    backend: str
    domain_size: int
    num_variables: int
    alpha_g1: Any
    beta_g1: Any
    beta_g2: Any
    delta_g1: Any
    delta_g2: Any
    a_query: tuple
    b_g1_query: tuple
    b_g2_query: tuple
    h_query: tuple
    l_query: tuple


@dataclass(frozen=True)
class Proof:
    """A Groth16 proof (A in G1, B in G2, C in G1): 192 bytes compressed.

    ``circuit_digest`` binds it to one circuit, checked against the key.
    """

    a: bytes
    b: bytes
    c: bytes
    circuit_digest: str

    def to_bytes(self) -> bytes:
        return self.a + self.b + self.c

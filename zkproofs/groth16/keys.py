"""Groth16 keys and proofs as frozen dataclasses.

Verification keys and proofs hold points as compressed ZCash-format bytes
(G1: 48 bytes, G2: 96 bytes), so they are backend-neutral: a proof made with
arkworks verifies with py_ecc and the other way round; the verifier decodes them
with full on-curve and subgroup checks. The proving key holds its five queries as
snarkjs' section bytes (:class:`Query`), prepared once for the field kernels' MSM,
and its few fixed points native to one backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from zkproofs import kernels

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
class SingleParty:
    """Setup run by one party, who sampled the trapdoor (tau, alpha, beta, gamma,
    delta) and must be trusted to have discarded it: with it, proofs of false
    statements verify (Groth 2016, section 3.2: the trapdoor simulates proofs)."""

    party: str

    kind: ClassVar[str] = "single-party"

    def describe(self) -> str:
        return f"single-party setup by {self.party}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "party": self.party}


@dataclass(frozen=True)
class Ceremony:
    """Setup by a multi-party ceremony (Bowe, Gabizon, Miers 2017, ePrint 2017/1050):
    sound if at least one of the ``contributions`` discarded its secret.

    ``transcript_hash`` (hex; the phase-2 transcript hash, BLAKE2b-512 of the
    circuit hash and every contribution's public key as snarkjs chains them) names
    the transcript the key was exported from; ``beacon`` (hex, or None) the public
    random value whose derived contribution came last. A
    verifier trusts these fields only after checking the transcript against the
    circuit it recomputes (:func:`zkproofs.groth16.trust.require_trusted`).
    """

    transcript_hash: str
    contributions: int
    beacon: str | None

    kind: ClassVar[str] = "ceremony"

    def describe(self) -> str:
        beacon = f"beacon {self.beacon[:16]}..." if self.beacon else "no beacon"
        return f"ceremony: transcript {self.transcript_hash[:16]}..., {self.contributions} contributions, {beacon}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "transcript_hash": self.transcript_hash,
            "contributions": self.contributions,
            "beacon": self.beacon,
        }


Provenance = SingleParty | Ceremony
"""Where a verification key's trapdoor came from."""


@dataclass(frozen=True)
class VerifyingKey:
    """([alpha]_1, [beta]_2, [gamma]_2, [delta]_2, IC) of Groth16 section 3.2.

    ``ic`` has ``len(public_names) + 1`` G1 points: IC[0] for the constant one,
    then one per public input, [(beta*A_j(tau) + alpha*B_j(tau) + C_j(tau)) / gamma]_1.
    ``provenance`` says how the trapdoor was made, hence who must be honest:
    :class:`SingleParty` or :class:`Ceremony`; None only for a key read from a
    foreign format that records none (snarkjs' ``verification_key.json``), which
    no trust policy accepts (:mod:`zkproofs.groth16.trust`).
    """

    circuit: CircuitId
    public_names: tuple[str, ...]
    alpha_g1: bytes
    beta_g2: bytes
    gamma_g2: bytes
    delta_g2: bytes
    ic: tuple[bytes, ...]
    provenance: Provenance | None
    created_at: str

    @property
    def num_public(self) -> int:
        return len(self.public_names)

    def describe_provenance(self) -> str:
        """One line for verifiers' output: how the key was made."""
        return self.provenance.describe() if self.provenance else "provenance not recorded (foreign key format)"


@dataclass(frozen=True, eq=False)
class Query:
    """One query of a proving key: n points of ``group`` ("G1" or "G2") as snarkjs' section
    bytes (``lem``: affine x || y in Montgomery form, little-endian, 96 bytes per G1 point
    and 192 per G2, the point at infinity all zeros), so a ``.zkey`` section is used as it
    is and a key file is read without decoding a point.

    :meth:`prepare` loads the points into the active field kernels once (raising
    InvalidPoint for a coordinate not below q); :meth:`msm` then computes sums over them.
    """

    group: str
    lem: bytes
    _prepared: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def point_size(self) -> int:
        return 96 if self.group == "G1" else 192

    def __len__(self) -> int:
        return len(self.lem) // self.point_size

    def prepare(self) -> object:
        """The points as the active kernels' MSM bases, made on first use. O(n)."""
        name = kernels.active_kernels()
        bases = self._prepared.get(name)
        if bases is None:
            bases = self._prepared[name] = kernels.msm_bases(self.group, self.lem)
        return bases

    def msm(self, scalars: Sequence[int], offset: int = 0) -> bytes:
        """LEM bytes of sum_i k_i P_(offset + i) (:func:`zkproofs.kernels.msm`): O(n / log n)
        group operations, without the GIL in the native kernels."""
        return kernels.msm(self.prepare(), scalars, offset)


@dataclass(frozen=True, eq=False)
class ProvingKey:
    """The prover's evaluation key: fixed points native to ``backend``, queries as
    :class:`Query` (backend-neutral bytes).

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
    a_query: Query
    b_g1_query: Query
    b_g2_query: Query
    h_query: Query
    l_query: Query

    def __post_init__(self) -> None:
        m, l = self.num_variables, self.vk.num_public
        expected = {"a_query": ("G1", m), "b_g1_query": ("G1", m), "b_g2_query": ("G2", m),
                    "h_query": ("G1", self.domain_size), "l_query": ("G1", m - l - 1)}
        for name, (group, count) in expected.items():
            query = getattr(self, name)
            if query.group != group or len(query.lem) != count * query.point_size:
                raise ValueError(f"proving key {name}: expected {count} {group} points, got {len(query.lem)} bytes of {query.group}")


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

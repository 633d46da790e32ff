"""Groth16 key generation (Groth 2016, section 3.2, "Setup").

Trust model: whoever runs setup samples the trapdoor (tau, alpha, beta, gamma,
delta) and could forge proofs with it. The trapdoor lives only in local
variables of :func:`setup` and is never written anywhere (for large circuits the
G2 scalars, which include beta, gamma and delta, go through a pipe to a child
process of the same user that computes the G2 points and exits); the key records
the circuit digest and its provenance, "single-party setup by PARTY", which
verifiers accept only when told to trust PARTY (:mod:`zkproofs.groth16.trust`).
Keys nobody has to trust alone come from a multi-party ceremony
(:mod:`zkproofs.ceremony`).
"""

from __future__ import annotations

import multiprocessing
import secrets
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone

from zkproofs.backends import get_backend
from zkproofs.circuit import Circuit
from zkproofs.field import R
from zkproofs.groth16.keys import CircuitId, ProvingKey, SingleParty, VerifyingKey
from zkproofs.groth16.qap import domain_for, evaluate_at, h_query_at


PARALLEL_G2_MIN = 8192
"""From this many G2 scalars on, the G2 batch runs in a child process while this one
computes the G1 batch (about 4m + N G1 points against m G2 points, a G2 addition
costing about 3x a G1 one: the two take similar time). Below it, a process start
(about half a second) would cost more than it saves."""


def _nonzero_scalar() -> int:
    return secrets.randbelow(R - 1) + 1


def _g2_batch_uncompressed(backend: str, scalars: list[int]) -> list[bytes]:
    """[k]G2 for each k, as uncompressed encodings (run in the child process)."""
    be = get_backend(backend)
    return [be.g2_to_uncompressed(p) for p in be.g2_batch_mul(be.g2_generator(), scalars)]


def setup(circuit: Circuit, *, party: str, backend: str | None = None) -> ProvingKey:
    """Generate a proving key (which embeds the verifying key, ``pk.vk``) for ``circuit``,
    recording ``party`` (who runs this and must be trusted to forget the trapdoor)
    as the key's :class:`~zkproofs.groth16.keys.SingleParty` provenance.

    Cost: O(N + nnz) field operations to evaluate the QAP at tau, then about
    4m + N fixed-base G1 and m G2 scalar multiplications (m variables, N domain
    size) — the dominant cost, each about 20 table additions (see
    :func:`zkproofs.backends.common.windowed_batch_mul`). From
    :data:`PARALLEL_G2_MIN` G2 points on, the G2 batch runs in a child process in
    parallel with the G1 batch. ``backend`` names the curve backend (see
    :func:`zkproofs.backends.get_backend`).
    """
    if not party.strip():
        raise ValueError("setup: name the party that runs it (it must be trusted to discard the trapdoor)")
    be = get_backend(backend)
    r1cs = circuit.shape
    domain = domain_for(r1cs)
    while True:
        tau = _nonzero_scalar()
        if pow(tau, 2 * domain.size, R) != 1:  # not a 2N-th root of unity
            break
    alpha, beta, gamma, delta = (_nonzero_scalar() for _ in range(4))
    gamma_inv, delta_inv = pow(gamma, -1, R), pow(delta, -1, R)

    a_tau, b_tau, c_tau = evaluate_at(r1cs, domain, tau)
    l = r1cs.num_public
    combined = [(beta * a + alpha * b + c) % R for a, b, c in zip(a_tau, b_tau, c_tau)]
    ic_scalars = [x * gamma_inv % R for x in combined[: l + 1]]
    l_scalars = [x * delta_inv % R for x in combined[l + 1 :]]
    h_scalars = [x * delta_inv % R for x in h_query_at(domain, tau)]

    g1, g2 = be.g1_generator(), be.g2_generator()
    g2_scalars = [beta, gamma, delta] + b_tau
    g1_scalars = [alpha, beta, delta] + ic_scalars + a_tau + b_tau + l_scalars + h_scalars
    if len(g2_scalars) >= PARALLEL_G2_MIN:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            g2_future = pool.submit(_g2_batch_uncompressed, be.name, g2_scalars)
            g1_points = be.g1_batch_mul(g1, g1_scalars)
            g2_points = [be.g2_from_uncompressed(raw, check=False) for raw in g2_future.result()]
    else:
        g1_points = be.g1_batch_mul(g1, g1_scalars)
        g2_points = be.g2_batch_mul(g2, g2_scalars)
    m = r1cs.num_variables
    alpha_g1, beta_g1, delta_g1 = g1_points[:3]
    offset = 3
    ic = g1_points[offset : offset + l + 1]
    offset += l + 1
    a_query = g1_points[offset : offset + m]
    offset += m
    b_g1_query = g1_points[offset : offset + m]
    offset += m
    l_query = g1_points[offset : offset + m - l - 1]
    offset += m - l - 1
    h_query = g1_points[offset:]
    beta_g2, gamma_g2, delta_g2 = g2_points[:3]
    b_g2_query = g2_points[3:]

    vk = VerifyingKey(
        circuit=CircuitId(circuit.name, tuple(sorted(circuit.params.items())), r1cs.digest()),
        public_names=r1cs.public_names,
        alpha_g1=be.g1_to_bytes(alpha_g1),
        beta_g2=be.g2_to_bytes(beta_g2),
        gamma_g2=be.g2_to_bytes(gamma_g2),
        delta_g2=be.g2_to_bytes(delta_g2),
        ic=tuple(be.g1_to_bytes(p) for p in ic),
        provenance=SingleParty(party),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return ProvingKey(
        vk=vk,
        backend=be.name,
        domain_size=domain.size,
        num_variables=m,
        alpha_g1=alpha_g1,
        beta_g1=beta_g1,
        beta_g2=beta_g2,
        delta_g1=delta_g1,
        delta_g2=delta_g2,
        a_query=tuple(a_query),
        b_g1_query=tuple(b_g1_query),
        b_g2_query=tuple(b_g2_query),
        h_query=tuple(h_query),
        l_query=tuple(l_query),
    )

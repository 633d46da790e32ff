"""Groth16 prover (Groth 2016, section 3.2, "Prove").

With fresh r, s drawn uniformly from F_r for every proof (so proofs are
zero-knowledge and two proofs of the same statement are unlinkable):

    A = alpha + sum_j z_j A_j(tau) + r delta                       (G1)
    B = beta  + sum_j z_j B_j(tau) + s delta                       (G2, and in G1 for C)
    C = sum_{j>l} z_j L_j + sum_i e_i [L'_{2i+1}(tau)/delta] + s A + r B - r s delta

where e_i = (A*B - C)(g w^i) at the odd 2N-th roots of unity (the H query in
snarkjs' basis, see :mod:`zkproofs.groth16.qap`), so a key made by a snarkjs
ceremony (``.zkey``) works unchanged.

Cost: O(nnz) to evaluate the rows, 6 NTTs of size N for H (O(N log N)), and MSMs
over m (A, B in G1 and G2), m - l - 1 (C) and N (H) points, which dominate, all in
the field kernels (:func:`zkproofs.kernels.msm`: Pippenger with signed digits and
batched affine buckets, over the key's section bytes). The MSMs run on a pool of
two threads (the native kernel releases the GIL), the G2 MSM, the largest, split in
two halves so that the two workers finish together: wall time about half the MSM
work on two cores. The witness MSMs start first; the digest check and the row
evaluation (O(nnz) Python) run meanwhile on the calling thread.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from zkproofs.backends import get_backend
from zkproofs.ceremony import encoding as enc
from zkproofs.errors import CircuitMismatch, CircuitError
from zkproofs.field import R
from zkproofs.groth16.keys import Proof, ProvingKey
from zkproofs.groth16.qap import domain_for, h_scalars
from zkproofs.r1cs import R1CS


def _check_digest(pk: ProvingKey, r1cs: R1CS) -> None:
    if r1cs.digest() != pk.vk.circuit.digest:
        raise CircuitMismatch(
            f"the proving key is for circuit {pk.vk.circuit.name} ({pk.vk.circuit.digest[:16]}...), "
            f"the witness for a circuit with digest {r1cs.digest()[:16]}..."
        )


def prove(pk: ProvingKey, r1cs: R1CS, witness: Sequence[int]) -> Proof:
    """A proof that ``witness`` satisfies ``r1cs``, the circuit ``pk`` was made for.

    Raises CircuitMismatch if ``r1cs`` is not the key's circuit (digest differs),
    CircuitError if the key was made for another backend than the one loaded or the
    witness has the wrong length, and UnsatisfiedConstraint (naming the constraint)
    if the witness does not satisfy the system: zkproofs never emits a proof of a
    false statement. The witness MSMs start before these O(nnz) checks, which then
    run on this thread while the workers compute; a failed check discards them.
    """
    be = get_backend(pk.backend)
    domain = domain_for(r1cs)
    if r1cs.num_variables != pk.num_variables or domain.size != pk.domain_size:
        _check_digest(pk, r1cs)  # another circuit altogether: say so
        raise CircuitError("proving key domain size does not match the circuit")
    if len(witness) != r1cs.num_variables:
        raise CircuitError(f"assignment has {len(witness)} values, the system has {r1cs.num_variables} variables")
    l = r1cs.num_public
    half = len(witness) // 2
    queries = (pk.a_query, pk.b_g1_query, pk.b_g2_query, pk.l_query, pk.h_query)
    for query in queries:
        query.prepare()  # once per key, here rather than racing in the workers
    # Two workers, largest MSM first (a G2 point costs about 3x a G1 point, so G2 goes
    # in two halves) so that they end together; the kernel releases the GIL.
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        b2_low = pool.submit(pk.b_g2_query.msm, witness[:half])
        b2_high = pool.submit(pk.b_g2_query.msm, witness[half:], half)
        a_msm = pool.submit(pk.a_query.msm, witness)
        b1_msm = pool.submit(pk.b_g1_query.msm, witness)
        l_msm = pool.submit(pk.l_query.msm, witness[l + 1 :])
        _check_digest(pk, r1cs)
        rows = r1cs.evaluate(witness)  # raises UnsatisfiedConstraint: no proof is formed
        h_msm = pool.submit(pk.h_query.msm, h_scalars(r1cs, witness, domain, rows))

        def g1(future):
            return enc.g1_from_lem(be, future.result(), check=False)

        def g2(future):
            return enc.g2_from_lem(be, future.result(), check=False)

        r, s = secrets.randbelow(R), secrets.randbelow(R)
        a = be.g1_add(be.g1_add(pk.alpha_g1, g1(a_msm)), be.g1_mul(pk.delta_g1, r))
        b2 = be.g2_add(be.g2_add(pk.beta_g2, be.g2_add(g2(b2_low), g2(b2_high))), be.g2_mul(pk.delta_g2, s))
        b1 = be.g1_add(be.g1_add(pk.beta_g1, g1(b1_msm)), be.g1_mul(pk.delta_g1, s))
        c = be.g1_add(
            be.g1_add(g1(l_msm), g1(h_msm)),
            be.g1_msm([a, b1, pk.delta_g1], [s, r, (-r * s) % R]),
        )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # after a failed check: drop queued MSMs
    return Proof(a=be.g1_to_bytes(a), b=be.g2_to_bytes(b2), c=be.g1_to_bytes(c), circuit_digest=pk.vk.circuit.digest)
